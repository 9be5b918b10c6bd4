package store

import (
	"errors"
	"strings"
	"testing"
	"time"
)

const testSPL = "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg-wps/providers/Microsoft.SignalRService/webPubSub/wps/sharedPrivateLinkResources/pls-pe"

// One instance binds once (Add; a second Add is a conflict whatever the
// connection), bindings are never listed across resources, and a lookup by
// resource ID is one partition (any casing of the ID).
func TestBindings(t *testing.T) {
	t.Parallel()
	s, ctx := newStore(t), ctxT(t)
	created := time.Date(2026, 1, 2, 3, 4, 5, 678912300, time.UTC)
	b := &Binding{SharedPrivateLinkID: testSPL, CreatedAt: created, PLSID: testPLS, Connection: "wps.1", ConnectionID: testPLS + "/privateEndpointConnections/wps.1",
		RequestMessage: "plsgate-7f3a", Actor: "rule:webpubsub", BoundAt: created.Add(time.Hour)}
	if err := s.AddBinding(ctx, b); err != nil || b.ETag == "" {
		t.Fatalf("add: %v %q", err, b.ETag)
	}
	if err := s.AddBinding(ctx, &Binding{SharedPrivateLinkID: strings.ToUpper(testSPL), CreatedAt: created, PLSID: testPLS, Connection: "squatter"}); !errors.Is(err, ErrConflict) {
		t.Fatalf("second add of the instance: %v, want ErrConflict", err)
	}
	got, err := s.GetBinding(ctx, strings.ToLower(testSPL), BindingInstance(created, false))
	if err != nil || got.Connection != "wps.1" || !got.CreatedAt.Equal(created) || got.FirstSighting || got.RequestMessage != "plsgate-7f3a" ||
		got.Actor != "rule:webpubsub" || !got.BoundAt.Equal(b.BoundAt) || got.ConnectionID != b.ConnectionID || got.SharedPrivateLinkID != testSPL {
		t.Fatalf("get: %+v %v", got, err)
	}
	if _, err := s.GetBinding(ctx, testSPL, BindingInstance(created.Add(time.Second), false)); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unbound instance: %v", err)
	}

	// No systemData: the first sighting is the instance; a second sighting keeps the first.
	if _, err := s.SharedLinkSighting(ctx, testSPL); !errors.Is(err, ErrNotFound) {
		t.Fatalf("sighting before any: %v", err)
	}
	seen, err := s.SightSharedLink(ctx, testSPL, created.Add(2*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if again, err := s.SightSharedLink(ctx, testSPL, created.Add(3*time.Hour)); err != nil || !again.Equal(seen) {
		t.Fatalf("second sighting: %v %v, want %v", again, err, seen)
	}
	if err := s.AddBinding(ctx, &Binding{SharedPrivateLinkID: testSPL, CreatedAt: seen, FirstSighting: true, PLSID: testPLS, Connection: "wps.2"}); err != nil {
		t.Fatal(err)
	}
	// Another resource's binding stays out of this one's partition.
	if err := s.AddBinding(ctx, &Binding{SharedPrivateLinkID: testSPL + "2", CreatedAt: created, PLSID: testPLS, Connection: "x"}); err != nil {
		t.Fatal(err)
	}
	list, err := s.ListBindings(ctx, strings.ToUpper(testSPL))
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].Connection != "wps.1" || list[1].Connection != "wps.2" || !list[1].FirstSighting || !list[1].CreatedAt.Equal(seen) {
		t.Fatalf("list: %+v", list)
	}
	if err := s.AddBinding(ctx, &Binding{SharedPrivateLinkID: testSPL, PLSID: testPLS, Connection: "y"}); err == nil {
		t.Fatal("a binding without an instance time was accepted")
	}
}

func TestBindingInstanceSortsByTime(t *testing.T) {
	a := BindingInstance(time.Date(2026, 1, 2, 3, 4, 5, 100, time.UTC), false)
	b := BindingInstance(time.Date(2026, 1, 2, 3, 4, 5, 200, time.FixedZone("x", 0)), false)
	if a != "created-2026-01-02T03:04:05.0000001Z" || !(a < b) {
		t.Fatalf("%s, %s", a, b)
	}
	if s := BindingInstance(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), true); s != "seen-2026-01-02T03:04:05.0000000Z" {
		t.Fatal(s)
	}
}
