// Package storetest is the conformance suite of plsgate's store: the semantics every
// implementation (the Azure Table store on Azurite, the in-memory store used by every unit test of
// reconcile, directly and over RPC) must share — conditional writes and their conflicts,
// deterministic history keys, paging, bindings, runs — and the record-then-act protocol
// (store.Protocol) run over each. Only tests import it.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/plsgate/plsgate/internal/store"
)

// Store is what an implementation offers. ListTransitions, ListBindings, GetRun and LatestRun are
// checked when it has them (the RPC client has not).
type Store interface {
	store.Rows
	ListConnections(ctx context.Context, q store.ConnectionQuery) ([]store.Connection, string, error)
	AddBinding(ctx context.Context, b *store.Binding) error
	GetBinding(ctx context.Context, splID, instance string) (*store.Binding, error)
	SharedLinkSighting(ctx context.Context, splID string) (time.Time, error)
	SightSharedLink(ctx context.Context, splID string, at time.Time) (time.Time, error)
	PutRun(ctx context.Context, r *store.Run) error
	GetCheckpoint(ctx context.Context, scope string) (string, error)
	PutCheckpoint(ctx context.Context, scope, value string) error
}

type transitionLister interface {
	ListTransitions(ctx context.Context, plsID, connection string, limit int) ([]store.Transition, error)
}

type bindingLister interface {
	ListBindings(ctx context.Context, splID string) ([]store.Binding, error)
}

type runReader interface {
	GetRun(ctx context.Context, id string) (*store.Run, error)
	LatestRun(ctx context.Context) (*store.Run, error)
}

// PLS is the private link service the suite's rows belong to.
const PLS = "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg/providers/Microsoft.Network/privateLinkServices/conformance"

const spl = "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg/providers/Microsoft.SignalRService/webPubSub/w/sharedPrivateLinkResources/x"

// t0 is a time with 100 ns precision (Table storage's resolution).
var t0 = time.Date(2026, 11, 25, 12, 0, 0, 123456700, time.UTC)

// Run runs every check against stores from open, a fresh (empty) store per check.
func Run(t *testing.T, open func(t *testing.T) Store) {
	for _, c := range []struct {
		name string
		fn   func(*testing.T, Store)
	}{
		{"ConnectionWrites", connectionWrites},
		{"ConnectionRoundTrip", connectionRoundTrip},
		{"ListConnections", listConnections},
		{"Transitions", transitions},
		{"Bindings", bindings},
		{"RunsAndCheckpoints", runsAndCheckpoints},
		{"ProtocolApprove", protocolApprove},
		{"ProtocolRace", protocolRace},
		{"ProtocolRefusals", protocolRefusals},
		{"ProtocolVoidAndRelease", protocolVoidAndRelease},
		{"ProtocolDoneAfterConflict", protocolDoneAfterConflict},
		{"ProtocolRecords", protocolRecords},
	} {
		t.Run(c.name, func(t *testing.T) { c.fn(t, open(t)) })
	}
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return c
}

func must(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func wantErr(t *testing.T, what string, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("%s: got %v, want %v", what, err, want)
	}
}

func get(t *testing.T, s Store, name string) *store.Connection {
	t.Helper()
	c, err := s.GetConnection(ctx(t), PLS, name)
	must(t, "get "+name, err)
	return c
}

