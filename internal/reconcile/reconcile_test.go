package reconcile

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/plsgate/plsgate/internal/arm"
	"github.com/plsgate/plsgate/internal/arm/armfake"
	"github.com/plsgate/plsgate/internal/policy"
	"github.com/plsgate/plsgate/internal/store"
)

const (
	sub    = "00000000-0000-0000-0000-000000000001"
	plsID  = "/subscriptions/" + sub + "/resourceGroups/contoso/providers/Microsoft.Network/privateLinkServices/contoso-pls"
	wpsID  = "/subscriptions/" + sub + "/resourceGroups/contoso/providers/Microsoft.SignalRService/webPubSub/contoso-webpubsub"
	peCust = "/subscriptions/11111111-1111-1111-1111-111111111111/resourceGroups/cust/providers/Microsoft.Network/privateEndpoints/pe1"
	peSvc  = "/subscriptions/service0-0000-0000-0000-000000000000/resourceGroups/managed/providers/Microsoft.Network/privateEndpoints/wps-pe"
)

const testPolicy = `
version: 1
default: leave
rules:
  - name: customers
    match:
      requester: { subscriptions: ["11111111-1111-1111-1111-111111111111"] }
      requestMessage: "^please approve$"
    action: approve
  - name: webpubsub
    match:
      requestMessage: "^wps approve$"
      verifiedBy: webPubSub
    action: approve
    message: "approved by plsgate rule {rule}"
  - name: spam
    match:
      requestMessage: "^spam"
    action: reject
`

type env struct {
	arm   *armfake.ARM
	store *fakeStore
	r     *Reconciler
	clock time.Time
	mu    sync.Mutex
}

func newEnv(t testing.TB, pol string) *env {
	t.Helper()
	p, err := policy.Parse("test.yaml", []byte(pol))
	if err != nil {
		t.Fatal(err)
	}
	e := &env{arm: newFakeARM(), store: newFakeStore(), clock: time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)}
	e.r = &Reconciler{Providers: providers(e.arm), SharedLinks: e.arm, Store: e.store, Policy: p, WebPubSubIDs: []string{wpsID}, Now: e.now}
	return e
}

// now advances 1 ms per call so transition times are distinct and ordered.
func (e *env) now() time.Time {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.clock = e.clock.Add(time.Millisecond)
	return e.clock
}

func conn(name, status, desc, pe string) arm.Connection {
	return arm.Connection{ID: plsID + "/privateEndpointConnections/" + name, Name: name, Status: status, Description: desc, PrivateEndpointID: pe}
}

func (e *env) pls(conns ...arm.Connection) {
	e.arm.Add(&arm.PrivateLinkService{ID: plsID, Name: "contoso-pls", SubscriptionID: sub, ResourceGroup: "contoso", Connections: conns})
}

var ev = Trigger{Kind: "event", EventID: "ev-1"}

func steps(h []store.Transition) []string {
	var out []string
	for _, t := range h {
		out = append(out, fmt.Sprintf("%s %s>%s %s %s", t.Subject, t.From, t.To, t.Phase, t.Actor))
	}
	return out
}

func wantSteps(t *testing.T, h []store.Transition, want ...string) {
	t.Helper()
	got := steps(h)
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("history:\n got %q\nwant %q", got, want)
	}
}

