package reconcile

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/plsgate/plsgate/internal/policy"
	"github.com/plsgate/plsgate/internal/store"
)

// Issue 17.3, 17.4 and 17.7: not-found is not success, forced decisions are
// not drift, revocation, readable reasons.

// recordingNotifier keeps what would be published.
type recordingNotifier struct {
	mu   sync.Mutex
	outs []Outcome
}

func (n *recordingNotifier) Notify(_ context.Context, o Outcome) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.outs = append(n.outs, o)
}

func (n *recordingNotifier) last() Outcome {
	n.mu.Lock()
	defer n.mu.Unlock()
	if len(n.outs) == 0 {
		return Outcome{}
	}
	return n.outs[len(n.outs)-1]
}

func connID(name string) string { return plsID + "/privateEndpointConnections/" + name }

func (e *env) row(t *testing.T, name string) *store.Connection {
	t.Helper()
	row, err := e.store.GetConnection(context.Background(), plsID, name)
	if err != nil {
		t.Fatal(err)
	}
	return row
}

func countSubject(h []store.Transition, subject string) int {
	n := 0
	for _, t := range h {
		if t.Subject == subject {
			n++
		}
	}
	return n
}

// A person's forced approval is recorded as an override (who, why, what the
// policy said), is reported as such by later reconciles, never as drift, and
// enforce mode leaves it alone.
func TestForcedApprovalIsOverrideNotDrift(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, testPolicy)
	n := &recordingNotifier{}
	e.r.Notifier = n
	e.pls(conn("c1", StatusPending, "hello", peCust)) // the policy leaves it
	e.r.Reconcile(ctx, plsID, ev)

	o, err := e.r.Apply(ctx, ManualRequest{ConnectionID: connID("c1"), Action: policy.Approve, Actor: "principal:alice", Reason: "CAB-42", Force: true}, Trigger{Kind: "http"})
	if err != nil || o.Result != Approved || o.Category != CategoryOverride || o.Actor != "principal:alice" {
		t.Fatalf("forced approval: %+v %v", o, err)
	}
	if got := n.last(); got.Category != CategoryOverride || got.Actor != "principal:alice" || got.Result != Approved {
		t.Errorf("notification: %+v", got)
	}
	row := e.row(t, "c1")
	if row.OverrideActor != "principal:alice" || row.OverrideReason != "CAB-42" || row.OverridePolicy != "leave by default" || row.OverrideAt.IsZero() || !IsOverride(row) {
		t.Fatalf("override not recorded on the row: %+v", row)
	}

	// The next reconcile (the timer ~20 s later) sees an override, not drift.
	outs, err := e.r.Reconcile(ctx, plsID, timer)
	if err != nil || len(outs) != 1 || outs[0].Result != Unchanged || outs[0].Category != CategoryOverride {
		t.Fatalf("after the override: %+v %v", outs, err)
	}
	if want := "Approved by principal:alice against the policy (leave by default): CAB-42"; outs[0].Reason != want {
		t.Errorf("override reason %q, want %q", outs[0].Reason, want)
	}
	if row := e.row(t, "c1"); row.Drift != "" {
		t.Errorf("override recorded as drift %q", row.Drift)
	}
	if n := countSubject(e.store.history("c1"), SubjectDrift); n != 0 {
		t.Errorf("%d drift rows for an override", n)
	}

	// DRIFT_MODE=enforce never rejects an override.
	e.r.EnforceDrift = true
	writes := e.arm.Writes.Load()
	if _, err := e.r.Reconcile(ctx, plsID, timer); err != nil {
		t.Fatal(err)
	}
	if e.arm.Status(plsID, "c1") != StatusApproved || e.arm.Writes.Load() != writes {
		t.Fatalf("enforce rejected the override: %s after %d writes", e.arm.Status(plsID, "c1"), e.arm.Writes.Load()-writes)
	}
}

