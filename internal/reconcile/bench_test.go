package reconcile

import (
	"context"
	"flag"
	"math"
	"testing"
	"time"

	"github.com/plsgate/plsgate/internal/arm"
	"github.com/plsgate/plsgate/internal/armemu"
	"github.com/plsgate/plsgate/internal/policy"
	"github.com/plsgate/plsgate/internal/store/memstore"
)

// Scan benchmark sizes (issue 7 §6 by default). Smaller runs:
//
//	go test ./internal/reconcile -run '^$' -bench BenchmarkScan -scan.pls 1000 -scan.latency 5ms
var (
	benchPLS          = flag.Int("scan.pls", 10000, "BenchmarkScan: private link services")
	benchConns        = flag.Int("scan.conns", 5, "BenchmarkScan: connections per private link service")
	benchPendingEvery = flag.Int("scan.pending-every", 10, "BenchmarkScan: every n-th connection is Pending")
	benchLatency      = flag.Duration("scan.latency", 50*time.Millisecond, "BenchmarkScan: ARM emulator latency per call")
	benchConcurrency  = flag.Int("scan.concurrency", 8, "BenchmarkScan: RECONCILE_CONCURRENCY")
)

// benchPolicy approves the generated consumers: Pending ones get approved,
// the Approved ones are what the policy wants (no drift).
const benchPolicy = `
version: 1
default: leave
rules:
  - name: consumers
    match:
      requester: { subscriptions: ["00000000-0000-0000-0000-0000000000c1"] }
    action: approve
`

// BenchmarkScan is one timer scan of a generated world through the real ARM
// client (HTTP, azcore pipeline) against the ARM emulator with a fixed
// latency per call, and an in-memory store (internal/store/memstore;
// Azurite would dominate the time). Sub-benchmark "first" converges a fresh
// world (every connection recorded, every Pending one approved); "steady" is
// the next tick (nothing to do: list pages only). Reported per scan: ARM list
// pages, writes and per-PLS GETs, and wall time against the ideal bound
// (pages sequential + writes / concurrency) × latency. Peak RSS of a scanning
// process is measured by `go run ./internal/tools/scanbench` (separate processes).
func BenchmarkScan(b *testing.B) {
	emu := armemu.New(armemu.Options{})
	url, err := emu.Start()
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(emu.Close)
	client, err := arm.New(arm.Options{Endpoint: url, Credential: arm.StaticToken("bench"), AllowHTTP: true})
	if err != nil {
		b.Fatal(err)
	}
	pol, err := policy.Parse("bench.yaml", []byte(benchPolicy))
	if err != nil {
		b.Fatal(err)
	}
	world := armemu.GenerateWorld(*benchPLS, *benchConns, *benchPendingEvery, nil)
	pending := 0
	for _, p := range world.PrivateLinkServices {
		for _, c := range p.Connections {
			if c.Status == "Pending" {
				pending++
			}
		}
	}
	scope := Scope{Subscriptions: []string{world.PrivateLinkServices[0].SubscriptionID}}
	latency := armemu.Faults{Rules: []armemu.FaultRule{{Operation: "*", Latency: armemu.Duration(*benchLatency)}}}
	ctx := context.Background()

	scan := func(b *testing.B, st *memstore.Store, wantWrites int) {
		b.Helper()
		emu.ResetCounters()
		r := &Reconciler{Providers: arm.Providers(client), Store: st, Policy: pol}
		start := time.Now()
		b.StartTimer()
		sum, err := r.Scan(ctx, scope, st, Trigger{Kind: "timer"}, ScanOptions{Concurrency: *benchConcurrency})
		b.StopTimer()
		wall := time.Since(start)
		if err != nil || !sum.Complete || sum.Scanned != *benchPLS || sum.Approved != wantWrites {
			b.Fatalf("scan: %+v %v", RunSummary{Scanned: sum.Scanned, Approved: sum.Approved, Failed: sum.Failed, Complete: sum.Complete}, err)
		}
		c := emu.Counters()
		pages, writes, gets := c[armemu.OpPLSListBySubscription], c[armemu.OpPLSUpdateConnection], c[armemu.OpPLSGet]+c[armemu.OpPLSGetConnection]
		calls := 0
		for _, n := range c {
			calls += n
		}
		ideal := time.Duration(float64(pages)+math.Ceil(float64(writes)/float64(*benchConcurrency))) * *benchLatency
		b.ReportMetric(float64(pages), "pages/op")
		b.ReportMetric(float64(writes), "writes/op")
		b.ReportMetric(float64(gets), "gets/op")
		b.ReportMetric(float64(calls), "arm-calls/op")
		b.ReportMetric(ideal.Seconds(), "ideal-s/op")
		b.ReportMetric(wall.Seconds()/ideal.Seconds(), "wall/ideal")
	}

	b.Run("first", func(b *testing.B) {
		b.StopTimer()
		for range b.N {
			if err := emu.Seed(world); err != nil {
				b.Fatal(err)
			}
			if err := emu.SetFaults(latency); err != nil {
				b.Fatal(err)
			}
			scan(b, memstore.New(), pending)
		}
	})
	b.Run("steady", func(b *testing.B) {
		b.StopTimer()
		if err := emu.Seed(world); err != nil {
			b.Fatal(err)
		}
		st := memstore.New()
		r := &Reconciler{Providers: arm.Providers(client), Store: st, Policy: pol}
		if _, err := r.Scan(ctx, scope, st, Trigger{Kind: "timer"}, ScanOptions{Concurrency: 64}); err != nil {
			b.Fatal(err) // converge first, without latency
		}
		if err := emu.SetFaults(latency); err != nil {
			b.Fatal(err)
		}
		for range b.N {
			scan(b, st, 0)
		}
	})
}
