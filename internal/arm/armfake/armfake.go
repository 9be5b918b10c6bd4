// Package armfake is an in-memory resource.Provider (of the private link
// service kind, or of the kind it is told) and arm.SharedPrivateLinks for unit
// tests (end-to-end tests use the emulator,
// internal/armemu). It counts reads, lists and writes, can fail the next
// writes with 503 or hold them on a gate, keeps Rejected terminal as ARM does,
// and moves a shared private link resource's status with the approval of its
// connection.
package armfake

import (
	"context"
	"fmt"
	"iter"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/plsgate/plsgate/internal/arm"
	"github.com/plsgate/plsgate/internal/resource"
)

// ServicePrefix is the default ARM.ServicePrefix: the private endpoint IDs
// plsgate's tests give the endpoints of Web PubSub's shared private links.
const ServicePrefix = "/subscriptions/service"

// ARM is the fake. Set its fields before use; it is safe for concurrent use.
type ARM struct {
	mu   sync.Mutex
	pls  map[string]*arm.PrivateLinkService // by normalized ID
	spls []arm.SharedPrivateLinkResource

	// Gets, Lists and Writes count Get calls, list pages handed out and
	// UpdateConnection calls.
	Gets, Lists, Writes atomic.Int64
	// FailWrites makes the next n UpdateConnection calls answer 503.
	FailWrites atomic.Int64
	// WriteGate, when set, is received from before each UpdateConnection: it
	// lets a test hold a write in flight while something else happens.
	WriteGate chan struct{}
	// RefuseWrites, when set, answers every UpdateConnection with this error
	// (a permanent refusal such as 403); set it before the calls start.
	RefuseWrites error
	// PageSize is the number of PLSs a list page holds (0: all in one page).
	PageSize int
	// ServicePrefix marks the private endpoints of shared private links: a
	// connection from an endpoint whose ID starts with it carries its status
	// to the shared private link resources of its PLS.
	ServicePrefix string
	// ResourceKind is the kind the fake serves as a resource.Provider (zero:
	// resource.PrivateLinkService); its resources are stored like PLSs.
	ResourceKind resource.Kind
}

var (
	_ arm.SharedPrivateLinks = (*ARM)(nil)
	_ resource.Provider      = (*ARM)(nil)
)

// Kind is ResourceKind, or resource.PrivateLinkService when it is unset.
func (f *ARM) Kind() resource.Kind {
	if f.ResourceKind.Type == "" {
		return resource.PrivateLinkService
	}
	return f.ResourceKind
}

// New returns an empty fake.
func New() *ARM {
	return &ARM{pls: map[string]*arm.PrivateLinkService{}, ServicePrefix: ServicePrefix}
}

// HTTPError is the error ARM answers with an HTTP status code.
func HTTPError(code int) error {
	return arm.Wrap("armfake", &azcore.ResponseError{StatusCode: code, ErrorCode: fmt.Sprint(code)}) // as *Client fails
}

// Add stores a PLS (replacing one with its ID); the fake owns p from then on.
func (f *ARM) Add(p *arm.PrivateLinkService) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.pls[arm.NormalizeID(p.ID)] = p
}

// Remove deletes a PLS.
func (f *ARM) Remove(plsID string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.pls, arm.NormalizeID(plsID))
}

// AddSharedPrivateLinks stores shared private link resources.
func (f *ARM) AddSharedPrivateLinks(s ...arm.SharedPrivateLinkResource) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.spls = append(f.spls, s...)
}

// SetStatus changes a connection's status behind plsgate's back.
func (f *ARM) SetStatus(plsID, name, status string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if c := f.conn(plsID, name); c != nil {
		c.Status = status
	}
}

// Status is a connection's status ("" when there is no such connection).
func (f *ARM) Status(plsID, name string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	if c := f.conn(plsID, name); c != nil {
		return c.Status
	}
	return ""
}

// conn finds a connection; f.mu is held.
func (f *ARM) conn(plsID, name string) *arm.Connection {
	p, ok := f.pls[arm.NormalizeID(plsID)]
	if !ok {
		return nil
	}
	for i := range p.Connections {
		if p.Connections[i].Name == name {
			return &p.Connections[i]
		}
	}
	return nil
}

