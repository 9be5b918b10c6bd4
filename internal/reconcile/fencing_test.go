package reconcile

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/plsgate/plsgate/internal/arm/armfake"
	"github.com/plsgate/plsgate/internal/policy"
	"github.com/plsgate/plsgate/internal/resource"
	"github.com/plsgate/plsgate/internal/store"
)

// Issue 13.3 and 13.5: two instances, slow Table storage, clock skew and
// permanent ARM refusals never give a second write or a pile of rows.

// stallStore delays chosen calls of the store until released, as a Table
// service that answers late would. The stalled call has already landed
// (landFirst) or not yet been sent.
type stallStore struct {
	Store
	mu      sync.Mutex
	stall   func(op string, c *store.Connection, t *store.Transition) bool
	landed  chan struct{} // closed when the stalled call is reached
	release chan struct{}
	fired   bool
}

func newStallStore(base Store, stall func(op string, c *store.Connection, t *store.Transition) bool) *stallStore {
	return &stallStore{Store: base, stall: stall, landed: make(chan struct{}), release: make(chan struct{})}
}

func (s *stallStore) hold(op string, c *store.Connection, t *store.Transition) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fired || !s.stall(op, c, t) {
		return false
	}
	s.fired = true
	return true
}

func (s *stallStore) AppendTransition(ctx context.Context, t *store.Transition) (bool, error) {
	if !s.hold("append", nil, t) {
		return s.Store.AppendTransition(ctx, t)
	}
	created, err := s.Store.AppendTransition(ctx, t) // the row lands; the answer is late
	close(s.landed)
	<-s.release
	return created, err
}

func (s *stallStore) PutConnection(ctx context.Context, c *store.Connection) error {
	if !s.hold("put", c, nil) {
		return s.Store.PutConnection(ctx, c)
	}
	close(s.landed) // the request is late: it is sent after the release
	<-s.release
	return s.Store.PutConnection(ctx, c)
}

// instance is a second plsgate instance over the same ARM and Table storage.
func (e *env) instance(st Store, now func() time.Time) *Reconciler {
	r := *e.r
	r.Store, r.Now = st, now
	return &r
}

// A Table append slower than the lease: on main the second instance took the
// claim over and approved, then the first one approved again (2 writes).
func TestSlowIntentNeverGivesASecondWrite(t *testing.T) {
	e := newEnv(t, testPolicy)
	e.r.Now, e.r.Lease, e.r.SkewMargin = nil, 300*time.Millisecond, 50*time.Millisecond
	e.pls(conn("c1", StatusPending, "please approve", peCust))
	slow := newStallStore(e.store, func(op string, _ *store.Connection, t *store.Transition) bool {
		return op == "append" && t.Phase == PhaseIntent
	})
	a, b := e.instance(slow, nil), e.instance(e.store, nil)

	errA := make(chan error, 1)
	go func() { _, err := a.Reconcile(context.Background(), plsID, ev); errA <- err }()
	<-slow.landed // A's intent is stored, its answer is late
	time.Sleep(e.r.Lease + e.r.SkewMargin + 50*time.Millisecond)
	if _, err := b.Reconcile(context.Background(), plsID, ev); err != nil {
		t.Fatalf("instance B: %v", err)
	}
	close(slow.release)
	if err := <-errA; !IsRetryable(err) {
		t.Fatalf("instance A after its lease ran out: want a retryable error, got %v", err)
	}
	if n := e.arm.Writes.Load(); n != 1 {
		t.Fatalf("ARM writes = %d, want 1", n)
	}
	wantSteps(t, e.store.history("c1"),
		"connection >Pending observed observed",
		"connection Pending>Approved done rule:customers")
}

// The take-over waits for the lease plus the skew margin: an instance whose
// clock runs ahead by less than the margin does not resume a live claim.
func TestTakeOverWaitsForTheSkewMargin(t *testing.T) {
	e := newEnv(t, testPolicy)
	e.pls(conn("c1", StatusPending, "please approve", peCust))
	held := e.now()
	e.store.SeedConnection(store.Connection{PLSID: plsID, Name: "c1", Status: StatusPending, RequestMessage: "please approve",
		PendingAction: "approve", PendingTransition: "x", PendingSince: held, LeaseHolder: "other", ETag: `W/"seed"`})
	ahead := e.instance(e.store, func() time.Time { return held.Add(e.r.lease() + e.r.skewMargin() - time.Millisecond) })
	outs, err := ahead.Reconcile(context.Background(), plsID, ev)
	if err != nil || len(outs) != 1 || outs[0].Result != InProgress {
		t.Fatalf("inside lease+margin: %+v %v", outs, err)
	}
	later := e.instance(e.store, func() time.Time { return held.Add(e.r.lease() + e.r.skewMargin() + time.Second) })
	if _, err := later.Reconcile(context.Background(), plsID, ev); err != nil {
		t.Fatal(err)
	}
	if e.arm.Status(plsID, "c1") != StatusApproved || e.arm.Writes.Load() != 1 {
		t.Fatalf("after lease+margin: status %s, writes %d", e.arm.Status(plsID, "c1"), e.arm.Writes.Load())
	}
}