// connectionWrites: Add, a second Add conflicts, If-Match, a stale ETag conflicts, an update of a
// missing row is not found, IDs compare case-insensitively.
func connectionWrites(t *testing.T, s Store) {
	c := &store.Connection{PLSID: PLS, Name: "c1", Status: "Pending"}
	must(t, "add", s.PutConnection(ctx(t), c))
	if c.ETag == "" {
		t.Fatal("add set no ETag")
	}
	wantErr(t, "second add", s.PutConnection(ctx(t), &store.Connection{PLSID: strings.ToUpper(PLS), Name: "c1"}), store.ErrConflict)
	stale := *c
	c.Status = "Approved"
	must(t, "update", s.PutConnection(ctx(t), c))
	if c.ETag == stale.ETag {
		t.Fatal("update kept the ETag")
	}
	wantErr(t, "stale update", s.PutConnection(ctx(t), &stale), store.ErrConflict)
	got, err := s.GetConnection(ctx(t), strings.ToUpper(PLS)+"/", "c1")
	if err != nil || got.Status != "Approved" || got.ETag != c.ETag {
		t.Fatalf("get: %+v %v", got, err)
	}
	_, err = s.GetConnection(ctx(t), PLS, "nope")
	wantErr(t, "get missing", err, store.ErrNotFound)
	wantErr(t, "update missing", s.PutConnection(ctx(t), &store.Connection{PLSID: PLS, Name: "nope", ETag: c.ETag}), store.ErrNotFound)
	// Replace, not merge: a cleared field is gone.
	c.Status = ""
	must(t, "clear", s.PutConnection(ctx(t), c))
	if got := get(t, s, "c1"); got.Status != "" {
		t.Fatalf("cleared status reads %q", got.Status)
	}
}

// connectionRoundTrip: every field reads back as written; a zero UpdatedAt is set by the write.
func connectionRoundTrip(t *testing.T, s Store) {
	c := &store.Connection{
		PLSID: PLS, Name: "pe-1.abc", ConnectionID: PLS + "/privateEndpointConnections/pe-1.abc", Status: "Pending",
		Description: "please approve", PrivateEndpointID: "/subscriptions/s2/resourceGroups/r/providers/Microsoft.Network/privateEndpoints/pe-1",
		RequesterSubscription: "s2", LinkIdentifier: "536870912", LastDecision: "approve", LastRule: "r", LastActor: "rule:r",
		LastEventID: "evt-1", ARMETag: `W/"1"`, PendingAction: "approve", PendingTransition: "7000-abc", PendingDescription: "ok",
		PendingSince: t0, LeaseHolder: "h1", RequestMessage: "please approve", SharedPrivateLinkID: spl, SharedPrivateLinkStatus: "Pending",
		Drift: "leave:", OverrideActor: "principal:alice", OverrideReason: "ticket", OverridePolicy: "leave by default",
		OverrideAt: t0.Add(time.Second), FailedCode: "AuthorizationFailed", FailedTransition: "7000-def", FailedDecision: "d",
		FailedState: "Pending|x", FailedCount: 3, FailedAt: t0.Add(2 * time.Second), UpdatedAt: t0.Add(3 * time.Second),
	}
	must(t, "add", s.PutConnection(ctx(t), c))
	if got := get(t, s, c.Name); *got != *c {
		t.Fatalf("read back differs:\n got %+v\nwant %+v", *got, *c)
	}
	before := time.Now().Add(-time.Minute)
	d := &store.Connection{PLSID: PLS, Name: "no-time"}
	must(t, "add without UpdatedAt", s.PutConnection(ctx(t), d))
	if got := get(t, s, d.Name); got.UpdatedAt.Before(before) || got.UpdatedAt.Sub(d.UpdatedAt).Abs() >= 100*time.Nanosecond {
		t.Fatalf("UpdatedAt %v (written %v), want now", got.UpdatedAt, d.UpdatedAt)
	}
}

