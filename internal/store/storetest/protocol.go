package storetest

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/plsgate/plsgate/internal/store"
)

// clock is a test clock shared by the holders of one check.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(time.Millisecond) // distinct, ordered times
	return c.t
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

const respect = time.Minute

func holder(rows store.Rows, clk *clock, id string) *store.Protocol {
	return &store.Protocol{Rows: rows, Holder: store.Holder{ID: id, Now: clk.now, Respect: respect},
		Origin: store.Origin{Trigger: "event", EventID: "ev-" + id, InvocationID: "inv-" + id}}
}

func seen(name, status string) store.Seen {
	return store.Seen{PLSID: PLS, Name: name, ConnectionID: PLS + "/privateEndpointConnections/" + name, Status: status,
		Description: "please approve", RequestMessage: "please approve", ARMETag: `W/"1"`}
}

func observed(clk *clock, name, from, to string) *store.Transition {
	return &store.Transition{PLSID: PLS, Connection: name, Subject: "connection", From: from, To: to, Action: "observe",
		Actor: "observed", Phase: store.PhaseObserved, Cause: "observed|" + from + "|" + to, At: clk.now()}
}

func intent(p *store.Protocol, name, from, to, action string) *store.Transition {
	return &store.Transition{PLSID: PLS, Connection: name, Subject: "connection", From: from, To: to, Action: action,
		Actor: "rule:r", Rule: "r", Phase: store.PhaseIntent, Cause: "act|" + action, Trigger: p.Origin.Trigger,
		EventID: p.Origin.EventID, At: p.Holder.Now()}
}

func getTr(t *testing.T, s Store, id string) *store.Transition {
	t.Helper()
	tr, err := s.GetTransition(ctx(t), PLS, id)
	must(t, "get transition "+id, err)
	return tr
}

// claimed observes a Pending connection and claims it for an approval with its intent recorded.
func claimed(t *testing.T, p *store.Protocol, clk *clock, name string, c store.Claim) (*store.Connection, *store.Transition) {
	t.Helper()
	row, err := p.Observe(ctx(t), nil, seen(name, "Pending"), observed(clk, name, "", "Pending"))
	must(t, "observe", err)
	return claim(t, p, row, c)
}

func claim(t *testing.T, p *store.Protocol, row *store.Connection, c store.Claim) (*store.Connection, *store.Transition) {
	t.Helper()
	if c.Action == "" {
		c.Action = "approve"
	}
	to := "Approved"
	if c.Action != "approve" {
		to = "Rejected"
	}
	tr, err := p.Claim(ctx(t), row, intent(p, row.Name, row.Status, to, c.Action), c)
	must(t, "claim", err)
	must(t, "record intent", p.RecordIntent(ctx(t), row, tr))
	return row, tr
}