// A caller whose approval landed gets its success even when recording it
// took so long that another instance finished the record (on main: 409).
func TestLandedApprovalIsTheCallersSuccess(t *testing.T) {
	e := newEnv(t, testPolicy)
	e.r.Now, e.r.Lease, e.r.SkewMargin = nil, 300*time.Millisecond, 50*time.Millisecond
	e.pls(conn("c1", StatusPending, "please approve", peCust))
	if _, err := e.r.Reconcile(context.Background(), plsID, Trigger{Kind: "timer"}); err != nil {
		t.Fatal(err)
	}
	e.arm.SetStatus(plsID, "c1", StatusPending)
	e.pls(conn("c2", StatusPending, "not matched", peCust))
	if _, err := e.r.Reconcile(context.Background(), plsID, Trigger{Kind: "timer"}); err != nil {
		t.Fatal(err)
	}
	slow := newStallStore(e.store, func(op string, c *store.Connection, _ *store.Transition) bool {
		return op == "put" && c.Name == "c2" && c.Status == StatusApproved
	})
	a, b := e.instance(slow, nil), e.instance(e.store, nil)
	type result struct {
		o   Outcome
		err error
	}
	done := make(chan result, 1)
	go func() {
		o, err := a.Apply(context.Background(), ManualRequest{ConnectionID: plsID + "/privateEndpointConnections/c2", Action: policy.Approve,
			Actor: "principal:alice", Reason: "ticket 1", Force: true}, Trigger{Kind: "http"})
		done <- result{o, err}
	}()
	<-slow.landed // A's write landed; recording its state is late
	time.Sleep(e.r.Lease + e.r.SkewMargin + 50*time.Millisecond)
	if _, err := b.Reconcile(context.Background(), plsID, ev); err != nil {
		t.Fatalf("instance B: %v", err)
	}
	close(slow.release)
	r := <-done
	if r.err != nil || r.o.Result != Approved {
		t.Fatalf("caller whose approval landed got %+v, %v", r.o, r.err)
	}
	if n := e.arm.Writes.Load(); n != 2 { // c1 once, c2 once
		t.Fatalf("ARM writes = %d, want 2", n)
	}
	h := e.store.history("c2")
	if got := steps(h); len(got) != 2 || got[1] != "connection Pending>Approved done principal:alice" {
		t.Fatalf("history of c2: %q", got)
	}
}

// skewedARM runs another instance's whole reconcile between this instance's
// PLS read and the rest of its pass.
type skewedARM struct {
	*armfake.ARM
	once  sync.Once
	other func()
}

func (s *skewedARM) Get(ctx context.Context, id string) (*resource.Resource, error) {
	p, err := s.ARM.Get(ctx, id)
	s.once.Do(s.other)
	return p, err
}

// 50 ms of clock skew between two instances: on main, B's stale snapshot
// (Pending, read before A's approval) looked newer than A's row, so B
// recorded a bogus Approved → Pending and approved a second time.
func TestClockSkewNeverGivesASecondWrite(t *testing.T) {
	e := newEnv(t, testPolicy)
	e.pls(conn("c1", StatusPending, "please approve", peCust))
	behind := func() time.Time { return e.now().Add(-50 * time.Millisecond) }
	a := e.instance(e.store, behind)
	b := e.instance(e.store, e.now)
	b.Providers = providers(&skewedARM{ARM: e.arm, other: func() {
		if _, err := a.Reconcile(context.Background(), plsID, ev); err != nil {
			t.Errorf("instance A: %v", err)
		}
	}})
	outs, err := b.Reconcile(context.Background(), plsID, Trigger{Kind: "event", EventID: "ev-2"})
	if err != nil {
		t.Fatal(err)
	}
	if n := e.arm.Writes.Load(); n != 1 {
		t.Fatalf("ARM writes = %d, want 1 (B: %+v)", n, outs)
	}
	wantSteps(t, e.store.history("c1"),
		"connection >Pending observed observed",
		"connection Pending>Approved done rule:customers")
}

