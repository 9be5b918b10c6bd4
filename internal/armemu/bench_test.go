package armemu

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
)

// BenchmarkGetPLS: GET one private link service (5 connections) over loopback
// with a keep-alive net/http client, from a 10,000 × 5 world. Reports req/s.
//
//	go test -run XXX -bench GetPLS -cpu 1 ./internal/armemu/
func BenchmarkGetPLS(b *testing.B) {
	_, url := startEmu(b, Options{}, GenerateWorld(10000, 5, 5, nil))
	u := url + "/subscriptions/00000000-0000-0000-0000-0000000000a1/resourceGroups/rg-042/providers/Microsoft.Network/privateLinkServices/pls-04242?api-version=2025-01-01"
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	b.ReportAllocs()
	cpu0 := cpuTime()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		req, _ := http.NewRequest(http.MethodGet, u, nil)
		req.Header.Set("Authorization", "Bearer bench")
		for pb.Next() {
			resp, err := client.Do(req)
			if err != nil {
				b.Error(err)
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				b.Errorf("status %d", resp.StatusCode)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
	// Requests per CPU-second of the process (client + server): stable when
	// other processes compete for the machine.
	if d := cpuTime() - cpu0; d > 0 {
		b.ReportMetric(float64(b.N)/d.Seconds(), "req/cpu-s")
	}
}

// BenchmarkListBySubscription pages through all 10,000 services (page size
// 100) per iteration. Reports PLS/s listed. One untimed listing first must
// return every service of the world exactly once; every timed one must count
// 10,000 in 200 pages.
func BenchmarkListBySubscription(b *testing.B) {
	const n = 10000
	w := GenerateWorld(n, 5, 5, nil)
	_, url := startEmu(b, Options{}, w)
	first := url + "/subscriptions/00000000-0000-0000-0000-0000000000a1/providers/Microsoft.Network/privateLinkServices?api-version=2025-01-01"
	type page struct {
		Value    []json.RawMessage `json:"value"`
		NextLink string            `json:"nextLink"`
	}
	get := func(u string) page {
		req, _ := http.NewRequest(http.MethodGet, u, nil)
		req.Header.Set("Authorization", "Bearer bench")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			body, _ := io.ReadAll(resp.Body)
			b.Fatalf("GET %s: %d %s", u, resp.StatusCode, body)
		}
		var p page
		if err := json.NewDecoder(resp.Body).Decode(&p); err != nil {
			b.Fatal(err)
		}
		return p
	}

	want := map[string]bool{}
	for _, p := range w.PrivateLinkServices {
		want[strings.ToLower(plsIDOf(p.SubscriptionID, p.ResourceGroup, p.Name))] = true
	}
	for next := first; next != ""; {
		p := get(next)
		for _, v := range p.Value {
			var pls struct {
				ID string `json:"id"`
			}
			if err := json.Unmarshal(v, &pls); err != nil {
				b.Fatal(err)
			}
			if id := strings.ToLower(pls.ID); !want[id] {
				b.Fatalf("listed %q: not in the world, or listed twice", pls.ID)
			} else {
				delete(want, id)
			}
		}
		next = p.NextLink
	}
	if len(want) != 0 {
		b.Fatalf("%d of %d services never listed", len(want), n)
	}

	b.ReportAllocs()
	b.ResetTimer()
	total := 0
	for b.Loop() {
		listed, pages := 0, 0
		for next := first; next != ""; pages++ {
			p := get(next)
			listed += len(p.Value)
			next = p.NextLink
		}
		if listed != n || pages != n/DefaultPageSize {
			b.Fatalf("listed %d services in %d pages, want %d in %d", listed, pages, n, n/DefaultPageSize)
		}
		total += listed
	}
	b.ReportMetric(float64(total)/b.Elapsed().Seconds(), "PLS/s")
}

// BenchmarkSeed10k: generate and seed 10,000 × 5; reports retained heap.
func BenchmarkSeed10k(b *testing.B) {
	var retained uint64
	for b.Loop() {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		e := New(Options{})
		if err := e.Seed(GenerateWorld(10000, 5, 5, nil)); err != nil {
			b.Fatal(err)
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		retained = after.HeapAlloc - before.HeapAlloc
		runtime.KeepAlive(e)
	}
	b.ReportMetric(float64(retained)/(1<<20), "MiB-retained")
}

// BenchmarkUpdateConnection: approve/pend one connection through the handler
// (no network), events logged but not delivered.
func BenchmarkUpdateConnection(b *testing.B) {
	e := New(Options{})
	if err := e.Seed(testWorld()); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		st := "Approved"
		if i%2 == 1 {
			st = "Pending"
		}
		i++
		if err := e.SetConnectionStatus(plsA, "pe-pending.0a1b", st, "bench"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkListPageHandler renders one 100-service page of a 10,000 × 5
// world in the handler (no network, no client decode). Reports pages/s.
func BenchmarkListPageHandler(b *testing.B) {
	e := New(Options{})
	if err := e.Seed(GenerateWorld(10000, 5, 5, nil)); err != nil {
		b.Fatal(err)
	}
	h := e.Handler()
	req := httptest.NewRequest(http.MethodGet, "/subscriptions/00000000-0000-0000-0000-0000000000a1/providers/Microsoft.Network/privateLinkServices?api-version=2025-01-01", nil)
	req.Header.Set("Authorization", "Bearer bench")
	b.ReportAllocs()
	for b.Loop() {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != 200 {
			b.Fatal(rec.Code)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "pages/s")
}