// protocolApprove: observe, claim with a lease, record the intent, finish.
func protocolApprove(t *testing.T, s Store) {
	clk := &clock{t: t0}
	a, b := holder(s, clk, "a"), holder(s, clk, "b")
	obs := observed(clk, "c1", "", "Pending")
	row, err := a.Observe(ctx(t), nil, seen("c1", "Pending"), obs)
	must(t, "observe", err)
	if got := get(t, s, "c1"); got.Status != "Pending" || got.RequestMessage != "please approve" || got.LastActor != "observed" ||
		got.LastEventID != "ev-a" || got.ETag != row.ETag || !got.UpdatedAt.Equal(obs.At) {
		t.Fatalf("observed row: %+v (returned %+v)", got, row)
	}
	if tr := getTr(t, s, obs.ID); tr.Phase != store.PhaseObserved {
		t.Fatalf("observed transition: %+v", tr)
	}
	_, err = b.Observe(ctx(t), nil, seen("c1", "Pending"), observed(clk, "c1", "", "Pending"))
	wantErr(t, "a second first sighting", err, store.ErrConflict)

	before := row.ETag
	tr, err := a.Claim(ctx(t), row, intent(a, "c1", "Pending", "Approved", "approve"),
		store.Claim{Action: "approve", Decision: "d", Description: "approved by r", Rule: "r", Actor: "rule:r",
			Override: &store.Override{Actor: "principal:alice", Reason: "ticket", Policy: "leave by default"}})
	must(t, "claim", err)
	got := get(t, s, "c1")
	if row.ETag == before || got.ETag != row.ETag || got.PendingAction != "approve" || got.PendingTransition != tr.ID ||
		got.PendingDescription != "approved by r" || got.LeaseHolder != "a" || got.PendingSince.IsZero() ||
		got.LastRule != "r" || got.LastActor != "rule:r" || got.OverrideActor != "principal:alice" || got.OverrideAt.IsZero() {
		t.Fatalf("claimed row: %+v", got)
	}
	if !b.Holder.HeldByOther(got) || a.Holder.HeldByOther(got) {
		t.Fatal("the claim's lease: held by other for b, not for a")
	}
	if _, err := s.GetTransition(ctx(t), PLS, tr.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("the intent row exists before RecordIntent: %v", err)
	}
	must(t, "record intent", a.RecordIntent(ctx(t), row, tr))
	if it := getTr(t, s, tr.ID); it.Phase != store.PhaseIntent || it.To != "Approved" {
		t.Fatalf("intent row: %+v", it)
	}
	clk.advance(respect)
	if b.Holder.HeldByOther(got) {
		t.Fatal("a lease past Respect still held")
	}

	done, err := a.Done(ctx(t), row, tr, store.Landed{Status: "Approved", Description: "approved by r", ARMETag: `W/"2"`})
	if err != nil || done != row {
		t.Fatalf("done: %v (row %p, returned %p)", err, row, done)
	}
	got = get(t, s, "c1")
	if got.Status != "Approved" || got.Description != "approved by r" || got.ARMETag != `W/"2"` || got.PendingAction != "" ||
		got.PendingTransition != "" || got.PendingDescription != "" || !got.PendingSince.IsZero() || got.LeaseHolder != "" ||
		got.LastDecision != "approve" || got.OverrideActor != "principal:alice" || got.RequestMessage != "please approve" || got.ETag != row.ETag {
		t.Fatalf("finished row: %+v", got)
	}
	if it := getTr(t, s, tr.ID); it.Phase != store.PhaseDone {
		t.Fatalf("intent row after done: %+v", it)
	}

	// Revoked: leaving Approved ends the override.
	row, tr = claim(t, a, row, store.Claim{Action: "reject", Decision: "r", Actor: "principal:bob"})
	if get(t, s, "c1").OverrideActor == "" {
		t.Fatal("a reject claim ended the override before it landed")
	}
	if _, err := a.Done(ctx(t), row, tr, store.Landed{Status: "Rejected"}); err != nil {
		t.Fatal(err)
	}
	if got := get(t, s, "c1"); got.Status != "Rejected" || got.OverrideActor != "" || !got.OverrideAt.IsZero() {
		t.Fatalf("revoked row: %+v", got)
	}
}

// protocolRace: of two holders that read the same row one claims; the other gets ErrConflict
// with its row untouched, sees the live claim, and may take it over only after the lease.
func protocolRace(t *testing.T, s Store) {
	clk := &clock{t: t0}
	a, b := holder(s, clk, "a"), holder(s, clk, "b")
	row, err := a.Observe(ctx(t), nil, seen("c1", "Pending"), observed(clk, "c1", "", "Pending"))
	must(t, "observe", err)
	rowB := *row
	_, tr := claim(t, a, row, store.Claim{Decision: "d"})
	before := rowB
	if _, err := b.Claim(ctx(t), &rowB, intent(b, "c1", "Pending", "Approved", "approve"), store.Claim{Action: "approve", Decision: "d"}); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("second claim: %v", err)
	}
	if rowB != before {
		t.Fatalf("a failed claim changed the caller's row: %+v", rowB)
	}
	fresh := get(t, s, "c1")
	if !b.Holder.HeldByOther(fresh) || fresh.LeaseHolder != "a" {
		t.Fatalf("b does not see a's claim: %+v", fresh)
	}
	clk.advance(respect)
	if b.Holder.HeldByOther(fresh) {
		t.Fatal("a's lease ran out, yet b sees it held")
	}
	must(t, "renew", b.Renew(ctx(t), fresh))
	if got := get(t, s, "c1"); got.LeaseHolder != "b" || got.PendingTransition != tr.ID || !a.Holder.HeldByOther(got) {
		t.Fatalf("renewed claim: %+v", got)
	}
	a.Release(ctx(t), row) // stale: b holds it now
	if got := get(t, s, "c1"); got.LeaseHolder != "b" || got.PendingSince.IsZero() {
		t.Fatalf("a stale release took b's lease: %+v", got)
	}
	stale := *row
	wantErr(t, "stale renew", a.Renew(ctx(t), &stale), store.ErrConflict)
}

