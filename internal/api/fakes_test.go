package api

import (
	"context"
	"fmt"
	"iter"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/plsgate/plsgate/internal/arm"
	"github.com/plsgate/plsgate/internal/policy"
	"github.com/plsgate/plsgate/internal/reconcile"
	"github.com/plsgate/plsgate/internal/store"
)

// Fakes of the reconciler's ARM and Store (copied from internal/reconcile/fakes_test.go and
// extended with what the API reads), so the concurrency test runs the real reconciler.

type fakeARM struct {
	mu  sync.Mutex
	pls map[string]*arm.PrivateLinkService // by normalized ID
	// writeGate, when set, is received from before each UpdateConnection: it lets a test hold
	// a write in flight while another request arrives.
	writeGate chan struct{}
	writes    atomic.Int64
}

func newFakeARM() *fakeARM { return &fakeARM{pls: map[string]*arm.PrivateLinkService{}} }

func (f *fakeARM) add(p *arm.PrivateLinkService) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.pls[arm.NormalizeID(p.ID)] = p
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
		if len(all) > 0 {
			yield(all, nil)
		}
	}
}

func (f *fakeARM) ListPrivateLinkServicesByResourceGroup(ctx context.Context, sub, _ string) iter.Seq2[[]*arm.PrivateLinkService, error] {
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
	if f.writeGate != nil {
		<-f.writeGate
	}
	f.writes.Add(1)
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
		if c.Status == reconcile.StatusRejected && u.Status != reconcile.StatusRejected {
			return nil, httpErr(400)
		}
		c.Status, c.Description = u.Status, u.Description
		cp := *c
		return &cp, nil
	}
	return nil, httpErr(400)
}

// fakeStore mirrors internal/store's semantics (ETags, Add conflicts, deterministic transition
// keys, newest-first history, continuation tokens) in memory.
type fakeStore struct {
	mu          sync.Mutex
	conns       map[string]store.Connection
	transitions map[string]store.Transition
	runs        map[string]store.Run
	checkpoints map[string]string
	etag        int
	down        atomic.Bool // every call fails as if Table storage answered 503
	lastQuery   store.ConnectionQuery
}

func newFakeStore() *fakeStore {
	return &fakeStore{conns: map[string]store.Connection{}, transitions: map[string]store.Transition{}, runs: map[string]store.Run{}, checkpoints: map[string]string{}}
}

func errUnavailable() error {
	return fmt.Errorf("fake table storage: %w", &azcore.ResponseError{StatusCode: 503, ErrorCode: "ServerBusy"})
}

func ckey(pls, name string) string { return arm.NormalizeID(pls) + "|" + strings.ToLower(name) }

func (s *fakeStore) next() string { s.etag++; return fmt.Sprintf("W/\"%d\"", s.etag) }

// seed stores rows and transitions as they are (tests of the read routes).
func (s *fakeStore) seed(conns []store.Connection, trs []store.Transition) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range conns {
		c.ETag = s.next()
		s.conns[ckey(c.PLSID, c.Name)] = c
	}
	for i, t := range trs {
		if t.ID == "" {
			t.ID = fmt.Sprintf("seed-%02d", i) // independent of the store's key hash (golden files)
		}
		s.transitions[arm.NormalizeID(t.PLSID)+"|"+t.ID] = t
	}
}

