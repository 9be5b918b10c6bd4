package arm

import (
	"fmt"
	"strings"

	azarm "github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"

	"github.com/plsgate/plsgate/internal/resource"
)

// Resource types plsgate addresses. azcore compares them case-insensitively.
var (
	TypePrivateLinkService        = azarm.NewResourceType("Microsoft.Network", "privateLinkServices")
	TypeConnection                = azarm.NewResourceType("Microsoft.Network", "privateLinkServices/privateEndpointConnections")
	TypePrivateEndpoint           = azarm.NewResourceType("Microsoft.Network", "privateEndpoints")
	TypeWebPubSub                 = azarm.NewResourceType("Microsoft.SignalRService", "webPubSub")
	TypeSharedPrivateLinkResource = azarm.NewResourceType("Microsoft.SignalRService", "webPubSub/sharedPrivateLinkResources")
)

// chain returns the full ancestry of a resource-group-scoped resource type
// (tenant → subscription → resource group → types...), as azcore's
// ValidateResourceTypeChain wants it: extension resources and odd nesting are
// refused instead of being silently reduced to their last segments.
func chain(types ...azarm.ResourceType) []azarm.ResourceType {
	return append([]azarm.ResourceType{azarm.TenantResourceType, azarm.SubscriptionResourceType, azarm.ResourceGroupResourceType}, types...)
}

// parseTyped parses id and checks its complete type chain and that every
// named segment has a name.
func parseTyped(what, id string, types ...azarm.ResourceType) (*azarm.ResourceID, error) {
	rid, err := azarm.ParseResourceID(strings.TrimSpace(id))
	if err != nil {
		return nil, fmt.Errorf("parse %s ID %q: %w", what, id, err)
	}
	if err := rid.ValidateResourceTypeChain(chain(types...)); err != nil {
		return nil, fmt.Errorf("parse %s ID %q: %w", what, id, err)
	}
	for p := rid; p != nil && p.Parent != nil; p = p.Parent {
		if p.Name == "" {
			return nil, fmt.Errorf("parse %s ID %q: %s has no name", what, id, p.ResourceType)
		}
	}
	return rid, nil
}

// ParsePrivateLinkServiceID splits a private link service ID. Casing of the
// fixed segments (resourcegroups, providers, Microsoft.Network, ...) does not matter.
func ParsePrivateLinkServiceID(id string) (subscription, resourceGroup, name string, err error) {
	rid, err := parseTyped("private link service", id, TypePrivateLinkService)
	if err != nil {
		return "", "", "", err
	}
	return rid.SubscriptionID, rid.ResourceGroupName, rid.Name, nil
}

// ParseConnectionID splits a private endpoint connection ID into its private
// link service ID (ARM spelling) and the connection name.
func ParseConnectionID(id string) (plsID, connectionName string, err error) {
	rid, err := parseTyped("private endpoint connection", id, TypePrivateLinkService, TypeConnection)
	if err != nil {
		return "", "", err
	}
	return rid.Parent.String(), rid.Name, nil
}

// PrivateLinkServiceIDOf reduces the ID of a private link service or of one of
// its private endpoint connections to the private link service ID (ARM spelling).
func PrivateLinkServiceIDOf(id string) (string, error) {
	rid, err := azarm.ParseResourceID(strings.TrimSpace(id))
	if err != nil {
		return "", fmt.Errorf("parse private link service ID %q: %w", id, err)
	}
	if strings.EqualFold(rid.ResourceType.String(), TypeConnection.String()) {
		rid = rid.Parent
	}
	if err := rid.ValidateResourceTypeChain(chain(TypePrivateLinkService)); err != nil || rid.Name == "" {
		return "", fmt.Errorf("%q is neither a private link service nor one of its private endpoint connections", id)
	}
	return rid.String(), nil
}

// ParsePrivateEndpointID splits a private endpoint ID.
func ParsePrivateEndpointID(id string) (subscription, resourceGroup, name string, err error) {
	rid, err := parseTyped("private endpoint", id, TypePrivateEndpoint)
	if err != nil {
		return "", "", "", err
	}
	return rid.SubscriptionID, rid.ResourceGroupName, rid.Name, nil
}

// ParseWebPubSubID splits a Web PubSub resource ID.
func ParseWebPubSubID(id string) (subscription, resourceGroup, name string, err error) {
	rid, err := parseTyped("Web PubSub", id, TypeWebPubSub)
	if err != nil {
		return "", "", "", err
	}
	return rid.SubscriptionID, rid.ResourceGroupName, rid.Name, nil
}

// ParseSharedPrivateLinkResourceID splits a Web PubSub shared private link resource ID.
func ParseSharedPrivateLinkResourceID(id string) (webPubSubID, subscription, resourceGroup, webPubSub, name string, err error) {
	rid, err := parseTyped("shared private link resource", id, TypeWebPubSub, TypeSharedPrivateLinkResource)
	if err != nil {
		return "", "", "", "", "", err
	}
	return rid.Parent.String(), rid.SubscriptionID, rid.ResourceGroupName, rid.Parent.Name, rid.Name, nil
}

// SubscriptionOf returns the subscription ID named by a resource ID, "" when
// there is none or id is not a resource ID.
func SubscriptionOf(id string) string {
	rid, err := azarm.ParseResourceID(strings.TrimSpace(id))
	if err != nil {
		return ""
	}
	return rid.SubscriptionID
}

// SameID reports whether two resource IDs name the same resource: ARM IDs are
// case-insensitive (events spell resourcegroups and resourceGroups alike).
func SameID(a, b string) bool { return resource.Same(a, b) }

// NormalizeID returns the comparison form of a resource ID: lower-case, no
// surrounding spaces, no trailing slash.
func NormalizeID(id string) string { return resource.Normalize(id) }

func trimID(id string) string {
	return strings.TrimRight(strings.TrimSpace(id), "/")
}
