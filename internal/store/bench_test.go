package store

import (
	"context"
	"strconv"
	"testing"
	"time"
)

// BenchmarkAppendTransition measures one new history row against Azurite (loopback HTTP + Azurite's
// own cost; Azure adds network latency). The duplicate case is the 409 → read-back path a redelivered
// event takes.
func BenchmarkAppendTransition(b *testing.B) {
	ctx := context.Background()
	s := newStore(b)
	at := time.Now()
	b.Run("new", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			i++
			if _, err := s.AppendTransition(ctx, transition("c", "evt-"+strconv.Itoa(i), at)); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("duplicate", func(b *testing.B) {
		if _, err := s.AppendTransition(ctx, transition("c", "dup", at)); err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		for b.Loop() {
			if created, err := s.AppendTransition(ctx, transition("c", "dup", at)); err != nil || created {
				b.Fatalf("created=%v err=%v", created, err)
			}
		}
	})
}
