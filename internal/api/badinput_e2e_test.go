package api_test

// Bad input is the caller's error and secrets never leave (issue 13, item 6), end to end:
// through the Functions host emulator, the real handler, the app, Table storage (Azurite or
// a Table endpoint that errors and then dies) and the ARM emulator.

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	azpolicy "github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"

	"github.com/plsgate/plsgate/handler"
	"github.com/plsgate/plsgate/internal/app"
	"github.com/plsgate/plsgate/internal/config"
	"github.com/plsgate/plsgate/internal/hostemu"
	"github.com/plsgate/plsgate/internal/testenv"
)

// overlongIDs: a connection name and a PLS ID whose Table keys exceed 1 KiB only once escaped
// (every '%' becomes three characters): the raw strings would fit.
func overlongIDs() (connID, plsID string) {
	connID = testenv.PLSID + "/privateEndpointConnections/pe." + strings.Repeat("%", 400)
	plsID = "/subscriptions/" + testenv.Subscription + "/resourceGroups/" + testenv.ResourceGroup +
		"/providers/Microsoft.Network/privateLinkServices/pls" + strings.Repeat("%", 200)
	return connID, plsID
}

// An ID that cannot be a Table key is a 400 naming the field on every route that takes one,
// before any ARM or Table call. Before: 503 (the store's "too large" error wrapped as
// retryable) or 500.
func TestOverlongResourceIDsAreBadRequests(t *testing.T) {
	env := testenv.Start(t, testenv.Options{Policy: e2ePolicy, NoEvents: true})
	connID, plsID := overlongIDs()
	cases := []struct {
		name, method, path, field string
		body                      any
	}{
		{"approve", "POST", "/api/v1/connections/approve", "connectionId", map[string]any{"connectionId": connID, "reason": "ticket 1"}},
		{"reject", "POST", "/api/v1/connections/reject", "connectionId", map[string]any{"connectionId": connID, "reason": "ticket 1"}},
		{"evaluate", "POST", "/api/v1/evaluate", "connectionId", map[string]any{"connectionId": connID}},
		{"history", "GET", "/api/v1/connections/history?connectionId=" + url.QueryEscape(connID), "connectionId", nil},
		{"reconcile", "POST", "/api/v1/reconcile", "privateLinkServiceId", map[string]any{"privateLinkServiceId": plsID}},
		{"connections", "GET", "/api/v1/connections?pls=" + url.QueryEscape(plsID), "pls", nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tables := env.Tables.Count()
			env.ARM.ResetCounters()
			status, body := env.API(t, c.method, c.path, c.body, nil)
			e := wantStatus(t, status, body, http.StatusBadRequest, "InvalidResourceId")
			if !strings.Contains(e.Error.Message, c.field) || !strings.Contains(e.Error.Message, "1 KiB") {
				t.Errorf("message does not name %s and the limit: %q", c.field, e.Error.Message)
			}
			if n := env.ARMCalls(); n != 0 {
				t.Errorf("%d ARM calls for a refused request", n)
			}
			if n := env.Tables.Count() - tables; n != 0 {
				t.Errorf("%d Table calls for a refused request", n)
			}
		})
	}
}

// A body over the handler's invocation limit reaches the caller as 413 JSON through the http
// output binding. Before: the handler answered the invocation itself with 413, which fails it,
// and the host turned that into a bare 500.
func TestOversizedBodyIs413ThroughTheHost(t *testing.T) {
	env := testenv.Start(t, testenv.Options{Policy: e2ePolicy, NoEvents: true})
	for _, size := range []int{int(handler.DefaultMaxBodyBytes) + 1, 3 << 20} { // 3 MiB: the envelope repeats it in Metadata
		body := `{"connectionId":"x","reason":"` + strings.Repeat("a", size) + `"}`
		status, hdr, b := rawAPI(t, env, "POST", "/api/v1/connections/approve", body, nil)
		if !strings.HasPrefix(hdr.Get("Content-Type"), "application/json") {
			t.Fatalf("%d bytes: Content-Type %q, want JSON; status %d body %q", size, hdr.Get("Content-Type"), status, b)
		}
		wantStatus(t, status, b, http.StatusRequestEntityTooLarge, "RequestTooLarge")
	}
	// The connection the handler kept serves the next request.
	if status, b := env.API(t, "GET", "/api/v1/connections", nil, nil); status != http.StatusOK {
		t.Fatalf("after the 413: %d %s", status, b)
	}
}

const (
	leakSig = "c2lnbmF0dXJlLXRoYXQtbXVzdC1ub3QtbGVhaw%3D%3D"
	leakKey = "function-key-that-must-not-leak"
)