func TestApproveByRuleRecordsThenActs(t *testing.T) {
	e := newEnv(t, testPolicy)
	e.pls(conn("c1", StatusPending, "please approve", peCust))
	outs, err := e.r.Reconcile(context.Background(), plsID, ev)
	if err != nil {
		t.Fatal(err)
	}
	if len(outs) != 1 || outs[0].Result != Approved || outs[0].Rule != "customers" {
		t.Fatalf("outcomes: %+v", outs)
	}
	if got := e.arm.Status(plsID, "c1"); got != StatusApproved {
		t.Fatalf("ARM status %s", got)
	}
	if e.arm.Gets.Load() != 1 || e.arm.Writes.Load() != 1 {
		t.Fatalf("ARM calls: %d reads %d writes, want 1+1", e.arm.Gets.Load(), e.arm.Writes.Load())
	}
	wantSteps(t, e.store.history("c1"),
		"connection >Pending observed observed",
		"connection Pending>Approved done rule:customers")
	row, _ := e.store.GetConnection(context.Background(), plsID, "c1")
	if row.Status != StatusApproved || row.PendingAction != "" || row.RequestMessage != "please approve" || row.LastRule != "customers" {
		t.Fatalf("row: %+v", row)
	}
	// A duplicate delivery changes nothing: 1 more read, no write, no row.
	outs, err = e.r.Reconcile(context.Background(), plsID, ev)
	if err != nil || outs[0].Result != Unchanged {
		t.Fatalf("duplicate: %+v %v", outs, err)
	}
	if e.arm.Writes.Load() != 1 || len(e.store.history("c1")) != 2 {
		t.Fatalf("duplicate delivery wrote again: %d writes, %d rows", e.arm.Writes.Load(), len(e.store.history("c1")))
	}
}

func TestUnmatchedStaysPendingAndRejectRule(t *testing.T) {
	e := newEnv(t, testPolicy)
	e.pls(conn("odd", StatusPending, "hello", peCust), conn("bad", StatusPending, "spam spam", peCust))
	outs, err := e.r.Reconcile(context.Background(), plsID, ev)
	if err != nil {
		t.Fatal(err)
	}
	res := map[string]Result{}
	for _, o := range outs {
		res[o.Connection] = o.Result
	}
	if res["odd"] != LeftPending || res["bad"] != Rejected {
		t.Fatalf("results %v", res)
	}
	if e.arm.Status(plsID, "odd") != StatusPending || e.arm.Status(plsID, "bad") != StatusRejected || e.arm.Writes.Load() != 1 {
		t.Fatalf("ARM state wrong: writes=%d", e.arm.Writes.Load())
	}
	// Left-pending is recorded once, not on every pass.
	outs, _ = e.r.Reconcile(context.Background(), plsID, ev)
	for _, o := range outs {
		if o.Result != Unchanged {
			t.Fatalf("second pass: %+v", o)
		}
	}
}

func TestRejectedIsNeverFlipped(t *testing.T) {
	e := newEnv(t, testPolicy)
	e.pls(conn("c1", StatusRejected, "please approve", peCust))
	if _, err := e.r.Reconcile(context.Background(), plsID, ev); err != nil {
		t.Fatal(err)
	}
	if e.arm.Writes.Load() != 0 || e.arm.Status(plsID, "c1") != StatusRejected {
		t.Fatal("a Rejected connection was written")
	}
	_, err := e.r.Apply(context.Background(), ManualRequest{ConnectionID: plsID + "/privateEndpointConnections/c1", Action: policy.Approve, Actor: "principal:a", Reason: "x", Force: true}, Trigger{Kind: "http"})
	var np *NotPendingError
	if !errors.As(err, &np) || np.Status != StatusRejected {
		t.Fatalf("want NotPendingError, got %v", err)
	}
}

func TestConcurrentDeliveriesApproveOnce(t *testing.T) {
	e := newEnv(t, testPolicy)
	e.pls(conn("c1", StatusPending, "please approve", peCust))
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := e.r.Reconcile(context.Background(), plsID, ev)
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if e.arm.Writes.Load() != 1 {
		t.Fatalf("ARM writes = %d, want 1", e.arm.Writes.Load())
	}
	wantSteps(t, e.store.history("c1"),
		"connection >Pending observed observed",
		"connection Pending>Approved done rule:customers")
}

