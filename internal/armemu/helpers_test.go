package armemu

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
)

const (
	ownerSub    = "11111111-1111-4111-8111-111111111111"
	consumerSub = "22222222-2222-4222-8222-222222222222"
	autoSub     = "33333333-3333-4333-8333-333333333333"
	plsRG       = "rg-pls"
	wpsRG       = "rg-wps"
)

var (
	plsA = plsIDOf(ownerSub, plsRG, "pls-a")
	plsB = plsIDOf(ownerSub, plsRG, "pls-b") // visible to consumerSub only
	wps1 = wpsIDOf(ownerSub, wpsRG, "wps-1")
)

// staticCred is a fake azcore.TokenCredential (the emulator accepts any token).
type staticCred string

func (s staticCred) GetToken(context.Context, policy.TokenRequestOptions) (azcore.AccessToken, error) {
	return azcore.AccessToken{Token: string(s), ExpiresOn: time.Now().Add(time.Hour)}, nil
}

// armOptions points the real SDK clients at the emulator.
func armOptions(url string) *arm.ClientOptions {
	return &arm.ClientOptions{
		ClientOptions: policy.ClientOptions{
			Cloud: cloud.Configuration{
				ActiveDirectoryAuthorityHost: "https://login.invalid/",
				Services: map[cloud.ServiceName]cloud.ServiceConfiguration{
					cloud.ResourceManager: {Endpoint: url, Audience: "https://management.core.windows.net/"},
				},
			},
			InsecureAllowCredentialWithHTTP: true,
			Retry:                           policy.RetryOptions{MaxRetries: 3, RetryDelay: time.Millisecond, MaxRetryDelay: 5 * time.Millisecond},
		},
		DisableRPRegistration: true,
	}
}

// testWorld: pls-a (visible to anyone, auto-approves autoSub) with one
// connection per status; pls-b visible to consumerSub only; wps-1.
func testWorld() World {
	return World{
		PrivateLinkServices: []*PrivateLinkService{
			{
				ID:           plsA,
				Location:     "westeurope",
				Tags:         map[string]string{"plsgate": "enabled"},
				Visibility:   []string{"*"},
				AutoApproval: []string{autoSub},
				Fqdns:        []string{"api.contoso.example"},
				Alias:        "pls-a.11111111-aaaa-4aaa-8aaa-aaaaaaaaaaaa.westeurope.azure.privatelinkservice",
				Connections: []*Connection{
					{Name: "pe-pending.0a1b", PrivateEndpointID: peIDOf(consumerSub, "rg-consumer", "pe-pending"), Status: "Pending", Description: "please approve", LinkIdentifier: "536870913"},
					{Name: "pe-approved.0a1c", PrivateEndpointID: peIDOf(consumerSub, "rg-consumer", "pe-approved"), Status: "Approved", Description: "ok", LinkIdentifier: "536870914"},
					{Name: "pe-rejected.0a1d", PrivateEndpointID: peIDOf(consumerSub, "rg-consumer", "pe-rejected"), Status: "Rejected", Description: "no", LinkIdentifier: "536870915"},
				},
			},
			{SubscriptionID: ownerSub, ResourceGroup: plsRG, Name: "pls-b", Location: "westeurope", Visibility: []string{consumerSub}},
		},
		WebPubSubs: []*WebPubSub{{ID: wps1, Location: "westeurope", Tags: map[string]string{"env": "test"}}},
	}
}

// startEmu starts a seeded emulator on loopback, stopped at cleanup.
func startEmu(t testing.TB, o Options, w World) (*Emulator, string) {
	t.Helper()
	e := New(o)
	if err := e.Seed(w); err != nil {
		t.Fatalf("seed: %v", err)
	}
	url, err := e.Start()
	if err != nil {
		t.Fatalf("start: %v", err)
	}
	t.Cleanup(e.Close)
	return e, url
}

// rawDo sends one request with a bearer token (unless auth == "") and
// returns status, headers and body.
func rawDo(t testing.TB, method, url, auth, body string) (int, http.Header, []byte) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, b
}

func errCode(t testing.TB, body []byte) string {
	t.Helper()
	var e errorBody
	if err := json.Unmarshal(body, &e); err != nil {
		t.Fatalf("error envelope %q: %v", body, err)
	}
	return e.Error.Code
}

// respErr extracts the ARM error of an SDK call.
func respErr(t testing.TB, err error) *azcore.ResponseError {
	t.Helper()
	var re *azcore.ResponseError
	if !errors.As(err, &re) {
		t.Fatalf("want *azcore.ResponseError, got %T %v", err, err)
	}
	return re
}

// sink is an httptest Event Grid subscriber recording every delivery.
type sink struct {
	mu     sync.Mutex
	bodies [][]byte
	ctypes []string
	counts []string // aeg-delivery-count
	status func(n int) int
}

func (s *sink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	s.mu.Lock()
	n := len(s.bodies)
	s.bodies = append(s.bodies, b)
	s.ctypes = append(s.ctypes, r.Header.Get("Content-Type"))
	s.counts = append(s.counts, r.Header.Get("aeg-delivery-count"))
	st := http.StatusOK
	if s.status != nil {
		st = s.status(n)
	}
	s.mu.Unlock()
	w.WriteHeader(st)
}

func (s *sink) snapshot() ([][]byte, []string, []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([][]byte(nil), s.bodies...), append([]string(nil), s.ctypes...), append([]string(nil), s.counts...)
}

func waitIdle(t testing.TB, e *Emulator) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := e.WaitIdle(ctx); err != nil {
		t.Fatal(err)
	}
}