// listConnections: one PLS (any casing) or all, by status, in key order, paged with continuations
// that cover every row once; a forged continuation is refused.
func listConnections(t *testing.T, s Store) {
	other := PLS + "-other"
	for _, n := range []string{"c", "a", "d", "b"} {
		must(t, "add "+n, s.PutConnection(ctx(t), &store.Connection{PLSID: PLS, Name: n, Status: map[bool]string{true: "Pending", false: "Approved"}[n < "c"]}))
	}
	must(t, "add other", s.PutConnection(ctx(t), &store.Connection{PLSID: other, Name: "a", Status: "Pending"}))
	names := func(q store.ConnectionQuery) string {
		var out []string
		for pages := 0; ; pages++ {
			items, next, err := s.ListConnections(ctx(t), q)
			must(t, "list", err)
			for _, c := range items {
				out = append(out, c.Name)
			}
			if next == "" {
				return strings.Join(out, " ")
			}
			if pages > 10 {
				t.Fatal("listing does not end")
			}
			q.Continuation = next
		}
	}
	for _, c := range []struct {
		q    store.ConnectionQuery
		want string
	}{
		{store.ConnectionQuery{PLSID: strings.ToUpper(PLS)}, "a b c d"},
		{store.ConnectionQuery{PLSID: PLS, Limit: 3}, "a b c d"},
		{store.ConnectionQuery{PLSID: PLS, Status: "Pending"}, "a b"},
		{store.ConnectionQuery{Status: "Pending"}, "a b a"},
		{store.ConnectionQuery{Limit: 2}, "a b c d a"},
	} {
		if got := names(c.q); got != c.want {
			t.Errorf("list %+v: %q, want %q", c.q, got, c.want)
		}
	}
	items, next, err := s.ListConnections(ctx(t), store.ConnectionQuery{PLSID: PLS, Limit: 1})
	if err != nil || len(items) != 1 || next == "" {
		t.Fatalf("first page: %d items, next %q, %v", len(items), next, err)
	}
	_, _, err = s.ListConnections(ctx(t), store.ConnectionQuery{Continuation: "forged"})
	wantErr(t, "forged continuation", err, store.ErrInvalidContinuation)
}

func transition(conn, cause string, at time.Time) *store.Transition {
	return &store.Transition{PLSID: PLS, Connection: conn, Subject: "connection", From: "Pending", To: "Approved",
		Action: "approve", Phase: store.PhaseIntent, Cause: cause, At: at}
}

// transitions: the row key is TransitionRowKey; a duplicate append finds the row; updates are
// If-Match; history lists newest first.
func transitions(t *testing.T, s Store) {
	tr := transition("c1", "x", t0)
	created, err := s.AppendTransition(ctx(t), tr)
	if err != nil || !created || tr.ETag == "" {
		t.Fatalf("append: %v %v %+v", created, err, tr)
	}
	if want, _ := store.TransitionRowKey(tr); tr.ID != want {
		t.Fatalf("ID %q, want TransitionRowKey %q", tr.ID, want)
	}
	dup := transition("c1", "x", t0)
	dup.Reason = "another delivery"
	if created, err := s.AppendTransition(ctx(t), dup); err != nil || created || dup.ID != tr.ID || dup.ETag != tr.ETag {
		t.Fatalf("duplicate append: %v %v %+v", created, err, dup)
	}
	tr.Phase = store.PhaseDone
	must(t, "update", s.UpdateTransition(ctx(t), tr))
	wantErr(t, "stale update", s.UpdateTransition(ctx(t), dup), store.ErrConflict)
	got, err := s.GetTransition(ctx(t), strings.ToUpper(PLS), tr.ID)
	if err != nil || got.Phase != store.PhaseDone || got.Reason != "" || !got.At.Equal(t0) || got.ETag != tr.ETag {
		t.Fatalf("get: %+v %v", got, err)
	}
	_, err = s.GetTransition(ctx(t), PLS, "0000-none")
	wantErr(t, "get missing", err, store.ErrNotFound)
	missing := transition("c1", "y", t0)
	missing.ID, missing.ETag = "0000-none", tr.ETag
	wantErr(t, "update missing", s.UpdateTransition(ctx(t), missing), store.ErrNotFound)

	l, ok := s.(transitionLister)
	if !ok {
		return
	}
	for i, c := range []string{"b", "c1", "b"} {
		_, err := s.AppendTransition(ctx(t), transition(c, fmt.Sprint(i), t0.Add(time.Duration(i+1)*time.Minute)))
		must(t, "append", err)
	}
	h, err := l.ListTransitions(ctx(t), PLS, "b", 0)
	if err != nil || len(h) != 2 || h[0].Cause != "2" || h[1].Cause != "0" {
		t.Fatalf("history of b: %+v %v", h, err)
	}
	if all, err := l.ListTransitions(ctx(t), PLS+"/", "", 2); err != nil || len(all) != 2 || all[0].Cause != "2" {
		t.Fatalf("history of the PLS: %+v %v", all, err)
	}
}