func TestNoARMWriteWithoutIntent(t *testing.T) {
	e := newEnv(t, testPolicy)
	e.pls(conn("c1", StatusPending, "please approve", peCust))
	e.store.Down.Store(true)
	_, err := e.r.Reconcile(context.Background(), plsID, ev)
	if !IsRetryable(err) || e.arm.Writes.Load() != 0 {
		t.Fatalf("store down: err=%v writes=%d", err, e.arm.Writes.Load())
	}
	e.store.Down.Store(false)
	// The row exists and is claimed, but the intent row fails: still no write.
	e.store.FailAppends(PhaseIntent, 1)
	_, err = e.r.Reconcile(context.Background(), plsID, ev)
	if !IsRetryable(err) || e.arm.Writes.Load() != 0 {
		t.Fatalf("intent failed: err=%v writes=%d", err, e.arm.Writes.Load())
	}
	// Redelivery: the unrecorded claim is dropped and the decision made afresh.
	if _, err := e.r.Reconcile(context.Background(), plsID, ev); err != nil {
		t.Fatal(err)
	}
	if e.arm.Writes.Load() != 1 || e.arm.Status(plsID, "c1") != StatusApproved {
		t.Fatalf("after recovery: writes=%d", e.arm.Writes.Load())
	}
	wantSteps(t, e.store.history("c1"),
		"connection >Pending observed observed",
		"connection Pending>Approved done rule:customers")
}

func TestRetryableARMErrorResumesRecordedIntent(t *testing.T) {
	e := newEnv(t, testPolicy)
	e.pls(conn("c1", StatusPending, "please approve", peCust))
	e.arm.FailWrites.Store(1)
	_, err := e.r.Reconcile(context.Background(), plsID, ev)
	if !IsRetryable(err) {
		t.Fatalf("want retryable, got %v", err)
	}
	h := e.store.history("c1")
	if len(h) != 2 || h[1].Phase != PhaseIntent {
		t.Fatalf("intent not kept: %q", steps(h))
	}
	// The redelivery resumes the same intent (released lease) instead of deciding again.
	if _, err := e.r.Reconcile(context.Background(), plsID, ev); err != nil {
		t.Fatal(err)
	}
	if e.arm.Writes.Load() != 2 || e.arm.Status(plsID, "c1") != StatusApproved {
		t.Fatalf("writes=%d status=%s", e.arm.Writes.Load(), e.arm.Status(plsID, "c1"))
	}
	wantSteps(t, e.store.history("c1"),
		"connection >Pending observed observed",
		"connection Pending>Approved done rule:customers")
}

func TestIntentSupersededByManualChange(t *testing.T) {
	e := newEnv(t, testPolicy)
	e.pls(conn("c1", StatusPending, "please approve", peCust))
	e.arm.FailWrites.Store(1)
	_, _ = e.r.Reconcile(context.Background(), plsID, ev)
	e.arm.SetStatus(plsID, "c1", StatusRejected) // someone rejects it in the portal meanwhile
	if _, err := e.r.Reconcile(context.Background(), plsID, ev); err != nil {
		t.Fatal(err)
	}
	if e.arm.Writes.Load() != 1 || e.arm.Status(plsID, "c1") != StatusRejected {
		t.Fatal("plsgate overrode a manual rejection")
	}
	wantSteps(t, e.store.history("c1"),
		"connection >Pending observed observed",
		"connection Pending>Approved failed rule:customers",
		"connection Pending>Rejected observed observed")
}

func TestActiveLeaseMeansInProgress(t *testing.T) {
	e := newEnv(t, testPolicy)
	e.pls(conn("c1", StatusPending, "please approve", peCust))
	if _, err := e.r.Reconcile(context.Background(), plsID, ev); err != nil {
		t.Fatal(err)
	}
	// Simulate another invocation holding a fresh claim on a second connection.
	e.arm.Add(&arm.PrivateLinkService{ID: plsID, Name: "contoso-pls", SubscriptionID: sub, Connections: []arm.Connection{conn("c2", StatusPending, "please approve", peCust)}})
	e.store.SeedConnection(store.Connection{PLSID: plsID, Name: "c2", Status: StatusPending, PendingAction: "approve", PendingTransition: "x", PendingSince: e.now(), LeaseHolder: "other", ETag: "W/\"x\""})
	outs, err := e.r.Reconcile(context.Background(), plsID, ev)
	if err != nil {
		t.Fatal(err)
	}
	var c2 Outcome
	for _, o := range outs {
		if o.Connection == "c2" {
			c2 = o
		}
	}
	if c2.Result != InProgress || e.arm.Writes.Load() != 1 {
		t.Fatalf("c2: %+v writes=%d", c2, e.arm.Writes.Load())
	}
	// After the lease expires the unrecorded claim is dropped and the connection decided.
	e.clock = e.clock.Add(time.Minute)
	if _, err := e.r.Reconcile(context.Background(), plsID, ev); err != nil {
		t.Fatal(err)
	}
	if e.arm.Status(plsID, "c2") != StatusApproved {
		t.Fatal("abandoned claim not resumed")
	}
}