// The same connection approved in the portal is drift "approved outside
// plsgate", and enforce rejects it: what makes the override safe is the record.
func TestApprovedOutsideIsDriftAndEnforced(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, testPolicy)
	n := &recordingNotifier{}
	e.r.Notifier = n
	e.pls(conn("c1", StatusPending, "hello", peCust))
	e.r.Reconcile(ctx, plsID, ev)
	e.arm.SetStatus(plsID, "c1", StatusApproved)
	outs, err := e.r.Reconcile(ctx, plsID, timer)
	if err != nil || len(outs) != 1 || outs[0].Result != Drift || outs[0].Category != CategoryApprovedOutside || outs[0].Actor != "observed" {
		t.Fatalf("%+v %v", outs, err)
	}
	want := "Approved outside plsgate, but the policy would leave it Pending (the default)."
	if outs[0].Reason != want {
		t.Errorf("drift reason %q, want %q", outs[0].Reason, want)
	}
	if got := n.last(); got.Result != Drift || got.Category != CategoryApprovedOutside {
		t.Errorf("notification %+v", got)
	}
	h := e.store.history("c1")
	if last := h[len(h)-1]; last.Subject != SubjectDrift || last.Reason != want {
		t.Errorf("drift row: %+v", last)
	}
	e.r.EnforceDrift = true
	outs, err = e.r.Reconcile(ctx, plsID, timer)
	if err != nil || outs[0].Result != Rejected || e.arm.Status(plsID, "c1") != StatusRejected || outs[0].Category != CategoryApprovedOutside {
		t.Fatalf("enforce: %+v %v", outs, err)
	}
}

// A connection plsgate approved by rule drifts as "policy changed" once the
// policy no longer approves it.
func TestPolicyChangedDrift(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, testPolicy)
	n := &recordingNotifier{}
	e.r.Notifier = n
	e.pls(conn("c1", StatusPending, "please approve", peCust))
	if outs, _ := e.r.Reconcile(ctx, plsID, ev); outs[0].Result != Approved {
		t.Fatalf("%+v", outs)
	}
	p, err := policy.Parse("new.yaml", []byte("version: 1\ndefault: leave\nrules:\n  - name: nobody\n    match:\n      requestMessage: \"^never$\"\n    action: approve\n"))
	if err != nil {
		t.Fatal(err)
	}
	e.r.Policy = p
	outs, err := e.r.Reconcile(ctx, plsID, timer)
	if err != nil || outs[0].Result != Drift || outs[0].Category != CategoryPolicyChanged || outs[0].Actor != "rule:customers" {
		t.Fatalf("%+v %v", outs, err)
	}
	if want := "Approved by rule:customers, but the policy has changed and would now leave it Pending (the default)."; outs[0].Reason != want {
		t.Errorf("reason %q, want %q", outs[0].Reason, want)
	}
	if got := n.last(); got.Category != CategoryPolicyChanged {
		t.Errorf("notification %+v", got)
	}
}

