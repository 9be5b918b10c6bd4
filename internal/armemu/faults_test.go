package armemu

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/network/armnetwork/v7"
)

// getStatuses issues n GETs of pls-a and returns their statuses.
func getStatuses(t *testing.T, url string, n int) []int {
	t.Helper()
	u := url + "/subscriptions/" + ownerSub + "/resourceGroups/" + plsRG + "/providers/Microsoft.Network/privateLinkServices/pls-a?api-version=2025-01-01"
	out := make([]int, n)
	for i := range out {
		out[i], _, _ = rawDo(t, http.MethodGet, u, "Bearer x", "")
	}
	return out
}

func TestFaultsDeterministicBySeed(t *testing.T) {
	rule := FaultRule{Operation: OpPLSGet, Rate429: 0.2, Rate500: 0.1, Rate503: 0.1, RetryAfter: 2}
	run := func(seed uint64) ([]int, map[string]int, map[string]int) {
		e, url := startEmu(t, Options{Seed: 30}, testWorld())
		if err := e.SetFaults(Faults{Seed: seed, Rules: []FaultRule{rule}}); err != nil {
			t.Fatal(err)
		}
		return getStatuses(t, url, 200), e.Counters(), e.FaultCounters()
	}
	a, calls, faults := run(7)
	b, _, _ := run(7)
	c, _, _ := run(8)
	if !slices.Equal(a, b) {
		t.Fatal("same seed gave different fault sequences")
	}
	if slices.Equal(a, c) {
		t.Fatal("different seeds gave the same fault sequence")
	}
	count := map[int]int{}
	for _, s := range a {
		count[s]++
	}
	injected := count[429] + count[500] + count[503]
	if count[200]+injected != 200 || count[429] == 0 || count[500] == 0 || count[503] == 0 || injected < 40 || injected > 120 {
		t.Fatalf("status mix %v", count)
	}
	if calls[OpPLSGet] != 200 || faults[OpPLSGet] != injected {
		t.Fatalf("calls %v faults %v, injected %d", calls, faults, injected)
	}
}

func TestFaultEnvelopes(t *testing.T) {
	e, url := startEmu(t, Options{Seed: 31}, testWorld())
	if err := e.SetFaults(Faults{Rules: []FaultRule{{Operation: "*", Script: []int{429, 500, 503, 0}, RetryAfter: 7}}}); err != nil {
		t.Fatal(err)
	}
	u := url + "/subscriptions/" + ownerSub + "/resourceGroups/" + plsRG + "/providers/Microsoft.Network/privateLinkServices/pls-a?api-version=2025-01-01"
	want := []struct {
		status     int
		code       string
		retryAfter string
	}{
		{429, CodeThrottled, "7"},
		{500, CodeInternalServerError, ""},
		{503, CodeServiceUnavailable, "7"},
		{200, "", ""},
	}
	for i, w := range want {
		st, h, body := rawDo(t, http.MethodGet, u, "Bearer x", "")
		if st != w.status || h.Get("Retry-After") != w.retryAfter {
			t.Fatalf("call %d: %d Retry-After %q", i, st, h.Get("Retry-After"))
		}
		if w.code != "" && errCode(t, body) != w.code {
			t.Fatalf("call %d: %s", i, body)
		}
	}
}

// TestFaultsWithSDKRetry: scripted 503, 429 on the connection update; azcore
// retries (honouring Retry-After: 0) and succeeds; counters are exact.
func TestFaultsWithSDKRetry(t *testing.T) {
	e, url := startEmu(t, Options{Seed: 32}, testWorld())
	if err := e.SetFaults(Faults{Rules: []FaultRule{
		{Operation: OpPLSUpdateConnection, Script: []int{503, 429}, Latency: Duration(1)},
		{Operation: OpPLSGet, Script: []int{500, 500, 500, 500}},
	}}); err != nil {
		t.Fatal(err)
	}
	c := plsClient(t, url, ownerSub)
	ctx := context.Background()
	if err := e.SetConnectionStatus(plsA, "pe-pending.0a1b", "Pending", "still"); err != nil {
		t.Fatal(err) // Go helpers bypass HTTP faults
	}
	body := []byte(`{"properties":{"privateLinkServiceConnectionState":{"status":"Approved","description":"ok"}}}`)
	var upd = mustConn(t, body)
	if _, err := c.UpdatePrivateEndpointConnection(ctx, plsRG, "pls-a", "pe-pending.0a1b", upd, nil); err != nil {
		t.Fatal(err)
	}
	// Four 500s exhaust MaxRetries: 3.
	_, err := c.Get(ctx, plsRG, "pls-a", nil)
	if re := respErr(t, err); re.StatusCode != 500 || re.ErrorCode != CodeInternalServerError {
		t.Fatalf("get: %v", err)
	}
	calls, faults := e.Counters(), e.FaultCounters()
	if !mapsEqual(calls, map[string]int{OpPLSUpdateConnection: 3, OpPLSGet: 4}) || !mapsEqual(faults, map[string]int{OpPLSUpdateConnection: 2, OpPLSGet: 4}) {
		t.Fatalf("calls %v faults %v", calls, faults)
	}
	e.ResetCounters()
	if len(e.Counters()) != 0 || len(e.FaultCounters()) != 0 {
		t.Fatal("reset")
	}
}

func TestFaultsValidate(t *testing.T) {
	tests := []Faults{
		{Rules: []FaultRule{{Rate429: 0.5}}},
		{Rules: []FaultRule{{Operation: "*", Rate429: 1.5}}},
		{Rules: []FaultRule{{Operation: "*", Rate429: 0.6, Rate500: 0.6}}},
		{Rules: []FaultRule{{Operation: "*", Script: []int{200}}}},
	}
	for i, f := range tests {
		if err := New(Options{}).SetFaults(f); err == nil {
			t.Errorf("case %d accepted", i)
		}
	}
	var d Duration
	if err := json.Unmarshal([]byte(`"150ms"`), &d); err != nil || fmt.Sprint(d) != "150000000" {
		t.Fatalf("duration %v %v", d, err)
	}
}

func mustConn(t *testing.T, body []byte) (out armnetwork.PrivateEndpointConnection) {
	t.Helper()
	if err := json.Unmarshal(body, &out); err != nil {
		t.Fatal(err)
	}
	return out
}