// lockedBuffer collects every log line of the test's plsgate and host emulator.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// A SAS connection string puts sig= on every Table request URL, and the function key comes
// as ?code=. Neither may appear in an answer or a log line, whether Table storage answers an
// error that quotes the request URL, cannot be reached at all, or the Url the host forwards
// does not parse. Before: the store's errors carried `?sv=…&sig=…` into the API's error log,
// and the handler quoted the whole Url (code included) in its log and protocol answer.
func TestSecretsNeverLeaveThroughAPILogs(t *testing.T) {
	// The Table endpoint: creates tables, then refuses everything quoting the URL it was
	// called with (as some proxies and gateways do); later it is gone.
	tables := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.Contains(r.URL.RawQuery, "sig=") {
			t.Errorf("Table request without the SAS: %s", r.URL.Path)
		}
		if r.Method == http.MethodPost && r.URL.Path == "/Tables" {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusForbidden)
		fmt.Fprintf(w, `{"odata.error":{"code":"AuthorizationFailure","message":{"lang":"en-US","value":"This request is not authorized: https://%s%s"}}}`, r.Host, r.URL.RequestURI())
	}))
	defer tables.Close()
	addr := tables.Listener.Addr().String()
	// aztables always calls https://ACCOUNT.table.core.windows.net for a SAS connection string:
	// every dial goes to the local endpoint instead.
	tr := tables.Client().Transport.(*http.Transport).Clone()
	tr.DialContext = func(ctx context.Context, network, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, network, addr)
	}
	tr.TLSClientConfig = &tls.Config{InsecureSkipVerify: true} // the test server's own certificate, on loopback
	settings := map[string]string{
		"PLSGATE_TABLES_CONNECTION": "AccountName=plsgateleak;SharedAccessSignature=sv=2024-11-04&ss=t&srt=sco&sp=rwdlacu&se=2030-01-01T00:00:00Z&spr=https&sig=" + leakSig,
		"PLSGATE_POLICY":            e2ePolicy,
		"SCOPE_SUBSCRIPTIONS":       testenv.Subscription,
		"ARM_ENDPOINT":              "http://127.0.0.1:1", // never called here
		"PLSGATE_LOG_LEVEL":         "debug",
	}
	cfg, err := config.Load(func(k string) string { return settings[k] })
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	logs := &lockedBuffer{}
	logger := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	a, err := app.New(context.Background(), cfg, logger, app.Deps{
		TablesTransport: &http.Client{Transport: tr},
		TablesRetry:     &azpolicy.RetryOptions{MaxRetries: -1},
	})
	if err != nil {
		t.Fatalf("app: %v", err)
	}
	srv := handler.New(handler.Options{Logger: logger})
	a.Register(srv)
	hsrv := httptest.NewServer(srv.Handler())
	defer hsrv.Close()
	host, err := hostemu.Load(filepath.Join(testenv.Root(), "functions"), hsrv.URL, hostemu.Options{FunctionKey: leakKey, Settings: settings, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	call := func(hostHeader string) (int, string) {
		t.Helper()
		req := httptest.NewRequest(http.MethodGet, "/api/v1/connections?code="+leakKey, nil)
		req.Host = hostHeader
		resp, err := host.Do(context.Background(), req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	var answers []string
	status, body := call("plsgate.example.net") // Table storage refuses, quoting the URL
	if status < 500 {
		t.Errorf("refusing Table endpoint: status %d, want 5xx: %s", status, body)
	}
	answers = append(answers, body)
	status, body = call("plsgate%zz.example.net") // a Url the handler cannot parse
	if status < 400 {
		t.Errorf("unparsable Url: status %d", status)
	}
	answers = append(answers, body)
	tables.Close() // now nothing answers at all
	status, body = call("plsgate.example.net")
	if status != http.StatusServiceUnavailable {
		t.Errorf("dead Table endpoint: status %d, want 503: %s", status, body)
	}
	answers = append(answers, body)

	out := logs.String()
	for _, secret := range []string{leakSig, leakKey} {
		if strings.Contains(out, secret) {
			t.Errorf("a secret is in the logs:\n%s", excerpt(out, secret))
		}
		for _, a := range answers {
			if strings.Contains(a, secret) {
				t.Errorf("a secret is in an answer: %s", a)
			}
		}
	}
	// The failures are still logged, with the URL minus its query.
	for _, want := range []string{"api request failed", "plsgateleak.table.core.windows.net", "?REDACTED"} {
		if !strings.Contains(out, want) {
			t.Errorf("logs lack %q:\n%s", want, out)
		}
	}
}

// excerpt shows the log lines that hold s.
func excerpt(logs, s string) string {
	var lines []string
	for _, l := range strings.Split(logs, "\n") {
		if strings.Contains(l, s) {
			var v map[string]any
			if json.Unmarshal([]byte(l), &v) == nil {
				lines = append(lines, fmt.Sprint(v["msg"], ": ", l))
				continue
			}
			lines = append(lines, l)
		}
	}
	return strings.Join(lines, "\n")
}
