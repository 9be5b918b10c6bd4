package arm

import (
	"context"
	"time"

	"github.com/plsgate/plsgate/internal/resource"
)

// Connection status values seen on private endpoint connections (the
// resource package's, named here too for arm's callers).
const (
	StatusPending      = resource.StatusPending
	StatusApproved     = resource.StatusApproved
	StatusRejected     = resource.StatusRejected
	StatusDisconnected = resource.StatusDisconnected
	StatusRemoved      = resource.StatusRemoved
)

// PrivateLinkService is a private link service with the connections ARM
// returned with it (GET includes properties.privateEndpointConnections): a
// resource.Resource of kind resource.PrivateLinkService. The alias keeps the
// callers that predate the provider seam compiling.
type PrivateLinkService = resource.Resource

// Connection is one private endpoint connection (resource.Connection).
type Connection = resource.Connection

// ConnectionUpdate is the state to write on an existing connection
// (resource.ConnectionUpdate). PrivateEndpointID must be the connection's
// current private endpoint (from the read that led to the decision): ARM
// expects it in the PUT body. Description is written as given ("" clears it):
// pass the current description to keep it. ActionsRequired is sent only when
// not empty.
type ConnectionUpdate = resource.ConnectionUpdate

// PrivateEndpoint is a consumer's private endpoint, read to find the private link
// services it asks to connect to.
type PrivateEndpoint struct {
	ID, SubscriptionID, Location string
	// TargetIDs are the private link service IDs (as ARM spelled them) named by
	// privateLinkServiceConnections and manualPrivateLinkServiceConnections.
	// Targets of other types (storage accounts, ...) are left out.
	TargetIDs []string
}

// SharedPrivateLinkResource is a Web PubSub shared private link resource: Web
// PubSub's own request for a private endpoint to a private link resource.
type SharedPrivateLinkResource struct {
	ID, Name, WebPubSubID, PrivateLinkResourceID, GroupID, RequestMessage, Status, ProvisioningState string
	Fqdns                                                                                            []string
	// CreatedAt is systemData.createdAt (zero when ARM sent no systemData): with ID it tells one
	// instance of the resource from a deleted and re-created one. The resource is an ARM proxy
	// resource (azure-rest-api-specs webpubsub/.../stable/2024-03-01/webpubsub.json
	// SharedPrivateLinkResource allOf common-types/resource-management/v5/types.json ProxyResource,
	// whose Resource carries the read-only systemData {createdBy, createdByType, createdAt, ...}).
	CreatedAt time.Time
}

// PrivateEndpoints is what plsgate does with private endpoints.
type PrivateEndpoints interface {
	GetPrivateEndpoint(ctx context.Context, id string) (*PrivateEndpoint, error)
}

// SharedPrivateLinks is what plsgate does with Web PubSub shared private link resources.
type SharedPrivateLinks interface {
	ListSharedPrivateLinkResources(ctx context.Context, webPubSubID string) ([]SharedPrivateLinkResource, error)
	GetSharedPrivateLinkResource(ctx context.Context, id string) (*SharedPrivateLinkResource, error)
}

// Compile-time proof that *Client implements the two interfaces (its private
// link service methods serve resource.Provider through PLSProvider).
var (
	_ PrivateEndpoints   = (*Client)(nil)
	_ SharedPrivateLinks = (*Client)(nil)
)
