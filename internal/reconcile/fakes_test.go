package reconcile

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/plsgate/plsgate/internal/arm"
	"github.com/plsgate/plsgate/internal/store"
)

// fakeARM is an in-memory ARM for unit tests (end-to-end tests use the emulator).
type fakeARM struct {
	mu     sync.Mutex
	pls    map[string]*arm.PrivateLinkService // by normalized ID
	spls   []arm.SharedPrivateLinkResource
	gets   atomic.Int64
	lists  atomic.Int64
	writes atomic.Int64
	// failWrites makes the next n UpdateConnection calls answer 503.
	failWrites atomic.Int64
	pageSize   int
}

func newFakeARM() *fakeARM { return &fakeARM{pls: map[string]*arm.PrivateLinkService{}, pageSize: 2} }

func (f *fakeARM) add(p *arm.PrivateLinkService) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.pls[arm.NormalizeID(p.ID)] = p
}

func (f *fakeARM) setStatus(plsID, name, status string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	p := f.pls[arm.NormalizeID(plsID)]
	for i := range p.Connections {
		if p.Connections[i].Name == name {
			p.Connections[i].Status = status
		}
	}
}

func (f *fakeARM) status(plsID, name string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, c := range f.pls[arm.NormalizeID(plsID)].Connections {
		if c.Name == name {
			return c.Status
		}
	}
	return ""
}

func clonePLS(p *arm.PrivateLinkService) *arm.PrivateLinkService {
	cp := *p
	cp.Connections = append([]arm.Connection(nil), p.Connections...)
	return &cp
}

func httpErr(code int) error {
	return fmt.Errorf("fake: %w", &azcore.ResponseError{StatusCode: code, ErrorCode: fmt.Sprint(code)})
}

func (f *fakeARM) GetPrivateLinkService(_ context.Context, id string) (*arm.PrivateLinkService, error) {
	f.gets.Add(1)
	f.mu.Lock()
	defer f.mu.Unlock()
	p, ok := f.pls[arm.NormalizeID(id)]
	if !ok {
		return nil, httpErr(404)
	}
	return clonePLS(p), nil
}

func (f *fakeARM) ListPrivateLinkServices(_ context.Context, sub string) iter.Seq2[[]*arm.PrivateLinkService, error] {
	return func(yield func([]*arm.PrivateLinkService, error) bool) {
		f.mu.Lock()
		var all []*arm.PrivateLinkService
		for _, p := range f.pls {
			if strings.EqualFold(p.SubscriptionID, sub) {
				all = append(all, clonePLS(p))
			}
		}
		f.mu.Unlock()
		sort.Slice(all, func(i, j int) bool { return all[i].ID < all[j].ID })
		for len(all) > 0 {
			f.lists.Add(1)
			n := min(f.pageSize, len(all))
			if !yield(all[:n], nil) {
				return
			}
			all = all[n:]
		}
	}
}

func (f *fakeARM) ListPrivateLinkServicesByResourceGroup(ctx context.Context, sub, rg string) iter.Seq2[[]*arm.PrivateLinkService, error] {
	return f.ListPrivateLinkServices(ctx, sub)
}

func (f *fakeARM) GetConnection(_ context.Context, plsID, name string) (*arm.Connection, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, c := range f.pls[arm.NormalizeID(plsID)].Connections {
		if c.Name == name {
			return &c, nil
		}
	}
	return nil, httpErr(404)
}