// bindings: an instance binds once; first sightings are kept.
func bindings(t *testing.T, s Store) {
	b := &store.Binding{SharedPrivateLinkID: spl, CreatedAt: t0, PLSID: PLS, Connection: "c1"}
	must(t, "add", s.AddBinding(ctx(t), b))
	wantErr(t, "second add", s.AddBinding(ctx(t), &store.Binding{SharedPrivateLinkID: strings.ToUpper(spl), CreatedAt: t0, Connection: "c2"}), store.ErrConflict)
	if got, err := s.GetBinding(ctx(t), spl, store.BindingInstance(t0, false)); err != nil || got.Connection != "c1" || !got.CreatedAt.Equal(t0) {
		t.Fatalf("get: %+v %v", got, err)
	}
	_, err := s.GetBinding(ctx(t), spl, store.BindingInstance(t0, true))
	wantErr(t, "get unbound", err, store.ErrNotFound)
	_, err = s.SharedLinkSighting(ctx(t), spl)
	wantErr(t, "no sighting", err, store.ErrNotFound)
	if at, err := s.SightSharedLink(ctx(t), spl, t0); err != nil || !at.Equal(t0) {
		t.Fatalf("sight: %v %v", at, err)
	}
	if at, err := s.SightSharedLink(ctx(t), spl, t0.Add(time.Hour)); err != nil || !at.Equal(t0) {
		t.Fatalf("second sight: %v %v", at, err)
	}
	if l, ok := s.(bindingLister); ok {
		must(t, "add early", s.AddBinding(ctx(t), &store.Binding{SharedPrivateLinkID: spl, CreatedAt: t0.Add(-time.Hour), PLSID: PLS, Connection: "c0"}))
		if bs, err := l.ListBindings(ctx(t), strings.ToUpper(spl)); err != nil || len(bs) != 2 || bs[0].Connection != "c0" {
			t.Fatalf("list (oldest first, no sighting row): %+v %v", bs, err)
		}
	}
}

// runsAndCheckpoints: runs are added then updated with If-Match; checkpoints are last-writer-wins
// and "" deletes.
func runsAndCheckpoints(t *testing.T, s Store) {
	r := &store.Run{StartedAt: t0, Status: "running"}
	must(t, "put run", s.PutRun(ctx(t), r))
	if r.ID == "" || r.ETag == "" {
		t.Fatalf("put run: %+v", r)
	}
	stale := *r
	r.Status = "succeeded"
	must(t, "update run", s.PutRun(ctx(t), r))
	wantErr(t, "stale run", s.PutRun(ctx(t), &stale), store.ErrConflict)
	newer := &store.Run{StartedAt: t0.Add(time.Hour)}
	must(t, "newer run", s.PutRun(ctx(t), newer))
	if rr, ok := s.(runReader); ok {
		if got, err := rr.GetRun(ctx(t), r.ID); err != nil || got.Status != "succeeded" {
			t.Fatalf("get run: %+v %v", got, err)
		}
		if got, err := rr.LatestRun(ctx(t)); err != nil || got.ID != newer.ID {
			t.Fatalf("latest run: %+v %v", got, err)
		}
	}
	for _, v := range []string{"1:5", "2:0"} {
		must(t, "put checkpoint", s.PutCheckpoint(ctx(t), "scope", v))
	}
	if v, err := s.GetCheckpoint(ctx(t), "scope"); err != nil || v != "2:0" {
		t.Fatalf("checkpoint: %q %v", v, err)
	}
	must(t, "delete checkpoint", s.PutCheckpoint(ctx(t), "scope", ""))
	if v, err := s.GetCheckpoint(ctx(t), "scope"); err != nil || v != "" {
		t.Fatalf("deleted checkpoint: %q %v", v, err)
	}
	must(t, "delete again", s.PutCheckpoint(ctx(t), "scope", ""))
}