func TestObservedDriftReportAndEnforce(t *testing.T) {
	for _, enforce := range []bool{false, true} {
		t.Run(fmt.Sprint("enforce=", enforce), func(t *testing.T) {
			e := newEnv(t, testPolicy)
			e.r.EnforceDrift = enforce
			e.pls(conn("c1", StatusPending, "hello", peCust))
			if _, err := e.r.Reconcile(context.Background(), plsID, Trigger{Kind: "timer"}); err != nil {
				t.Fatal(err)
			}
			e.arm.SetStatus(plsID, "c1", StatusApproved) // approved in the portal
			outs, err := e.r.Reconcile(context.Background(), plsID, Trigger{Kind: "timer"})
			if err != nil {
				t.Fatal(err)
			}
			if enforce {
				if outs[0].Result != Rejected || e.arm.Status(plsID, "c1") != StatusRejected {
					t.Fatalf("enforce: %+v", outs[0])
				}
				wantSteps(t, e.store.history("c1"),
					"connection >Pending observed observed",
					"connection Pending>Approved observed observed",
					"connection Approved>Rejected done drift:default")
				return
			}
			if outs[0].Result != Drift || e.arm.Writes.Load() != 0 {
				t.Fatalf("report: %+v writes=%d", outs[0], e.arm.Writes.Load())
			}
			wantSteps(t, e.store.history("c1"),
				"connection >Pending observed observed",
				"connection Pending>Approved observed observed",
				"drift Approved>Approved drift policy")
			// Reported once, not on every tick.
			outs, _ = e.r.Reconcile(context.Background(), plsID, Trigger{Kind: "timer"})
			if outs[0].Result != Unchanged || len(e.store.history("c1")) != 3 {
				t.Fatalf("drift reported twice: %+v", outs[0])
			}
		})
	}
}

// TestApprovedByPlsgateIsNotDrift: plsgate's approval replaces the connection's description (the
// request message); the next tick still judges the recorded request message, so the connection
// is as decided: unchanged, no write, no drift row.
func TestApprovedByPlsgateIsNotDrift(t *testing.T) {
	e := newEnv(t, testPolicy)
	e.pls(conn("c1", StatusPending, "please approve", peCust))
	outs, err := e.r.Reconcile(context.Background(), plsID, ev)
	if err != nil || len(outs) != 1 || outs[0].Result != Approved {
		t.Fatalf("event: %+v %v, want approved", outs, err)
	}
	if c, err := e.arm.GetConnection(context.Background(), plsID, "c1"); err != nil || c.Status != StatusApproved || c.Description == "please approve" {
		t.Fatalf("ARM after the approval: %+v %v; want Approved with plsgate's description", c, err)
	}
	outs, err = e.r.Reconcile(context.Background(), plsID, Trigger{Kind: "timer"})
	if err != nil || len(outs) != 1 || outs[0].Result != Unchanged {
		t.Fatalf("tick: %+v %v, want unchanged", outs, err)
	}
	if n := e.arm.Writes.Load(); n != 1 {
		t.Fatalf("%d ARM writes, want the approval's 1", n)
	}
	wantSteps(t, e.store.history("c1"),
		"connection >Pending observed observed",
		"connection Pending>Approved done rule:customers")
}