// protocolRefusals: a refused decision is one failed row per code, counted on the row; a retry of
// the same decision reuses it as the intent; success after a refusal gets a done row of its own.
func protocolRefusals(t *testing.T, s Store) {
	clk := &clock{t: t0}
	p := holder(s, clk, "a")
	ov := &store.Override{Actor: "principal:alice"}
	row, tr := claimed(t, p, clk, "c1", store.Claim{Decision: "d1", Override: ov})
	first := tr.ID
	refuse := func(code string) {
		t.Helper()
		must(t, "fail "+code, p.Fail(ctx(t), row, tr, store.Refusal{Code: code, Reason: "intent; refused " + code,
			NewReason: "refused " + code, State: "Pending|x", Decision: "d1"}))
	}
	refuse("AuthorizationFailed")
	got := get(t, s, "c1")
	if got.PendingAction != "" || got.LeaseHolder != "" || got.FailedCode != "AuthorizationFailed" || got.FailedCount != 1 ||
		got.FailedTransition != first || got.FailedDecision != "d1" || got.FailedState != "Pending|x" || got.FailedAt.IsZero() ||
		got.LastDecision != "failed:approve" || got.OverrideActor != "" || got.ETag != row.ETag {
		t.Fatalf("refused row: %+v", got)
	}
	if f := getTr(t, s, first); f.Phase != store.PhaseFailed || f.Reason != "intent; refused AuthorizationFailed" {
		t.Fatalf("failed row: %+v", f)
	}

	// The same decision again reuses the failed row as its intent; the same code counts.
	row, tr = claim(t, p, row, store.Claim{Decision: "d1"})
	if tr.ID != first || getTr(t, s, first).Phase != store.PhaseIntent {
		t.Fatalf("a retry did not reuse the refused row %s: %+v", first, tr)
	}
	refuse("AuthorizationFailed")
	if got := get(t, s, "c1"); got.FailedCount != 2 || got.FailedTransition != first {
		t.Fatalf("second refusal: %+v", got)
	}
	if f := getTr(t, s, first); f.Phase != store.PhaseFailed || f.Reason != "intent; refused AuthorizationFailed" {
		t.Fatalf("failed row after a second refusal: %+v", f)
	}

	// Another code: a failed row of its own.
	row, tr = claim(t, p, row, store.Claim{Decision: "d1"})
	refuse("LinkedAuthorizationFailed")
	got = get(t, s, "c1")
	if got.FailedCode != "LinkedAuthorizationFailed" || got.FailedCount != 1 || got.FailedTransition == first {
		t.Fatalf("refusal with another code: %+v", got)
	}
	second := got.FailedTransition
	if f := getTr(t, s, second); f.Phase != store.PhaseFailed || f.Reason != "refused LinkedAuthorizationFailed" || f.EventID != "ev-a" {
		t.Fatalf("second failed row: %+v", f)
	}
	if f := getTr(t, s, first); f.Phase != store.PhaseFailed {
		t.Fatalf("first failed row: %+v", f)
	}

	// Another decision is a new intent.
	other, err := p.Claim(ctx(t), got, intent(p, "c1", "Pending", "Approved", "approve"), store.Claim{Action: "approve", Decision: "d2"})
	must(t, "claim d2", err)
	if other.ID == first || other.ID == second || other.ETag != "" {
		t.Fatalf("another decision reused a refused row: %+v", other)
	}
	p.Release(ctx(t), got)
	row = get(t, s, "c1")
	must(t, "void d2", p.Void(ctx(t), row, nil, ""))

	// Success on a later try: the refusal row stays failed, a done row is added, the memory clears.
	row, tr = claim(t, p, row, store.Claim{Decision: "d1"})
	if tr.ID != second {
		t.Fatalf("retry reused %s, want %s", tr.ID, second)
	}
	if _, err := p.Done(ctx(t), row, tr, store.Landed{Status: "Approved", AfterRefusal: "Approved on a later try"}); err != nil {
		t.Fatal(err)
	}
	got = get(t, s, "c1")
	if got.Status != "Approved" || got.FailedCode != "" || got.FailedTransition != "" || got.FailedCount != 0 || !got.FailedAt.IsZero() ||
		got.FailedDecision != "" || got.FailedState != "" {
		t.Fatalf("row after success: %+v", got)
	}
	if f := getTr(t, s, second); f.Phase != store.PhaseFailed {
		t.Fatalf("refusal row after success: %+v", f)
	}
	if l, ok := s.(transitionLister); ok {
		h, err := l.ListTransitions(ctx(t), PLS, "c1", 0)
		must(t, "history", err)
		var phases []string
		for _, x := range h {
			phases = append(phases, x.Phase+":"+x.Reason)
		}
		if len(h) != 4 || h[0].Phase != store.PhaseDone || h[0].Reason != "Approved on a later try" || h[0].Cause != "done|"+second {
			t.Fatalf("history (newest first): %q", phases)
		}
	}
}