func (f *fakeARM) UpdateConnection(_ context.Context, plsID string, u arm.ConnectionUpdate) (*arm.Connection, error) {
	f.writes.Add(1)
	if f.failWrites.Load() > 0 {
		f.failWrites.Add(-1)
		return nil, httpErr(503)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	p, ok := f.pls[arm.NormalizeID(plsID)]
	if !ok {
		return nil, httpErr(404)
	}
	for i := range p.Connections {
		c := &p.Connections[i]
		if c.Name != u.Name {
			continue
		}
		if c.Status == StatusRejected && u.Status != StatusRejected {
			return nil, httpErr(400)
		}
		c.Status, c.Description = u.Status, u.Description
		for j := range f.spls {
			if arm.SameID(f.spls[j].PrivateLinkResourceID, plsID) && strings.HasPrefix(c.PrivateEndpointID, "/subscriptions/service") {
				f.spls[j].Status = u.Status
			}
		}
		cp := *c
		return &cp, nil
	}
	return nil, httpErr(400)
}

func (f *fakeARM) ListSharedPrivateLinkResources(_ context.Context, id string) ([]arm.SharedPrivateLinkResource, error) {
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

func (f *fakeARM) GetSharedPrivateLinkResource(_ context.Context, id string) (*arm.SharedPrivateLinkResource, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, s := range f.spls {
		if arm.SameID(s.ID, id) {
			return &s, nil
		}
	}
	return nil, httpErr(404)
}

// fakeStore mirrors internal/store's semantics (ETags, Add conflicts,
// deterministic transition keys) in memory.
type fakeStore struct {
	mu          sync.Mutex
	conns       map[string]store.Connection
	transitions map[string]store.Transition
	runs        map[string]store.Run
	checkpoints map[string]string
	etag        int
	down        atomic.Bool // every call fails as if Table storage were unreachable
	// failAppendIntent makes the next intent append fail.
	failAppendIntent atomic.Int64
}

var errDown = errors.New("fake: table storage unavailable")

func newFakeStore() *fakeStore {
	return &fakeStore{conns: map[string]store.Connection{}, transitions: map[string]store.Transition{}, runs: map[string]store.Run{}, checkpoints: map[string]string{}}
}

func ckey(pls, name string) string { return arm.NormalizeID(pls) + "|" + strings.ToLower(name) }

func (s *fakeStore) next() string { s.etag++; return fmt.Sprintf("W/\"%d\"", s.etag) }

func (s *fakeStore) ListConnections(_ context.Context, q store.ConnectionQuery) ([]store.Connection, string, error) {
	if s.down.Load() {
		return nil, "", errDown
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []store.Connection
	for _, c := range s.conns {
		if (q.PLSID == "" || arm.SameID(c.PLSID, q.PLSID)) && (q.Status == "" || c.Status == q.Status) {
			out = append(out, c)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, "", nil
}

func (s *fakeStore) GetConnection(_ context.Context, pls, name string) (*store.Connection, error) {
	if s.down.Load() {
		return nil, errDown
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.conns[ckey(pls, name)]
	if !ok {
		return nil, store.ErrNotFound
	}
	return &c, nil
}

func (s *fakeStore) PutConnection(_ context.Context, c *store.Connection) error {
	if s.down.Load() {
		return errDown
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	k := ckey(c.PLSID, c.Name)
	cur, exists := s.conns[k]
	if c.ETag == "" && exists || c.ETag != "" && (!exists || cur.ETag != c.ETag) {
		return store.ErrConflict
	}
	c.ETag = s.next()
	s.conns[k] = *c
	return nil
}

func (s *fakeStore) AppendTransition(_ context.Context, t *store.Transition) (bool, error) {
	if s.down.Load() {
		return false, errDown
	}
	if t.Phase == PhaseIntent && s.failAppendIntent.Load() > 0 {
		s.failAppendIntent.Add(-1)
		return false, errDown
	}
	id, err := store.TransitionRowKey(t)
	if err != nil {
		return false, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	k := arm.NormalizeID(t.PLSID) + "|" + id
	if cur, ok := s.transitions[k]; ok {
		t.ID, t.ETag = cur.ID, cur.ETag
		return false, nil
	}
	t.ID, t.ETag = id, s.next()
	s.transitions[k] = *t
	return true, nil
}

func (s *fakeStore) UpdateTransition(_ context.Context, t *store.Transition) error {
	if s.down.Load() {
		return errDown
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	k := arm.NormalizeID(t.PLSID) + "|" + t.ID
	cur, ok := s.transitions[k]
	if !ok {
		return store.ErrNotFound
	}
	if cur.ETag != t.ETag {
		return store.ErrConflict
	}
	t.ETag = s.next()
	s.transitions[k] = *t
	return nil
}

func (s *fakeStore) GetTransition(_ context.Context, pls, id string) (*store.Transition, error) {
	if s.down.Load() {
		return nil, errDown
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.transitions[arm.NormalizeID(pls)+"|"+id]
	if !ok {
		return nil, store.ErrNotFound
	}
	return &t, nil
}

func (s *fakeStore) PutRun(_ context.Context, r *store.Run) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.runs[r.ID] = *r
	return nil
}

func (s *fakeStore) GetCheckpoint(_ context.Context, scope string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.checkpoints[scope], nil
}

func (s *fakeStore) PutCheckpoint(_ context.Context, scope, v string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.checkpoints[scope] = v
	return nil
}

// history returns the transitions of one connection, oldest first.
func (s *fakeStore) history(name string) []store.Transition {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []store.Transition
	for _, t := range s.transitions {
		if t.Connection == name {
			out = append(out, t)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		return out[i].At.Before(out[j].At) || out[i].At.Equal(out[j].At) && out[i].ID > out[j].ID
	})
	return out
}