func TestRemovedConnectionObserved(t *testing.T) {
	e := newEnv(t, testPolicy)
	e.pls(conn("c1", StatusPending, "hello", peCust))
	e.r.Reconcile(context.Background(), plsID, ev)
	e.pls() // the consumer deleted its private endpoint
	outs, err := e.r.Reconcile(context.Background(), plsID, Trigger{Kind: "timer"})
	if err != nil || len(outs) != 1 || outs[0].Result != Removed || !outs[0].AlsoObserved || outs[0].To != StatusRemoved {
		t.Fatalf("%+v %v", outs, err)
	}
	outs, _ = e.r.Reconcile(context.Background(), plsID, Trigger{Kind: "timer"})
	if len(outs) != 0 {
		t.Fatalf("removed recorded twice: %+v", outs)
	}
}

func TestDryRunWritesNothingToARM(t *testing.T) {
	e := newEnv(t, testPolicy)
	e.r.DryRun = true
	e.pls(conn("c1", StatusPending, "please approve", peCust))
	outs, err := e.r.Reconcile(context.Background(), plsID, ev)
	if err != nil || outs[0].Result != DryRun || e.arm.Writes.Load() != 0 {
		t.Fatalf("%+v %v writes=%d", outs, err, e.arm.Writes.Load())
	}
	e.r.Reconcile(context.Background(), plsID, ev)
	wantSteps(t, e.store.history("c1"),
		"connection >Pending observed observed",
		"connection Pending>Pending dry-run rule:customers")
}

func TestWebPubSubVerificationAndJourney(t *testing.T) {
	e := newEnv(t, testPolicy)
	e.pls(conn("wps", StatusPending, "wps approve", peSvc), conn("fake", StatusPending, "wps approve", peCust))
	e.arm.AddSharedPrivateLinks(arm.SharedPrivateLinkResource{
		ID: wpsID + "/sharedPrivateLinkResources/pls-pe", Name: "pls-pe", WebPubSubID: wpsID,
		PrivateLinkResourceID: plsID, RequestMessage: "wps approve", Status: StatusPending, ProvisioningState: "Succeeded",
		CreatedAt: time.Date(2026, 11, 25, 11, 0, 0, 0, time.UTC),
	})
	outs, err := e.r.Reconcile(context.Background(), plsID, ev)
	if err != nil {
		t.Fatal(err)
	}
	// Both carry the message: the shared private link resource cannot say
	// which one it made, so neither is approved and a person decides.
	for _, o := range outs {
		if o.Result != Ambiguous {
			t.Fatalf("%s: %s, want ambiguous: %+v", o.Connection, o.Result, outs)
		}
	}
	if w := e.arm.Writes.Load(); w != 0 {
		t.Fatalf("%d ARM writes for ambiguous candidates", w)
	}
	// The other request is withdrawn: the one left is approved, and the Web
	// PubSub side of the journey is followed.
	e.pls(conn("wps", StatusPending, "wps approve", peSvc))
	if _, err := e.r.Reconcile(context.Background(), plsID, ev); err != nil {
		t.Fatal(err)
	}
	if e.arm.Status(plsID, "wps") != StatusApproved || e.arm.Writes.Load() != 1 {
		t.Fatalf("wps is %s after %d writes", e.arm.Status(plsID, "wps"), e.arm.Writes.Load())
	}
	wantSteps(t, e.store.history("wps"),
		"connection >Pending observed observed",
		"connection Pending>Pending ambiguous rule:webpubsub",
		"connection Pending>Approved done rule:webpubsub",
		"sharedPrivateLinkResource Pending>Approved observed observed")
}