// protocolVoidAndRelease: dropping claims that will not act, releasing a lease, and a failed
// intent write releasing it.
func protocolVoidAndRelease(t *testing.T, s Store) {
	clk := &clock{t: t0}
	p := holder(s, clk, "a")

	// An intent that never landed: the claim is dropped, the approval's override with it.
	row, err := p.Observe(ctx(t), nil, seen("c1", "Pending"), observed(clk, "c1", "", "Pending"))
	must(t, "observe", err)
	_, err = p.Claim(ctx(t), row, intent(p, "c1", "Pending", "Approved", "approve"), store.Claim{Action: "approve", Override: &store.Override{Actor: "principal:alice"}})
	must(t, "claim", err)
	must(t, "void unrecorded", p.Void(ctx(t), row, nil, ""))
	if got := get(t, s, "c1"); got.PendingAction != "" || got.PendingTransition != "" || got.LeaseHolder != "" || got.OverrideActor != "" {
		t.Fatalf("voided row: %+v", got)
	}

	// A recorded intent superseded: failed with the reason, claim dropped.
	_, err = p.Claim(ctx(t), row, intent(p, "c1", "Pending", "Approved", "approve"), store.Claim{Action: "approve"})
	must(t, "claim", err)
	if it, err := p.Intent(ctx(t), row); it != nil || err != nil {
		t.Fatalf("intent before RecordIntent: %+v %v", it, err)
	}
	must(t, "void", p.Void(ctx(t), row, nil, ""))
	row, tr := claim(t, p, row, store.Claim{})
	if it, err := p.Intent(ctx(t), row); err != nil || it == nil || it.ID != tr.ID || it.Phase != store.PhaseIntent {
		t.Fatalf("intent: %+v %v", it, err)
	}
	stale := *row
	stale.ETag = `W/"stale"`
	wantErr(t, "void on a stale row", p.Void(ctx(t), &stale, nil, ""), store.ErrConflict)
	other := *tr
	other.ID = "0000-other"
	if err := p.Void(ctx(t), row, &other, "x"); err == nil || errors.Is(err, store.ErrConflict) {
		t.Fatalf("void of an intent the claim does not name: %v", err)
	}
	must(t, "void superseded", p.Void(ctx(t), row, tr, "superseded"))
	if it := getTr(t, s, tr.ID); it.Phase != store.PhaseFailed || it.Reason != "superseded" {
		t.Fatalf("superseded intent: %+v", it)
	}
	if got := get(t, s, "c1"); got.PendingAction != "" {
		t.Fatalf("superseded claim kept: %+v", got)
	}

	// A reject's claim dropped keeps an override (it holds while Approved).
	row2, err := p.Observe(ctx(t), nil, seen("c2", "Approved"), observed(clk, "c2", "", "Approved"))
	must(t, "observe c2", err)
	next := *row2
	next.OverrideActor = "principal:alice"
	must(t, "seed override", s.PutConnection(ctx(t), &next))
	row2 = &next
	_, err = p.Claim(ctx(t), row2, intent(p, "c2", "Approved", "Rejected", "reject"), store.Claim{Action: "reject"})
	must(t, "claim reject", err)
	must(t, "void reject", p.Void(ctx(t), row2, nil, ""))
	if got := get(t, s, "c2"); got.OverrideActor != "principal:alice" || got.PendingAction != "" {
		t.Fatalf("dropped revocation: %+v", got)
	}

	// Release keeps the intent, frees the lease.
	row, tr = claim(t, p, row, store.Claim{Decision: "d"})
	p.Release(ctx(t), row)
	got := get(t, s, "c1")
	if got.PendingTransition != tr.ID || !got.PendingSince.IsZero() || got.LeaseHolder != "" || got.ETag != row.ETag ||
		holder(s, clk, "b").Holder.HeldByOther(got) {
		t.Fatalf("released row: %+v", got)
	}

	// An intent that cannot be written: no intent row, the lease released.
	must(t, "void", p.Void(ctx(t), row, tr, "x"))
	failing := holder(failAppends{s}, clk, "a")
	tr2, err := failing.Claim(ctx(t), row, intent(failing, "c1", "Pending", "Approved", "approve"), store.Claim{Action: "approve", Decision: "e"})
	must(t, "claim", err)
	if err := failing.RecordIntent(ctx(t), row, tr2); err == nil {
		t.Fatal("record intent: no error")
	}
	got = get(t, s, "c1")
	if got.PendingTransition != tr2.ID || !got.PendingSince.IsZero() || got.LeaseHolder != "" {
		t.Fatalf("lease after a failed intent: %+v", got)
	}
	if err := p.RecordIntent(ctx(t), got, tr); err == nil {
		t.Fatal("recorded an intent the claim does not name")
	}
}