// Reject with force revokes any Approved connection (override or not) through
// the record-then-act path; without force it is refused and says how.
func TestRevokeApproved(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, testPolicy)
	n := &recordingNotifier{}
	e.r.Notifier = n
	e.pls(conn("ovr", StatusPending, "hello", peCust), conn("rule", StatusPending, "please approve", peCust))
	e.r.Reconcile(ctx, plsID, ev) // "rule" approved by rule customers
	if _, err := e.r.Apply(ctx, ManualRequest{ConnectionID: connID("ovr"), Action: policy.Approve, Actor: "principal:alice", Reason: "CAB-42", Force: true}, Trigger{Kind: "http"}); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"ovr", "rule"} {
		_, err := e.r.Apply(ctx, ManualRequest{ConnectionID: connID(name), Action: policy.Reject, Actor: "principal:bob", Reason: "offboarded"}, Trigger{Kind: "http"})
		var np *NotPendingError
		if !errors.As(err, &np) || !np.Revocable || !strings.Contains(err.Error(), "set force to revoke") {
			t.Fatalf("%s: reject without force: %v", name, err)
		}
		if e.arm.Status(plsID, name) != StatusApproved {
			t.Fatalf("%s changed without force", name)
		}
		writes := e.arm.Writes.Load()
		o, err := e.r.Apply(ctx, ManualRequest{ConnectionID: connID(name), Action: policy.Reject, Actor: "principal:bob", Reason: "offboarded", Force: true}, Trigger{Kind: "http"})
		if err != nil || o.Result != Rejected || o.From != StatusApproved || o.To != StatusRejected || o.Category != CategoryRevoked || o.Actor != "principal:bob" {
			t.Fatalf("%s: revoke: %+v %v", name, o, err)
		}
		if e.arm.Status(plsID, name) != StatusRejected || e.arm.Writes.Load() != writes+1 {
			t.Fatalf("%s: ARM %s after %d writes", name, e.arm.Status(plsID, name), e.arm.Writes.Load()-writes)
		}
		h := e.store.history(name)
		last := h[len(h)-1]
		if last.From != StatusApproved || last.To != StatusRejected || last.Phase != PhaseDone || last.Actor != "principal:bob" || !strings.HasPrefix(last.Reason, "offboarded") {
			t.Fatalf("%s: revocation row %+v", name, last)
		}
		row := e.row(t, name)
		if row.Status != StatusRejected || row.OverrideActor != "" || IsOverride(row) {
			t.Fatalf("%s: row after revocation %+v", name, row)
		}
		if got := n.last(); got.Category != CategoryRevoked || got.Result != Rejected {
			t.Errorf("%s: notification %+v", name, got)
		}
	}
	// Rejected is terminal: a second revocation is refused.
	_, err := e.r.Apply(ctx, ManualRequest{ConnectionID: connID("rule"), Action: policy.Reject, Actor: "principal:bob", Reason: "again", Force: true}, Trigger{Kind: "http"})
	var np *NotPendingError
	if !errors.As(err, &np) || np.Revocable {
		t.Fatalf("revoking a Rejected connection: %v", err)
	}
}

// A revocation whose ARM write failed for now stays on record and the next
// trigger carries it out: the connection is still Approved, as decided upon.
func TestRevokeResumedByNextTrigger(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, testPolicy)
	e.pls(conn("c1", StatusPending, "please approve", peCust))
	e.r.Reconcile(ctx, plsID, ev)
	e.arm.FailWrites.Store(1)
	_, err := e.r.Apply(ctx, ManualRequest{ConnectionID: connID("c1"), Action: policy.Reject, Actor: "principal:bob", Reason: "offboarded", Force: true}, Trigger{Kind: "http"})
	if !IsRetryable(err) {
		t.Fatalf("want a retryable error, got %v", err)
	}
	if row := e.row(t, "c1"); row.PendingAction != string(policy.Reject) {
		t.Fatalf("intent not kept: %+v", row)
	}
	outs, err := e.r.Reconcile(ctx, plsID, timer)
	if err != nil || outs[0].Result != Rejected || e.arm.Status(plsID, "c1") != StatusRejected {
		t.Fatalf("resume: %+v %v (ARM %s)", outs, err, e.arm.Status(plsID, "c1"))
	}
	h := e.store.history("c1")
	if last := h[len(h)-1]; last.From != StatusApproved || last.To != StatusRejected || last.Phase != PhaseDone || last.Actor != "principal:bob" {
		t.Fatalf("history %+v", last)
	}
}

// An override lasts while the connection is Approved: a refused approval
// leaves none, and a change outside plsgate ends it.
func TestOverrideEndsWhenApprovalDoes(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, testPolicy)
	e.pls(conn("c1", StatusPending, "hello", peCust))
	e.r.Reconcile(ctx, plsID, ev)
	e.arm.RefuseWrites = httpErr(403)
	o, err := e.r.Apply(ctx, ManualRequest{ConnectionID: connID("c1"), Action: policy.Approve, Actor: "principal:alice", Reason: "CAB-42", Force: true}, Trigger{Kind: "http"})
	if err == nil || o.Result != Failed {
		t.Fatalf("refused approval: %+v %v", o, err)
	}
	if row := e.row(t, "c1"); row.OverrideActor != "" {
		t.Fatalf("a refused approval left an override: %+v", row)
	}
	e.arm.RefuseWrites = nil
	if _, err := e.r.Apply(ctx, ManualRequest{ConnectionID: connID("c1"), Action: policy.Approve, Actor: "principal:alice", Reason: "CAB-42", Force: true}, Trigger{Kind: "http"}); err != nil {
		t.Fatal(err)
	}
	e.arm.SetStatus(plsID, "c1", StatusDisconnected)
	e.r.Reconcile(ctx, plsID, timer)
	if row := e.row(t, "c1"); row.OverrideActor != "" || row.Status != StatusDisconnected {
		t.Fatalf("override outlived the approval: %+v", row)
	}
}

