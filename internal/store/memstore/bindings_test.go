package memstore

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/plsgate/plsgate/internal/store"
)

type bindingAPI interface {
	AddBinding(ctx context.Context, b *store.Binding) error
	GetBinding(ctx context.Context, splID, instance string) (*store.Binding, error)
	SharedLinkSighting(ctx context.Context, splID string) (time.Time, error)
	SightSharedLink(ctx context.Context, splID string, at time.Time) (time.Time, error)
}

// The in-memory bindings behave like internal/store's (TestBindings there),
// directly and over RPC.
func TestBindingSemantics(t *testing.T) {
	const spl = "/subscriptions/s/resourceGroups/r/providers/Microsoft.SignalRService/webPubSub/w/sharedPrivateLinkResources/x"
	for _, mode := range []string{"direct", "rpc"} {
		t.Run(mode, func(t *testing.T) {
			mem := New()
			var s bindingAPI = mem
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
			ctx := context.Background()
			at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
			b := &store.Binding{SharedPrivateLinkID: spl, CreatedAt: at, PLSID: pls, Connection: "c1"}
			if err := s.AddBinding(ctx, b); err != nil || b.ETag == "" {
				t.Fatalf("add: %v %q", err, b.ETag)
			}
			if err := s.AddBinding(ctx, &store.Binding{SharedPrivateLinkID: strings.ToUpper(spl), CreatedAt: at, Connection: "c2"}); !errors.Is(err, store.ErrConflict) {
				t.Fatalf("second add: %v", err)
			}
			if got, err := s.GetBinding(ctx, spl, store.BindingInstance(at, false)); err != nil || got.Connection != "c1" {
				t.Fatalf("get: %+v %v", got, err)
			}
			if _, err := s.GetBinding(ctx, spl, store.BindingInstance(at, true)); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("get unbound: %v", err)
			}
			if _, err := s.SharedLinkSighting(ctx, spl); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("sighting: %v", err)
			}
			first, err := s.SightSharedLink(ctx, spl, at)
			if err != nil || !first.Equal(at) {
				t.Fatalf("sight: %v %v", first, err)
			}
			if again, err := s.SightSharedLink(ctx, spl, at.Add(time.Hour)); err != nil || !again.Equal(at) {
				t.Fatalf("second sight: %v %v", again, err)
			}
			if got, err := s.SharedLinkSighting(ctx, spl); err != nil || !got.Equal(at) {
				t.Fatalf("sighting: %v %v", got, err)
			}
		})
	}
	mem := New()
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for i, c := range []string{"late", "early"} {
		_ = mem.AddBinding(context.Background(), &store.Binding{SharedPrivateLinkID: spl, CreatedAt: at.Add(time.Duration(1-i) * time.Hour), Connection: c})
	}
	if l, _ := mem.ListBindings(context.Background(), strings.ToUpper(spl)); len(l) != 2 || l[0].Connection != "early" {
		t.Fatalf("list: %+v", l)
	}
}