type failAppends struct{ store.Rows }

func (failAppends) AppendTransition(context.Context, *store.Transition) (bool, error) {
	return false, errors.New("appends fail")
}

// protocolDoneAfterConflict: a row written by someone else after the claim is re-read; Done
// records there while the row holds its intent and no other live claim, and leaves it otherwise.
func protocolDoneAfterConflict(t *testing.T, s Store) {
	clk := &clock{t: t0}
	a, b := holder(s, clk, "a"), holder(s, clk, "b")
	row, tr := claimed(t, a, clk, "c1", store.Claim{SharedPrivateLinkID: spl, SharedPrivateLinkStatus: "Pending"})
	other := get(t, s, "c1")
	must(t, "another writer", b.ObserveSharedLink(ctx(t), other, "Approved", nil))
	done, err := a.Done(ctx(t), row, tr, store.Landed{Status: "Approved"})
	if err != nil || done == nil {
		t.Fatalf("done after a conflict: %v %v", done, err)
	}
	if got := get(t, s, "c1"); got.Status != "Approved" || got.PendingAction != "" || got.SharedPrivateLinkStatus != "Approved" {
		t.Fatalf("row: %+v", got)
	}

	// Another holder took the claim over: its writer records it.
	row, tr = claimed(t, a, clk, "c2", store.Claim{})
	clk.advance(respect)
	taken := get(t, s, "c2")
	must(t, "take over", b.Renew(ctx(t), taken))
	if done, err := a.Done(ctx(t), row, tr, store.Landed{Status: "Approved"}); err != nil || done != nil {
		t.Fatalf("done under another's live claim: %v %v", done, err)
	}
	if got := get(t, s, "c2"); got.Status != "Pending" || got.LeaseHolder != "b" {
		t.Fatalf("row under b's claim: %+v", got)
	}
	if it := getTr(t, s, tr.ID); it.Phase != store.PhaseDone {
		t.Fatalf("intent: %+v", it)
	}
	// b finishes it with the intent as it read it before a's record: that conflict is a's record.
	read := *tr
	read.Phase, read.ETag = store.PhaseIntent, `W/"stale"`
	if _, err := b.Done(ctx(t), taken, &read, store.Landed{Status: "Approved"}); err != nil {
		t.Fatal(err)
	}
	if got := get(t, s, "c2"); got.Status != "Approved" || got.PendingAction != "" {
		t.Fatalf("row after b: %+v", got)
	}
}

