package resource

import (
	"errors"
	"fmt"
	"strings"
)

// ID is a parsed resource-group-scoped ARM resource ID:
//
//	/subscriptions/{sub}/resourceGroups/{rg}/providers/{namespace}/{type}/{name}[/{type}/{name}…]
//
// The fixed segments (subscriptions, resourceGroups, providers) are matched
// case-insensitively, as ARM does; the other segments keep their spelling.
type ID struct {
	Subscription, ResourceGroup, Namespace string
	Types, Names                           []string // nested types and names, outermost first
}

// ErrInvalidID: the text is not a resource-group-scoped ARM resource ID.
var ErrInvalidID = errors.New("not a resource ID")

// Parse reads a resource ID. Surrounding spaces and a trailing slash are ignored.
func Parse(s string) (ID, error) {
	t := trim(s)
	bad := func(why string) (ID, error) {
		return ID{}, fmt.Errorf("%w: %q: %s", ErrInvalidID, s, why)
	}
	if !strings.HasPrefix(t, "/") {
		return bad("it does not start with /subscriptions/")
	}
	seg := strings.Split(t[1:], "/")
	if len(seg) < 8 || !strings.EqualFold(seg[0], "subscriptions") || !strings.EqualFold(seg[2], "resourceGroups") || !strings.EqualFold(seg[4], "providers") {
		return bad("want /subscriptions/{id}/resourceGroups/{name}/providers/{namespace}/{type}/{name}")
	}
	if len(seg)%2 != 0 {
		return bad("a type has no name")
	}
	for i, x := range seg {
		if x == "" {
			return bad(fmt.Sprintf("segment %d is empty", i+1))
		}
		if strings.ContainsAny(x, "?#") {
			return bad("it holds ? or #")
		}
	}
	if !strings.Contains(seg[5], ".") {
		return bad("the provider namespace " + seg[5] + " has no dot")
	}
	id := ID{Subscription: seg[1], ResourceGroup: seg[3], Namespace: seg[5]}
	for i := 6; i < len(seg); i += 2 {
		id.Types, id.Names = append(id.Types, seg[i]), append(id.Names, seg[i+1])
	}
	return id, nil
}

// Type is the ARM resource type, e.g. Microsoft.Network/privateLinkServices or
// Microsoft.Network/privateLinkServices/privateEndpointConnections.
func (id ID) Type() string { return id.Namespace + "/" + strings.Join(id.Types, "/") }

// Name is the last name of the ID.
func (id ID) Name() string { return id.Names[len(id.Names)-1] }

// String spells the ID with ARM's canonical fixed segments.
func (id ID) String() string {
	var b strings.Builder
	b.WriteString("/subscriptions/" + id.Subscription + "/resourceGroups/" + id.ResourceGroup + "/providers/" + id.Namespace)
	for i := range id.Types {
		b.WriteString("/" + id.Types[i] + "/" + id.Names[i])
	}
	return b.String()
}

// Parent is the ID one level up (false for a top-level resource).
func (id ID) Parent() (ID, bool) {
	if len(id.Types) < 2 {
		return ID{}, false
	}
	p := id
	p.Types, p.Names = id.Types[:len(id.Types)-1], id.Names[:len(id.Names)-1]
	return p, true
}

// Normalize is the comparison form of a resource ID: lower-case, no
// surrounding spaces, no trailing slash. ARM IDs are case-insensitive (events
// spell resourcegroups and resourceGroups alike).
func Normalize(id string) string { return strings.ToLower(trim(id)) }

// Same reports whether two resource IDs name the same resource.
func Same(a, b string) bool { return strings.EqualFold(trim(a), trim(b)) }

// SubscriptionOf is the subscription an ID names ("" when it is no resource ID).
func SubscriptionOf(s string) string {
	id, err := Parse(s)
	if err != nil {
		return ""
	}
	return id.Subscription
}

// ConnectionSegment is the child type of every private endpoint connection.
const ConnectionSegment = "privateEndpointConnections"

// SplitConnectionID splits the ID of a private endpoint connection (of any
// kind of resource) into the resource's ID and the connection name.
func SplitConnectionID(s string) (resourceID, name string, err error) {
	id, err := Parse(s)
	if err != nil {
		return "", "", err
	}
	parent, ok := id.Parent()
	if !ok || !strings.EqualFold(id.Types[len(id.Types)-1], ConnectionSegment) {
		return "", "", fmt.Errorf("%w: %q is not a private endpoint connection ID (…/%s/{name})", ErrInvalidID, s, ConnectionSegment)
	}
	return parent.String(), id.Name(), nil
}

// ConnectionID is the ID of connection name on resource resourceID.
func ConnectionID(resourceID, name string) string {
	return trim(resourceID) + "/" + ConnectionSegment + "/" + name
}

func trim(s string) string { return strings.TrimRight(strings.TrimSpace(s), "/") }
