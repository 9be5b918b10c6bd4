package events

import (
	"syscall"
	"testing"
	"time"
)

// BenchmarkClassifyIrrelevant: decode + classify + discard a ~3 KB resource
// write event of another resource type (a storage account, full claims), the
// bulk of a subscription system topic's traffic. Target: ≥ 200k events/s/core.
func BenchmarkClassifyIrrelevant(b *testing.B) {
	for _, name := range []string{"eg_storage_write.json", "ce_storage_write.json", "eg_rn_storage.json", "eg_connection_write_failure.json"} {
		b.Run(name, func(b *testing.B) { benchClassify(b, name, Irrelevant) })
	}
}

// BenchmarkClassifyRelevant: decode + classify an event that names a private
// link service (data decoded with the azsystemevents types).
func BenchmarkClassifyRelevant(b *testing.B) {
	for _, tc := range []struct {
		name string
		kind Kind
	}{
		{"eg_connection_write.json", ResourceChanged},
		{"eg_private_endpoint_write.json", PrivateEndpointWritten},
		{"eg_rn_pls_pending.json", ResourceNotification},
	} {
		b.Run(tc.name, func(b *testing.B) { benchClassify(b, tc.name, tc.kind) })
	}
}

func benchClassify(b *testing.B, name string, want Kind) {
	payload := load(b, name)
	c := NewClassifier(testScope)
	b.SetBytes(int64(len(payload)))
	b.ReportAllocs()
	cpu0 := cpuTime()
	for b.Loop() {
		evs, err := Decode(payload)
		if err != nil {
			b.Fatal(err)
		}
		h, err := c.Classify(evs[0])
		if err != nil || h.Kind != want {
			b.Fatalf("%v %v", h, err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
	// The machine running the tests may be shared: CPU time, not wall time,
	// says what one core does.
	if cpu := cpuTime() - cpu0; cpu > 0 {
		b.ReportMetric(float64(b.N)/cpu.Seconds(), "events/cpu-s")
	}
}

// cpuTime is the process's user+system CPU time (GC work included).
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
