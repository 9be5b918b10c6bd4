package store_test

import (
	"context"
	"net"
	"testing"

	"github.com/plsgate/plsgate/internal/store"
	"github.com/plsgate/plsgate/internal/store/memstore"
	"github.com/plsgate/plsgate/internal/store/storetest"
	"github.com/plsgate/plsgate/internal/testutil/azurite"
)

// One conformance suite for every store: the Azure Table store on Azurite, and the in-memory
// store that every unit test of reconcile rests on, directly and over RPC (as scanbench uses it).
func TestConformance(t *testing.T) {
	t.Run("azurite", func(t *testing.T) {
		storetest.Run(t, func(t *testing.T) storetest.Store {
			s, err := store.New(context.Background(), store.Options{ConnectionString: azurite.Start(t), TablePrefix: azurite.TablePrefix(t)})
			if err != nil {
				t.Fatalf("store.New: %v", err)
			}
			return s
		})
	})
	t.Run("memstore", func(t *testing.T) {
		storetest.Run(t, func(*testing.T) storetest.Store { return memstore.New() })
	})
	t.Run("memstore-rpc", func(t *testing.T) {
		storetest.Run(t, func(t *testing.T) storetest.Store {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			go func() { _ = memstore.Serve(ln, memstore.New()) }()
			t.Cleanup(func() { ln.Close() })
			c, err := memstore.Dial(ln.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { c.Close() })
			return c
		})
	})
}
