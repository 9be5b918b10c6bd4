package memstore

import (
	"context"
	"errors"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/plsgate/plsgate/internal/store"
)

// api is what reconcile uses, served directly or over RPC.
type api interface {
	ListConnections(ctx context.Context, q store.ConnectionQuery) ([]store.Connection, string, error)
	GetConnection(ctx context.Context, plsID, name string) (*store.Connection, error)
	PutConnection(ctx context.Context, c *store.Connection) error
	AppendTransition(ctx context.Context, t *store.Transition) (bool, error)
	UpdateTransition(ctx context.Context, t *store.Transition) error
	GetTransition(ctx context.Context, plsID, id string) (*store.Transition, error)
	PutRun(ctx context.Context, r *store.Run) error
	GetCheckpoint(ctx context.Context, scope string) (string, error)
	PutCheckpoint(ctx context.Context, scope, value string) error
}

const pls = "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg/providers/Microsoft.Network/privateLinkServices/p"

func TestSemantics(t *testing.T) {
	for _, mode := range []string{"direct", "rpc"} {
		t.Run(mode, func(t *testing.T) {
			mem := New()
			var s api = mem
			if mode == "rpc" {
				ln, err := net.Listen("tcp", "127.0.0.1:0")
				if err != nil {
					t.Fatal(err)
				}
				go func() { _ = Serve(ln, mem) }()
				t.Cleanup(func() { ln.Close() })
				c, err := Dial(ln.Addr().String())
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { c.Close() })
				s = c
			}
			semantics(t, s)
		})
	}
}

func semantics(t *testing.T, s api) {
	ctx := context.Background()
	// Connections: Add, conflict on a second Add, If-Match, case-insensitive partition.
	c := &store.Connection{PLSID: pls, Name: "c1", Status: "Pending"}
	if err := s.PutConnection(ctx, c); err != nil || c.ETag == "" {
		t.Fatalf("add: %v %q", err, c.ETag)
	}
	if err := s.PutConnection(ctx, &store.Connection{PLSID: pls, Name: "c1"}); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("second add: %v", err)
	}
	stale := *c
	c.Status = "Approved"
	if err := s.PutConnection(ctx, c); err != nil {
		t.Fatalf("update: %v", err)
	}
	if err := s.PutConnection(ctx, &stale); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("stale update: %v", err)
	}
	got, err := s.GetConnection(ctx, pls+"/", "c1")
	if err != nil || got.Status != "Approved" || got.ETag != c.ETag {
		t.Fatalf("get: %+v %v", got, err)
	}
	if _, err := s.GetConnection(ctx, pls, "nope"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("get missing: %v", err)
	}
	_ = s.PutConnection(ctx, &store.Connection{PLSID: pls, Name: "a0"})
	_ = s.PutConnection(ctx, &store.Connection{PLSID: pls + "x", Name: "other"})
	items, next, err := s.ListConnections(ctx, store.ConnectionQuery{PLSID: pls})
	if err != nil || next != "" || len(items) != 2 || items[0].Name != "a0" {
		t.Fatalf("list: %+v %q %v", items, next, err)
	}

	// Transitions: deterministic key, a duplicate finds the row, If-Match updates.
	at := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	tr := &store.Transition{PLSID: pls, Connection: "c1", Subject: "connection", From: "Pending", To: "Approved", Action: "approve", Phase: "intent", Cause: "x", At: at}
	if created, err := s.AppendTransition(ctx, tr); err != nil || !created || tr.ID == "" {
		t.Fatalf("append: %v %v %+v", created, err, tr)
	}
	dup := *tr
	dup.ID, dup.ETag = "", ""
	if created, err := s.AppendTransition(ctx, &dup); err != nil || created || dup.ID != tr.ID || dup.ETag != tr.ETag {
		t.Fatalf("duplicate append: %v %v %+v", created, err, dup)
	}
	tr.Phase = "done"
	if err := s.UpdateTransition(ctx, tr); err != nil {
		t.Fatalf("update transition: %v", err)
	}
	if err := s.UpdateTransition(ctx, &dup); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("stale transition update: %v", err)
	}
	if g, err := s.GetTransition(ctx, pls, tr.ID); err != nil || g.Phase != "done" {
		t.Fatalf("get transition: %+v %v", g, err)
	}

	// Runs and checkpoints.
	r := &store.Run{StartedAt: at, Status: "running"}
	if err := s.PutRun(ctx, r); err != nil || r.ID == "" || r.ETag == "" {
		t.Fatalf("put run: %+v %v", r, err)
	}
	r.Status = "succeeded"
	if err := s.PutRun(ctx, r); err != nil {
		t.Fatalf("update run: %v", err)
	}
	if err := s.PutCheckpoint(ctx, "scope", "1:5"); err != nil {
		t.Fatal(err)
	}
	if v, err := s.GetCheckpoint(ctx, "scope"); err != nil || v != "1:5" {
		t.Fatalf("checkpoint: %q %v", v, err)
	}
	if err := s.PutCheckpoint(ctx, "scope", ""); err != nil {
		t.Fatal(err)
	}
	if v, err := s.GetCheckpoint(ctx, "scope"); err != nil || v != "" {
		t.Fatalf("deleted checkpoint: %q %v", v, err)
	}
}