func TestApplyManual(t *testing.T) {
	e := newEnv(t, testPolicy)
	e.pls(conn("c1", StatusPending, "hello", peCust), conn("c2", StatusPending, "hello", peCust))
	ctx := context.Background()
	id := func(n string) string { return plsID + "/privateEndpointConnections/" + n }
	_, err := e.r.Apply(ctx, ManualRequest{ConnectionID: id("c1"), Action: policy.Approve, Actor: "principal:alice", Reason: "ticket 1"}, Trigger{Kind: "http"})
	var pe *PolicyError
	if !errors.As(err, &pe) || pe.Decision.Action != policy.Leave {
		t.Fatalf("want PolicyError, got %v", err)
	}
	o, err := e.r.Apply(ctx, ManualRequest{ConnectionID: id("c1"), Action: policy.Approve, Actor: "principal:alice", Reason: "ticket 1", Force: true}, Trigger{Kind: "http"})
	if err != nil || o.Result != Approved {
		t.Fatalf("%+v %v", o, err)
	}
	h := e.store.history("c1")
	if last := h[len(h)-1]; last.Actor != "principal:alice" || last.Phase != PhaseDone {
		t.Fatalf("history %+v", last)
	}
	o, err = e.r.Apply(ctx, ManualRequest{ConnectionID: id("c2"), Action: policy.Reject, Actor: "principal:bob", Reason: "unknown requester", Force: true}, Trigger{Kind: "http"})
	if err != nil || o.Result != Rejected || e.arm.Status(plsID, "c2") != StatusRejected {
		t.Fatalf("%+v %v", o, err)
	}
	if _, err := e.r.Apply(ctx, ManualRequest{ConnectionID: id("nope"), Action: policy.Reject}, Trigger{Kind: "http"}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("want ErrNotFound, got %v", err)
	}
}

func TestConcurrentApproveAndRejectOneWins(t *testing.T) {
	e := newEnv(t, testPolicy)
	e.pls(conn("c1", StatusPending, "hello", peCust))
	id := plsID + "/privateEndpointConnections/c1"
	var wg sync.WaitGroup
	res := make([]error, 2)
	for i, a := range []policy.Action{policy.Approve, policy.Reject} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, res[i] = e.r.Apply(context.Background(), ManualRequest{ConnectionID: id, Action: a, Actor: "principal:x", Reason: "r", Force: true}, Trigger{Kind: "http"})
		}()
	}
	wg.Wait()
	ok := 0
	for _, err := range res {
		var np *NotPendingError
		switch {
		case err == nil:
			ok++
		case errors.As(err, &np), errors.Is(err, ErrInProgress):
		default:
			t.Fatalf("unexpected error %v", err)
		}
	}
	// Either one wins and the other is refused, or the approval lands first
	// and the forced reject then revokes it (issue 17.4): one write per
	// success, each recorded, ending Rejected.
	switch {
	case ok == 1 && e.arm.Writes.Load() == 1:
	case ok == 2 && e.arm.Writes.Load() == 2 && e.arm.Status(plsID, "c1") == StatusRejected:
		wantSteps(t, e.store.history("c1"),
			"connection >Pending observed observed",
			"connection Pending>Approved done principal:x",
			"connection Approved>Rejected done principal:x")
	default:
		t.Fatalf("winners=%d writes=%d", ok, e.arm.Writes.Load())
	}
}

func TestServiceGoneMarksRemoved(t *testing.T) {
	e := newEnv(t, testPolicy)
	e.pls(conn("c1", StatusPending, "hello", peCust))
	e.r.Reconcile(context.Background(), plsID, ev)
	e.arm.Remove(plsID)
	outs, err := e.r.Reconcile(context.Background(), plsID, ev)
	if err != nil || len(outs) != 1 || outs[0].To != StatusRemoved {
		t.Fatalf("%+v %v", outs, err)
	}
}

// An ARM write that hangs ends inside the lease, so no other invocation can
// resume the same intent while it is still in flight; the intent stays and
// the next delivery finishes it.
func TestSlowWriteEndsInsideTheLease(t *testing.T) {
	e := newEnv(t, testPolicy)
	e.r.Now, e.r.Lease = nil, 60*time.Millisecond
	e.pls(conn("c1", StatusPending, "please approve", peCust))
	e.arm.WriteGate = make(chan struct{}) // never opened: the write hangs
	// Without the cut this call would hang forever (the gate never opens).
	_, err := e.r.Reconcile(context.Background(), plsID, ev)
	if !IsRetryable(err) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("want a retryable deadline error, got %v", err)
	}
	e.arm.WriteGate = nil
	if _, err := e.r.Reconcile(context.Background(), plsID, ev); err != nil {
		t.Fatal(err)
	}
	if e.arm.Status(plsID, "c1") != StatusApproved {
		t.Fatal("the recorded intent was not finished")
	}
}
