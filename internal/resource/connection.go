package resource

import "strings"

// Connection status values. ARM declares the field a free string: compare with
// StatusIs and keep unknown values.
const (
	StatusPending      = "Pending"
	StatusApproved     = "Approved"
	StatusRejected     = "Rejected"
	StatusDisconnected = "Disconnected"
	StatusRemoved      = "Removed" // plsgate's word for a connection gone from its resource
)

// StatusIs compares two statuses as ARM does (case-insensitively).
func StatusIs(status, want string) bool { return strings.EqualFold(status, want) }

// Resource is a resource whose owner approves private endpoint connections,
// with the connections ARM returned with it.
type Resource struct {
	ID, Type, Name, SubscriptionID, ResourceGroup, Location string
	Tags                                                    map[string]string
	// Private link service facts (empty for other kinds).
	Alias                    string
	Visibility, AutoApproval []string // subscription IDs; "*" = anyone
	Fqdns                    []string
	Connections              []Connection
}

// Connection is one private endpoint connection on a resource.
type Connection struct {
	ID, Name                                   string
	PrivateEndpointID, PrivateEndpointLocation string
	Status, Description, ActionsRequired       string // Status: see the Status constants (free string)
	LinkIdentifier, ProvisioningState, ETag    string
}

// ConnectionUpdate is the state to write on an existing connection.
// PrivateEndpointID must be the connection's current private endpoint (from the
// read that led to the decision): ARM expects it in the PUT body. Description is
// written as given; ActionsRequired only when not empty.
type ConnectionUpdate struct {
	Name, PrivateEndpointID, Status, Description string
	ActionsRequired                              string
}