// TestReadsAndFaults covers what only the direct store offers: paging,
// newest-first history, the latest run, and the fault knobs.
func TestReadsAndFaults(t *testing.T) {
	ctx := context.Background()
	s := New()
	for _, n := range []string{"c", "a", "b"} {
		if err := s.PutConnection(ctx, &store.Connection{PLSID: pls, Name: n}); err != nil {
			t.Fatal(err)
		}
	}
	var names []string
	q := store.ConnectionQuery{Limit: 2}
	for {
		items, next, err := s.ListConnections(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range items {
			names = append(names, c.Name)
		}
		if next == "" {
			break
		}
		q.Continuation = next
	}
	if fmt.Sprint(names) != "[a b c]" {
		t.Fatalf("paged names %v", names)
	}
	if _, _, err := s.ListConnections(ctx, store.ConnectionQuery{Continuation: "forged"}); !errors.Is(err, store.ErrInvalidContinuation) {
		t.Fatalf("forged continuation: %v", err)
	}

	at := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	for i, c := range []string{"a", "b", "a"} {
		tr := &store.Transition{PLSID: pls, Connection: c, Subject: "connection", To: "Approved", Action: "approve", Phase: "done", Cause: fmt.Sprint(i), At: at.Add(time.Duration(i) * time.Minute)}
		if _, err := s.AppendTransition(ctx, tr); err != nil {
			t.Fatal(err)
		}
	}
	if h, err := s.ListTransitions(ctx, pls+"/", "a", 0); err != nil || len(h) != 2 || !h[0].At.After(h[1].At) {
		t.Fatalf("history of a: %+v %v", h, err)
	}
	if r, err := s.RecentTransitions(ctx, 1); err != nil || len(r) != 1 || r[0].Cause != "2" {
		t.Fatalf("recent: %+v %v", r, err)
	}

	if _, err := s.LatestRun(ctx); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("no runs: %v", err)
	}
	s.SeedRun(store.Run{ID: "old", StartedAt: at})
	s.SeedRun(store.Run{ID: "new", StartedAt: at.Add(time.Hour)})
	if r, err := s.LatestRun(ctx); err != nil || r.ID != "new" {
		t.Fatalf("latest run: %+v %v", r, err)
	}

	s.FailAppends("intent", 1)
	done := &store.Transition{PLSID: pls, Connection: "c", Subject: "connection", Phase: "done", Cause: "x", At: at}
	intent := &store.Transition{PLSID: pls, Connection: "c", Subject: "connection", Phase: "intent", Cause: "x", At: at}
	if _, err := s.AppendTransition(ctx, done); err != nil {
		t.Fatalf("other phase: %v", err)
	}
	if _, err := s.AppendTransition(ctx, intent); !store.IsUnavailable(err) {
		t.Fatalf("failed intent: %v", err)
	}
	if _, err := s.AppendTransition(ctx, intent); err != nil {
		t.Fatalf("next intent: %v", err)
	}
	s.Down.Store(true)
	if _, err := s.GetRun(ctx, "new"); !store.IsUnavailable(err) {
		t.Fatalf("down: %v", err)
	}
}