// Forced reasons keep the person's words and say in a few what the policy
// decided, not its whole explanation.
func TestForcedReasonIsShort(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, testPolicy)
	e.pls(conn("c1", StatusPending, "please approve", peCust), conn("c2", StatusPending, "spam offer", peCust))
	e.r.DryRun = true // decide nothing on our own: the person does
	e.r.Reconcile(ctx, plsID, ev)
	e.r.DryRun = false
	for _, tc := range []struct {
		name   string
		action policy.Action
		want   string
	}{
		{"c1", policy.Reject, "not wanted (forced over policy: approve by rule customers)"},
		{"c2", policy.Approve, "not wanted (forced over policy: reject by rule spam)"},
	} {
		o, err := e.r.Apply(ctx, ManualRequest{ConnectionID: connID(tc.name), Action: tc.action, Actor: "principal:alice", Reason: "not wanted", Force: true}, Trigger{Kind: "http"})
		if err != nil || o.Reason != tc.want {
			t.Fatalf("%s: reason %q (%v), want %q", tc.name, o.Reason, err, tc.want)
		}
		h := e.store.history(tc.name)
		if last := h[len(h)-1]; last.Reason != tc.want || last.Rule != "" {
			t.Errorf("%s: history row %+v", tc.name, last)
		}
	}
	if _, reason, _ := manualDecision(ManualRequest{Action: policy.Approve, Reason: "r"}, policy.Decision{Action: policy.Leave, Reason: "No rule matched (3 tried), so the default applies: ..."}); reason != "r (forced over policy: leave by default)" {
		t.Errorf("default decision: %q", reason)
	}
}

// A PLS that ARM does not know is an error for an operator when plsgate never
// recorded it; one that disappeared lists its connections as removed, also
// on a later ask. Events and the timer stay quiet about both.
func TestServiceNotFound(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, testPolicy)
	typo := strings.Replace(plsID, "contoso-pls", "typo-pls", 1)
	for _, trig := range []Trigger{{Kind: "http"}, {Kind: "cli"}} {
		outs, err := e.r.Reconcile(ctx, typo, trig)
		var nf *ServiceNotFoundError
		if !errors.As(err, &nf) || !errors.Is(err, ErrNotFound) || IsRetryable(err) || len(outs) != 0 || !strings.Contains(err.Error(), "not found") {
			t.Fatalf("%s: %+v %v", trig.Kind, outs, err)
		}
	}
	for _, trig := range []Trigger{ev, timer} {
		if outs, err := e.r.Reconcile(ctx, typo, trig); err != nil || len(outs) != 0 {
			t.Fatalf("%s: %+v %v", trig.Kind, outs, err)
		}
	}

	e.pls(conn("c1", StatusPending, "please approve", peCust), conn("c2", StatusPending, "hello", peCust))
	e.r.Reconcile(ctx, plsID, ev)
	e.arm.Remove(plsID)
	for i := range 2 { // the first ask records the removal, a later one still reports it
		outs, err := e.r.Reconcile(ctx, plsID, Trigger{Kind: "http"})
		if err != nil || len(outs) != 2 {
			t.Fatalf("ask %d: %+v %v", i, outs, err)
		}
		for _, o := range outs {
			if o.Result != Removed || o.To != StatusRemoved || o.AlsoObserved != (i == 0) || !strings.Contains(o.Reason, "no longer exists") {
				t.Errorf("ask %d: %+v", i, o)
			}
		}
	}
	if outs, err := e.r.Reconcile(ctx, plsID, timer); err != nil || len(outs) != 0 {
		t.Fatalf("timer after removal: %+v %v", outs, err)
	}
}
