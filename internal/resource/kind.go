package resource

import (
	"context"
	"fmt"
	"iter"
	"slices"
	"strings"
	"sync"
)

// Kind describes one ARM resource type whose owner approves private endpoint
// connections. It is all the SDK-free layers need: the event classifier (which
// operations concern it), infra's consistency tests (the RBAC actions and event
// filter), the policy (its type) and reconcile (which provider serves an ID).
type Kind struct {
	// Type is the ARM resource type, e.g. Microsoft.Network/privateLinkServices.
	Type string
	// OperationPrefix is the data.operationName prefix of the Resource*Success
	// events raised for writes on the resource or its connections (Event Grid
	// advanced filter StringBeginsWith), e.g. "Microsoft.Network/privateLinkServices/".
	OperationPrefix string
	// Actions are the RBAC actions plsgate's role needs for it: read the
	// resource (with its connections), list it per subscription, write a connection.
	Actions []string
}

// Provider reads and changes one kind of resource in ARM (internal/arm holds
// the implementations). Errors come back as ARM answered them.
type Provider interface {
	Kind() Kind
	// Get reads one resource with its connections.
	Get(ctx context.Context, id string) (*Resource, error)
	// List streams the subscription's resources of this kind, one ARM page at a time.
	List(ctx context.Context, subscription string) iter.Seq2[[]*Resource, error]
	GetConnection(ctx context.Context, resourceID, name string) (*Connection, error)
	UpdateConnection(ctx context.Context, resourceID string, u ConnectionUpdate) (*Connection, error)
}

var (
	mu    sync.RWMutex
	kinds = map[string]Kind{} // lower-case type → kind
)

// Register adds a kind; a provider package registers its kinds in init. A
// second registration of the same type replaces the first.
func Register(k Kind) {
	if k.Type == "" || !strings.Contains(k.Type, "/") {
		panic(fmt.Sprintf("resource.Register: %q is not an ARM resource type", k.Type))
	}
	mu.Lock()
	defer mu.Unlock()
	kinds[strings.ToLower(k.Type)] = k
}

// Kinds lists the registered kinds, sorted by type.
func Kinds() []Kind {
	mu.RLock()
	defer mu.RUnlock()
	out := make([]Kind, 0, len(kinds))
	for _, k := range kinds {
		out = append(out, k)
	}
	slices.SortFunc(out, func(a, b Kind) int { return strings.Compare(strings.ToLower(a.Type), strings.ToLower(b.Type)) })
	return out
}

// KindOf is the registered kind of a resource ID, or of the resource a
// connection ID belongs to.
func KindOf(id string) (Kind, bool) {
	p, err := Parse(id)
	if err != nil {
		return Kind{}, false
	}
	if strings.EqualFold(p.Types[len(p.Types)-1], ConnectionSegment) {
		if p, _ = p.Parent(); len(p.Types) == 0 {
			return Kind{}, false
		}
	}
	mu.RLock()
	defer mu.RUnlock()
	k, ok := kinds[strings.ToLower(p.Type())]
	return k, ok
}

// ResourceOf reduces the ID of a registered resource or of one of its
// connections to the resource's ID; false when it is neither.
func ResourceOf(id string) (string, Kind, bool) {
	k, ok := KindOf(id)
	if !ok {
		return "", Kind{}, false
	}
	if rid, _, err := SplitConnectionID(id); err == nil {
		return rid, k, true
	}
	p, _ := Parse(id)
	return p.String(), k, true
}

// Providers finds the provider of a resource by its kind.
type Providers map[string]Provider // lower-case type → provider

// Add registers p under its kind's type.
func (ps Providers) Add(p Provider) { ps[strings.ToLower(p.Kind().Type)] = p }

// For returns the provider of the resource (or connection) id.
func (ps Providers) For(id string) (Provider, error) {
	k, ok := KindOf(id)
	if !ok {
		return nil, fmt.Errorf("%q is not a resource of a kind plsgate manages", id)
	}
	p, ok := ps[strings.ToLower(k.Type)]
	if !ok {
		return nil, fmt.Errorf("no provider for %s", k.Type)
	}
	return p, nil
}
