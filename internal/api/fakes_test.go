package api

import (
	"context"
	"fmt"
	"sync"

	"github.com/plsgate/plsgate/internal/arm"
	"github.com/plsgate/plsgate/internal/arm/armfake"
	"github.com/plsgate/plsgate/internal/policy"
	"github.com/plsgate/plsgate/internal/reconcile"
	"github.com/plsgate/plsgate/internal/store"
	"github.com/plsgate/plsgate/internal/store/memstore"
)

// The reconciler's ARM and Store are in memory (armfake, memstore), so the concurrency test
// runs the real reconciler.

func httpErr(code int) error { return armfake.HTTPError(code) }

func errUnavailable() error { return memstore.Unavailable() }

// fakeStore is memstore that remembers the last connection query.
type fakeStore struct {
	*memstore.Store
	mu        sync.Mutex
	lastQuery store.ConnectionQuery
}

func newFakeStore() *fakeStore { return &fakeStore{Store: memstore.New()} }

func (s *fakeStore) ListConnections(ctx context.Context, q store.ConnectionQuery) ([]store.Connection, string, error) {
	s.mu.Lock()
	s.lastQuery = q
	s.mu.Unlock()
	return s.Store.ListConnections(ctx, q)
}

// seed stores rows and transitions as they are (tests of the read routes).
func (s *fakeStore) seed(conns []store.Connection, trs []store.Transition) {
	for _, c := range conns {
		c.ETag = ""
		s.SeedConnection(c)
	}
	for i, t := range trs {
		if t.ID == "" {
			t.ID = fmt.Sprintf("seed-%02d", i) // independent of the store's key hash (golden files)
		}
		s.SeedTransition(t)
	}
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
