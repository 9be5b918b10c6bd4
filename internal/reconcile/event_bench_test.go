package reconcile

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"
)

// BenchmarkReconcileRelevantEvent is the full decision path of one relevant
// event with in-memory ARM and store: read the PLS, load its rows, record the
// first sighting, evaluate the policy, claim, record the intent, write, record
// the outcome. It reports p50/p99 latency and ARM calls per Pending connection.
func BenchmarkReconcileRelevantEvent(b *testing.B) {
	e := newEnv(b, testPolicy)
	e.r.Now = nil // real clock
	ctx := context.Background()
	lat := make([]time.Duration, 0, b.N)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		e.pls(conn(fmt.Sprintf("c%d", i), StatusPending, "please approve", peCust))
		e.store.Reset()
		b.StartTimer()
		start := time.Now()
		outs, err := e.r.Reconcile(ctx, plsID, ev)
		lat = append(lat, time.Since(start))
		if err != nil || len(outs) != 1 || outs[0].Result != Approved {
			b.Fatalf("%+v %v", outs, err)
		}
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Nanoseconds()), "p50-ns")
	b.ReportMetric(float64(lat[len(lat)*99/100].Nanoseconds()), "p99-ns")
	b.ReportMetric(float64(e.arm.Gets.Load())/float64(b.N), "arm-reads/conn")
	b.ReportMetric(float64(e.arm.Writes.Load())/float64(b.N), "arm-writes/conn")
}