func forbidden() error {
	return fmt.Errorf("armfake: %w", &azcore.ResponseError{StatusCode: 403, ErrorCode: "AuthorizationFailed"})
}

// A permanent refusal: one failed row per (connection, error code), counted
// on the row; not retried until the connection or the decision changes, an
// operator asks, or the retry interval passes. On main: one row per trigger.
func TestPermanentRefusalIsRecordedOnceAndHeld(t *testing.T) {
	e := newEnv(t, testPolicy)
	e.pls(conn("c1", StatusPending, "please approve", peCust))
	e.arm.RefuseWrites = forbidden()
	for i := 0; i < 20; i++ {
		if _, err := e.r.Reconcile(context.Background(), plsID, Trigger{Kind: "timer"}); err != nil && IsRetryable(err) {
			t.Fatalf("tick %d: a permanent refusal must not be retryable: %v", i, err)
		}
	}
	if n := e.arm.Writes.Load(); n != 1 {
		t.Fatalf("20 ticks made %d ARM writes, want 1 (held after the refusal)", n)
	}
	wantSteps(t, e.store.history("c1"),
		"connection >Pending observed observed",
		"connection Pending>Approved failed rule:customers")
	row, _ := e.store.GetConnection(context.Background(), plsID, "c1")
	if row.FailedCode != "AuthorizationFailed" || row.FailedCount != 1 || row.FailedAt.IsZero() {
		t.Fatalf("row: code %q count %d at %v", row.FailedCode, row.FailedCount, row.FailedAt)
	}

	// An operator asks: tried again, same code → same row, count 2.
	if _, err := e.r.Reconcile(context.Background(), plsID, Trigger{Kind: "http"}); err != nil && IsRetryable(err) {
		t.Fatal(err)
	}
	// The retry interval passes: tried again, count 3.
	e.clock = e.clock.Add(7 * time.Hour)
	_, _ = e.r.Reconcile(context.Background(), plsID, Trigger{Kind: "timer"})
	if n := e.arm.Writes.Load(); n != 3 {
		t.Fatalf("ARM writes = %d, want 3 (operator + interval)", n)
	}
	row, _ = e.store.GetConnection(context.Background(), plsID, "c1")
	if row.FailedCount != 3 || len(e.store.history("c1")) != 2 {
		t.Fatalf("count %d, history %q", row.FailedCount, steps(e.store.history("c1")))
	}

	// Another error code gets its own row; the first keeps its own.
	e.arm.RefuseWrites = fmt.Errorf("armfake: %w", &azcore.ResponseError{StatusCode: 400, ErrorCode: "LinkedAuthorizationFailed"})
	_, _ = e.r.Reconcile(context.Background(), plsID, Trigger{Kind: "http"})
	h := e.store.history("c1")
	if got := steps(h); len(got) != 3 || got[2] != "connection Pending>Approved failed rule:customers" ||
		!strings.Contains(h[1].Reason, "AuthorizationFailed") || !strings.Contains(h[2].Reason, "LinkedAuthorizationFailed") {
		t.Fatalf("history after a second code: %q", got)
	}

	// The connection changes (its description): the decision is tried at once and succeeds.
	e.arm.RefuseWrites = nil
	e.arm.SetStatus(plsID, "c1", StatusPending) // status unchanged; ARM's view changes below
	p, _ := e.arm.Get(context.Background(), plsID)
	p.Connections[0].ETag = "W/\"changed\""
	e.arm.Add(p)
	if _, err := e.r.Reconcile(context.Background(), plsID, Trigger{Kind: "timer"}); err != nil {
		t.Fatal(err)
	}
	if e.arm.Status(plsID, "c1") != StatusApproved {
		t.Fatal("a changed connection was not tried again")
	}
	row, _ = e.store.GetConnection(context.Background(), plsID, "c1")
	if row.FailedCode != "" || row.FailedCount != 0 {
		t.Fatalf("refusal memory not cleared after success: %+v", row)
	}
	if got := steps(e.store.history("c1")); len(got) != 4 || got[2] != "connection Pending>Approved failed rule:customers" ||
		got[3] != "connection Pending>Approved done rule:customers" {
		t.Fatalf("after success on a later try: %q", got)
	}
}