// protocolRecords: decisions, drift, the shared private link side, observations of changes and of
// a removal, and lost history rows.
func protocolRecords(t *testing.T, s Store) {
	clk := &clock{t: t0}
	var lost strings.Builder
	p := holder(s, clk, "a")
	p.Log = slog.New(slog.NewTextHandler(&lost, nil))
	row, err := p.Observe(ctx(t), nil, seen("c1", "Pending"), observed(clk, "c1", "", "Pending"))
	must(t, "observe", err)
	stale := *row

	dec := &store.Transition{PLSID: PLS, Connection: "c1", Subject: "connection", From: "Pending", To: "Pending", Action: "leave",
		Phase: "ambiguous", Cause: "ambiguous:1", At: clk.now()}
	must(t, "decide", p.Decide(ctx(t), row, "ambiguous:1", "r", dec))
	if got := get(t, s, "c1"); got.LastDecision != "ambiguous:1" || got.LastRule != "r" || got.ETag != row.ETag {
		t.Fatalf("decided row: %+v", got)
	}
	if getTr(t, s, dec.ID).Phase != "ambiguous" {
		t.Fatal("decision row missing")
	}
	wantErr(t, "stale decide", p.Decide(ctx(t), &stale, "leave:", "", nil), store.ErrConflict)
	wantErr(t, "stale drift", p.Drift(ctx(t), &stale, "leave:", nil), store.ErrConflict)

	// Approved outside plsgate: observed; the request message stays the first one.
	ch := seen("c1", "Approved")
	ch.Description, ch.RequestMessage = "changed", "changed"
	next := *row
	next.OverrideActor = "principal:alice" // a change outside plsgate ends it
	must(t, "seed override", s.PutConnection(ctx(t), &next))
	row = &next
	if _, err := p.Observe(ctx(t), row, ch, observed(clk, "c1", "Pending", "Approved")); err != nil {
		t.Fatal(err)
	}
	if got := get(t, s, "c1"); got.Status != "Approved" || got.Description != "changed" || got.RequestMessage != "please approve" || got.OverrideActor != "" {
		t.Fatalf("observed change: %+v", got)
	}

	drift := &store.Transition{PLSID: PLS, Connection: "c1", Subject: "drift", From: "Approved", To: "Approved", Action: "leave",
		Phase: store.PhaseDrift, Cause: "drift|leave:", At: clk.now()}
	must(t, "drift", p.Drift(ctx(t), row, "leave:", drift))
	if get(t, s, "c1").Drift != "leave:" || getTr(t, s, drift.ID).Phase != store.PhaseDrift {
		t.Fatal("drift not recorded")
	}
	must(t, "clear drift", p.Drift(ctx(t), row, "", nil))
	if got := get(t, s, "c1"); got.Drift != "" {
		t.Fatalf("drift not cleared: %+v", got)
	}

	// The shared private link side: written in place; a conflict is the other writer's.
	spl1 := &store.Transition{PLSID: PLS, Connection: "c1", Subject: "sharedPrivateLinkResource", From: "", To: "Approved",
		Action: "observe", Phase: store.PhaseObserved, Cause: "spl|x", At: clk.now()}
	old := *row
	must(t, "shared link", p.ObserveSharedLink(ctx(t), row, "Approved", spl1))
	if row.SharedPrivateLinkStatus != "Approved" || get(t, s, "c1").ETag != row.ETag {
		t.Fatalf("shared link status not written in place: %+v", row)
	}
	spl2 := *spl1
	spl2.Cause, spl2.ID = "spl|y", ""
	if err := p.ObserveSharedLink(ctx(t), &old, "Rejected", &spl2); err != nil || old.SharedPrivateLinkStatus != "" {
		t.Fatalf("conflicting shared link write: %v %+v", err, old)
	}
	if spl2.ID != "" || get(t, s, "c1").SharedPrivateLinkStatus != "Approved" {
		t.Fatal("a lost shared link write recorded its history or its status")
	}

	// Removed with a claim on it: the claim goes with it.
	row, _ = claim(t, p, row, store.Claim{Action: "reject"})
	gone := seen("c1", "Removed")
	gone.Gone = true
	if _, err := p.Observe(ctx(t), row, gone, observed(clk, "c1", "Approved", "Removed")); err != nil {
		t.Fatal(err)
	}
	if got := get(t, s, "c1"); got.Status != "Removed" || got.PendingAction != "" || got.PendingTransition != "" || got.LeaseHolder != "" {
		t.Fatalf("removed row: %+v", got)
	}

	// A history row that cannot be written after its row was: reported, not an error.
	q := holder(failAppends{s}, clk, "a")
	q.Log = p.Log
	if lost.Len() != 0 {
		t.Fatalf("history rows reported lost: %s", lost.String())
	}
	if _, err := q.Observe(ctx(t), nil, seen("c3", "Pending"), observed(clk, "c3", "", "Pending")); err != nil {
		t.Fatal(err)
	}
	if l := lost.String(); strings.Count(l, "transition not recorded") != 1 || !strings.Contains(l, "connection=c3") ||
		!strings.Contains(l, "phase=observed") || get(t, s, "c3").Status != "Pending" {
		t.Fatalf("lost history rows: %s", l)
	}
}