func clonePLS(p *arm.PrivateLinkService) *arm.PrivateLinkService {
	cp := *p
	cp.Connections = slices.Clone(p.Connections)
	return &cp
}

// Get returns a copy of a resource (a PLS) with its connections; 404 when absent.
func (f *ARM) Get(_ context.Context, id string) (*resource.Resource, error) {
	f.Gets.Add(1)
	f.mu.Lock()
	defer f.mu.Unlock()
	p, ok := f.pls[arm.NormalizeID(id)]
	if !ok {
		return nil, HTTPError(404)
	}
	return clonePLS(p), nil
}

// List pages through the resources (PLSs) of a subscription, by ID.
func (f *ARM) List(_ context.Context, sub string) iter.Seq2[[]*resource.Resource, error] {
	return func(yield func([]*resource.Resource, error) bool) {
		f.mu.Lock()
		var all []*resource.Resource
		for _, p := range f.pls {
			if strings.EqualFold(p.SubscriptionID, sub) {
				all = append(all, clonePLS(p))
			}
		}
		f.mu.Unlock()
		slices.SortFunc(all, func(a, b *resource.Resource) int { return strings.Compare(a.ID, b.ID) })
		for len(all) > 0 {
			f.Lists.Add(1)
			n := len(all)
			if f.PageSize > 0 {
				n = min(f.PageSize, n)
			}
			if !yield(all[:n], nil) {
				return
			}
			all = all[n:]
		}
	}
}

// GetConnection returns a copy of a connection; 404 when absent.
func (f *ARM) GetConnection(_ context.Context, plsID, name string) (*arm.Connection, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if c := f.conn(plsID, name); c != nil {
		cp := *c
		return &cp, nil
	}
	return nil, HTTPError(404)
}

// UpdateConnection sets a connection's status and description. A Rejected
// connection stays Rejected (400), as in ARM.
func (f *ARM) UpdateConnection(ctx context.Context, plsID string, u arm.ConnectionUpdate) (*arm.Connection, error) {
	if f.WriteGate != nil {
		select {
		case <-f.WriteGate:
		case <-ctx.Done(): // like a real call, a held write ends with its context
			return nil, ctx.Err()
		}
	}
	f.Writes.Add(1)
	if f.FailWrites.Load() > 0 {
		f.FailWrites.Add(-1)
		return nil, HTTPError(503)
	}
	if f.RefuseWrites != nil {
		return nil, f.RefuseWrites
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.pls[arm.NormalizeID(plsID)]; !ok {
		return nil, HTTPError(404)
	}
	c := f.conn(plsID, u.Name)
	if c == nil || c.Status == arm.StatusRejected && u.Status != arm.StatusRejected {
		return nil, HTTPError(400)
	}
	c.Status, c.Description = u.Status, u.Description
	if f.ServicePrefix != "" && strings.HasPrefix(c.PrivateEndpointID, f.ServicePrefix) {
		for j := range f.spls {
			if arm.SameID(f.spls[j].PrivateLinkResourceID, plsID) {
				f.spls[j].Status = u.Status
			}
		}
	}
	cp := *c
	return &cp, nil
}

// ListSharedPrivateLinkResources returns the shared private link resources of a Web PubSub.
func (f *ARM) ListSharedPrivateLinkResources(_ context.Context, id string) ([]arm.SharedPrivateLinkResource, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []arm.SharedPrivateLinkResource
	for _, s := range f.spls {
		if arm.SameID(s.WebPubSubID, id) {
			out = append(out, s)
		}
	}
	return out, nil
}

// GetSharedPrivateLinkResource returns one shared private link resource; 404 when absent.
func (f *ARM) GetSharedPrivateLinkResource(_ context.Context, id string) (*arm.SharedPrivateLinkResource, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, s := range f.spls {
		if arm.SameID(s.ID, id) {
			return &s, nil
		}
	}
	return nil, HTTPError(404)
}