func (s *fakeStore) ListConnections(_ context.Context, q store.ConnectionQuery) ([]store.Connection, string, error) {
	if s.down.Load() {
		return nil, "", errUnavailable()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lastQuery = q
	var out []store.Connection
	for _, c := range s.conns {
		if (q.PLSID == "" || arm.SameID(c.PLSID, q.PLSID)) && (q.Status == "" || c.Status == q.Status) {
			out = append(out, c)
		}
	}
	keys := make(map[string]string, len(out))
	for _, c := range out {
		keys[c.PLSID] = arm.NormalizeID(c.PLSID)
	}
	sort.Slice(out, func(i, j int) bool {
		if a, b := keys[out[i].PLSID], keys[out[j].PLSID]; a != b {
			return a < b
		}
		return out[i].Name < out[j].Name
	})
	start := 0
	if q.Continuation != "" {
		n, err := strconv.Atoi(strings.TrimPrefix(q.Continuation, "tok-"))
		if err != nil || !strings.HasPrefix(q.Continuation, "tok-") || n > len(out) {
			return nil, "", store.ErrInvalidContinuation
		}
		start = n
	}
	limit := q.Limit
	if limit <= 0 {
		limit = 100
	}
	end := min(start+limit, len(out))
	next := ""
	if end < len(out) {
		next = "tok-" + strconv.Itoa(end)
	}
	return out[start:end], next, nil
}

func (s *fakeStore) GetConnection(_ context.Context, pls, name string) (*store.Connection, error) {
	if s.down.Load() {
		return nil, errUnavailable()
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
		return errUnavailable()
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
		return false, errUnavailable()
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
		return errUnavailable()
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
		return nil, errUnavailable()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.transitions[arm.NormalizeID(pls)+"|"+id]
	if !ok {
		return nil, store.ErrNotFound
	}
	return &t, nil
}

// newestFirst orders like the store: by At descending, then by ID (the RowKey).
func newestFirst(ts []store.Transition) {
	sort.Slice(ts, func(i, j int) bool {
		if !ts[i].At.Equal(ts[j].At) {
			return ts[i].At.After(ts[j].At)
		}
		return ts[i].ID < ts[j].ID
	})
}

func (s *fakeStore) ListTransitions(_ context.Context, plsID, connection string, limit int) ([]store.Transition, error) {
	if s.down.Load() {
		return nil, errUnavailable()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []store.Transition
	for _, t := range s.transitions {
		if arm.SameID(t.PLSID, plsID) && (connection == "" || t.Connection == connection) {
			out = append(out, t)
		}
	}
	newestFirst(out)
	if limit > 0 && len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

func (s *fakeStore) RecentTransitions(_ context.Context, limit int) ([]store.Transition, error) {
	if s.down.Load() {
		return nil, errUnavailable()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []store.Transition
	for _, t := range s.transitions {
		out = append(out, t)
	}
	newestFirst(out)
	if limit > 0 && len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

func (s *fakeStore) PutRun(_ context.Context, r *store.Run) error {
	if s.down.Load() {
		return errUnavailable()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.runs[r.ID] = *r
	return nil
}

func (s *fakeStore) GetRun(_ context.Context, id string) (*store.Run, error) {
	if s.down.Load() {
		return nil, errUnavailable()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.runs[id]
	if !ok {
		return nil, store.ErrNotFound
	}
	return &r, nil
}

func (s *fakeStore) LatestRun(_ context.Context) (*store.Run, error) {
	if s.down.Load() {
		return nil, errUnavailable()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var best *store.Run
	for _, r := range s.runs {
		if best == nil || r.StartedAt.After(best.StartedAt) {
			r := r
			best = &r
		}
	}
	if best == nil {
		return nil, store.ErrNotFound
	}
	return best, nil
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

// fakeDeciders scripts the reconciler for route tests and records what it was asked.
type fakeDeciders struct {
	mu         sync.Mutex
	applied    []reconcile.ManualRequest
	triggers   []reconcile.Trigger
	reconciled []string
	evaluated  []string

	apply     func(reconcile.ManualRequest) (reconcile.Outcome, error)
	reconcile func(plsID string) ([]reconcile.Outcome, error)
	scan      func(ctx context.Context, o reconcile.ScanOptions) (reconcile.RunSummary, error)
	evaluate  func(id string) (policy.Facts, policy.Decision, error)
}

func (f *fakeDeciders) Apply(_ context.Context, req reconcile.ManualRequest, t reconcile.Trigger) (reconcile.Outcome, error) {
	f.mu.Lock()
	f.applied = append(f.applied, req)
	f.triggers = append(f.triggers, t)
	fn := f.apply
	f.mu.Unlock()
	if fn == nil {
		plsID, name, _ := arm.ParseConnectionID(req.ConnectionID)
		to := reconcile.StatusApproved
		res := reconcile.Approved
		if req.Action == policy.Reject {
			to, res = reconcile.StatusRejected, reconcile.Rejected
		}
		return reconcile.Outcome{PLSID: plsID, Connection: name, ConnectionID: req.ConnectionID, From: reconcile.StatusPending, To: to,
			Result: res, Action: req.Action, Reason: req.Reason}, nil
	}
	return fn(req)
}

func (f *fakeDeciders) Reconcile(_ context.Context, plsID string, t reconcile.Trigger) ([]reconcile.Outcome, error) {
	f.mu.Lock()
	f.reconciled = append(f.reconciled, plsID)
	f.triggers = append(f.triggers, t)
	fn := f.reconcile
	f.mu.Unlock()
	if fn == nil {
		return nil, nil
	}
	return fn(plsID)
}

func (f *fakeDeciders) Scan(ctx context.Context, _ reconcile.Scope, _ reconcile.RunRecorder, t reconcile.Trigger, o reconcile.ScanOptions) (reconcile.RunSummary, error) {
	f.mu.Lock()
	f.triggers = append(f.triggers, t)
	fn := f.scan
	f.mu.Unlock()
	if fn == nil {
		return reconcile.RunSummary{RunID: o.RunID, Complete: true}, nil
	}
	return fn(ctx, o)
}

func (f *fakeDeciders) Evaluate(_ context.Context, id string) (policy.Facts, policy.Decision, error) {
	f.mu.Lock()
	f.evaluated = append(f.evaluated, id)
	fn := f.evaluate
	f.mu.Unlock()
	if fn == nil {
		return policy.Facts{}, policy.Decision{Action: policy.Leave, Reason: "no rule matched"}, nil
	}
	return fn(id)
}

func (f *fakeDeciders) appliedRequests() []reconcile.ManualRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]reconcile.ManualRequest(nil), f.applied...)
}

func (f *fakeDeciders) lastTrigger() reconcile.Trigger {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.triggers) == 0 {
		return reconcile.Trigger{}
	}
	return f.triggers[len(f.triggers)-1]
}
