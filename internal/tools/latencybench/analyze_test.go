package main

import (
	"net/http/httptest"
	"testing"
	"time"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func at(msec int) time.Time { return t0.Add(time.Duration(msec) * time.Millisecond) }

func TestPercentileNearestRank(t *testing.T) {
	s := make([]float64, 200)
	for i := range s {
		s[i] = float64(i + 1)
	}
	for _, c := range []struct{ p, want float64 }{{50, 100}, {95, 190}, {99, 198}, {100, 200}} {
		if got := percentile(s, c.p); got != c.want {
			t.Errorf("p%v of 1..200 = %v, want %v", c.p, got, c.want)
		}
	}
	if got := summarize([]float64{3, 1, 2}); got.P50 != 2 || got.Max != 3 || got.Mean != 2 || got.N != 3 {
		t.Errorf("summarize = %+v", got)
	}
}

// Overlapping calls count once; calls are clipped to the window.
func TestUnionClipsAndMerges(t *testing.T) {
	spans := []span{{Start: at(0), End: at(20)}, {Start: at(10), End: at(30)}, {Start: at(50), End: at(60)}, {Start: at(95), End: at(200)}}
	if got := union(spans, at(5), at(100)); got != 40*time.Millisecond { // 5–30, 50–60, 95–100
		t.Fatalf("union = %v, want 40ms", got)
	}
}

// A compressed redelivery is scaled back: each wait becomes Event Grid's
// nominal delay, processing stays as measured.
func TestRealTimeReplacesRetryWaits(t *testing.T) {
	mine := []handoff{
		{EventID: "e1", Attempt: 0, Start: at(0), End: at(20)},
		{EventID: "e1", Attempt: 1, Start: at(520), End: at(560)},
		{EventID: "e1", Attempt: 2, Start: at(2070), End: at(2100)},
	}
	want := 20*time.Millisecond + 10*time.Second + 40*time.Millisecond + 30*time.Second + 25*time.Millisecond
	if got := realTime(mine, at(2095)); got != want {
		t.Fatalf("realTime = %v, want %v", got, want)
	}
}

func TestAttributedKeepsOnlyTheRequestsEvents(t *testing.T) {
	req := &request{Token: "lb-spl-00007", PLS: 7, Created: at(100), Approved: at(200)}
	hs := []handoff{
		{EventID: "before", Token: "lb-spl-00007", PLS: -1, EventTime: at(100), Start: at(90)}, // handed over before creation
		{EventID: "stale", Token: "", PLS: 7, EventTime: at(50), Start: at(120)},               // raised before creation
		{EventID: "other", Token: "lb-spl-00008", PLS: -1, EventTime: at(110), Start: at(110)}, // another request
		{EventID: "pls", Token: "", PLS: 7, EventTime: at(101), Start: at(110)},                // its PLS
		{EventID: "own", Token: "lb-spl-00007", PLS: -1, EventTime: at(101), Start: at(105)},   // its resource
		{EventID: "after", Token: "lb-spl-00007", PLS: -1, EventTime: at(101), Start: at(200)}, // after approval
		{EventID: "otherpls", Token: "", PLS: 8, EventTime: at(101), Start: at(130)},           // another PLS
	}
	got := attributed(hs, req)
	if len(got) != 2 || got[0].EventID != "pls" || got[1].EventID != "own" {
		t.Fatalf("attributed = %+v, want pls and own (in input order)", got)
	}
}

func TestLabels(t *testing.T) {
	for _, c := range []struct{ method, path, want string }{
		{"PUT", "/subscriptions/s/resourceGroups/g/providers/Microsoft.Network/privateLinkServices/p/privateEndpointConnections/c", "PUT privateLinkServices/privateEndpointConnections"},
		{"GET", "/subscriptions/s/providers/Microsoft.Network/privateLinkServices", "GET privateLinkServices (list)"},
		{"GET", "/subscriptions/s/resourceGroups/g/providers/Microsoft.SignalRService/webPubSub/w/sharedPrivateLinkResources/x", "GET webPubSub/sharedPrivateLinkResources"},
	} {
		if got := armLabel(httptest.NewRequest(c.method, c.path, nil)); got != c.want {
			t.Errorf("armLabel(%s %s) = %q, want %q", c.method, c.path, got, c.want)
		}
	}
	for _, c := range []struct{ method, path, want string }{
		{"GET", "/devstoreaccount1/lba0connections(PartitionKey='a',RowKey='b')", "GET connections(entity)"},
		{"GET", "/devstoreaccount1/lba0connections()", "GET connections"},
		{"POST", "/devstoreaccount1/lba0transitions", "POST transitions"},
	} {
		if got := tableLabel(httptest.NewRequest(c.method, c.path, nil), "lba0"); got != c.want {
			t.Errorf("tableLabel(%s %s) = %q, want %q", c.method, c.path, got, c.want)
		}
	}
}

func TestParseFlagsRefusesBadInput(t *testing.T) {
	for _, args := range [][]string{{"-scenarios", "a,x"}, {"-arm-latency", "50"}, {"-n", "0"}, {"-retry-scale", "2"}, {"-spl-duration", "6m"}, {"extra"}} {
		if _, err := parseFlags(args, testWriter{t}); err == nil {
			t.Errorf("parseFlags(%q) accepted", args)
		}
	}
	o, err := parseFlags([]string{"-scenarios", "b',c", "-arm-latency", "0,50ms"}, testWriter{t})
	if err != nil || len(o.scenarios) != 2 || o.scenarios[0].key != "bp" || len(o.armLatencies) != 2 || o.armLatencies[1] != 50*time.Millisecond {
		t.Fatalf("parseFlags = %+v, %v", o, err)
	}
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) { w.t.Log(string(p)); return len(p), nil }

func TestFailReason(t *testing.T) {
	log := []byte(`{"level":"INFO","msg":"plsgate ready"}
{"level":"ERROR","msg":"invocation failed","invocationId":"1bf872b5-622b-400c-b288-8b855b3a6a15","function":"ResourceEvents","error":"c on p: another invocation holds the claim; redelivery will finish it"}
{"level":"ERROR","msg":"invocation failed","invocationId":"2bf872b5-622b-400c-b288-8b855b3a6a15","function":"ResourceEvents","error":"shared private link resource s is Updating, not yet Succeeded: failing so Event Grid redelivers"}
`)
	failures := invocationFailures(log)
	for _, c := range []struct{ in, want string }{
		{"invocation 1bf872b5-622b-400c-b288-8b855b3a6a15 of ResourceEvents: handler answered 500 (non-2xx …): {\"Logs\":[…", "claim held by a concurrent invocation"},
		{"invocation 2bf872b5-622b-400c-b288-8b855b3a6a15 of ResourceEvents: handler answered 500", "shared private link resource not yet Succeeded"},
		{"call handler: connection refused", "call handler: connection refused"},
	} {
		if got := failReason(c.in, failures); got != c.want {
			t.Errorf("failReason(%s) = %q, want %q", c.in, got, c.want)
		}
	}
}
