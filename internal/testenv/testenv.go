// Package testenv assembles the whole of plsgate on one machine for
// end-to-end tests: the Functions host emulator in front of the real handler
// (the app with its real store, ARM client and policy), the ARM + Event Grid
// emulator behind it, and Table storage on Azurite. Nothing is mocked: the
// ARM emulator's event deliveries travel through the host emulator's Event
// Grid webhook, the handler and the armnetwork client, like in Azure.
package testenv

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/plsgate/plsgate/handler"
	"github.com/plsgate/plsgate/internal/app"
	"github.com/plsgate/plsgate/internal/armemu"
	"github.com/plsgate/plsgate/internal/config"
	"github.com/plsgate/plsgate/internal/hostemu"
	"github.com/plsgate/plsgate/internal/testutil/azurite"
)

// Well-known names of the seeded demo world (as in the Azure Web PubSub docs).
const (
	Subscription  = "00000000-0000-0000-0000-0000000000a1"
	ResourceGroup = "contoso"
	PLSName       = "contoso-pls"
	WebPubSubName = "contoso-webpubsub"
	FunctionKey   = "test-function-key"
)

var (
	PLSID       = "/subscriptions/" + Subscription + "/resourceGroups/" + ResourceGroup + "/providers/Microsoft.Network/privateLinkServices/" + PLSName
	WebPubSubID = "/subscriptions/" + Subscription + "/resourceGroups/" + ResourceGroup + "/providers/Microsoft.SignalRService/webPubSub/" + WebPubSubName
)

// Options shape one environment.
type Options struct {
	Policy   string            // inline policy text or a path; default examples/policies/webpubsub.yaml
	Settings map[string]string // extra app settings (override the defaults)
	ARM      armemu.Options    // emulator options (Events.SinkURL is set here)
	World    *armemu.World     // default: DemoWorld()
	// NoEvents leaves the emulator's Event Grid delivery unwired.
	NoEvents bool
	// Deps are passed to app.New (the Tables transport is always the counter).
	Deps app.Deps
}

// Env is a running plsgate with its emulators.
type Env struct {
	ARM      *armemu.Emulator
	Host     *hostemu.Host
	HostURL  string // Functions host emulator (API under /api/, Event Grid webhook)
	App      *app.App
	Config   *config.Config
	Settings map[string]string
	Tables   *Counter // Table storage requests made by plsgate
}

// Root returns the repository root (where go.mod is).
func Root() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// DemoWorld is one PLS `contoso-pls` (tag plsgate=enabled, visible to anyone)
// and one Web PubSub `contoso-webpubsub` in resource group contoso.
func DemoWorld() armemu.World {
	return armemu.World{
		PrivateLinkServices: []*armemu.PrivateLinkService{{
			SubscriptionID: Subscription, ResourceGroup: ResourceGroup, Name: PLSName, Location: "eastus",
			Tags: map[string]string{"plsgate": "enabled"}, Visibility: []string{"*"}, Fqdns: []string{"pls.contoso.com"},
		}},
		WebPubSubs: []*armemu.WebPubSub{{SubscriptionID: Subscription, ResourceGroup: ResourceGroup, Name: WebPubSubName, Location: "eastus"}},
	}
}

// Start brings everything up; t.Cleanup stops it. Under -short it skips the test
// (it starts Azurite; see internal/testutil/extproc).
func Start(t testing.TB, o Options) *Env {
	t.Helper()
	conn := azurite.Start(t)

	emu := armemu.New(o.ARM)
	armURL, err := emu.Start()
	if err != nil {
		t.Fatalf("ARM emulator: %v", err)
	}
	t.Cleanup(emu.Close)
	world := DemoWorld()
	if o.World != nil {
		world = *o.World
	}
	if err := emu.Seed(world); err != nil {
		t.Fatalf("seed ARM emulator: %v", err)
	}

	pol := o.Policy
	if pol == "" {
		pol = filepath.Join(Root(), "examples", "policies", "webpubsub.yaml")
	}
	settings := map[string]string{
		"PLSGATE_TABLES_CONNECTION": conn,
		"PLSGATE_TABLE_PREFIX":      azurite.TablePrefix(t),
		"PLSGATE_POLICY":            pol,
		"SCOPE_SUBSCRIPTIONS":       Subscription,
		"WEBPUBSUB_IDS":             WebPubSubID,
		"ARM_ENDPOINT":              armURL,
		"RECONCILE_SCHEDULE":        "0 */2 * * * *",
		"PLSGATE_LOG_LEVEL":         "warn",
	}
	for k, v := range o.Settings {
		settings[k] = v
	}
	e := &Env{ARM: emu, Tables: &Counter{}}
	e.startPlsgate(t, settings, o.Deps, !o.NoEvents, o.ARM.Events.Schema)
	return e
}

// startPlsgate builds the config, the app, the handler and the host emulator
// in front of it from settings, and points the ARM emulator's Event Grid
// deliveries at the host when wire is set. Start and Restart share it.
func (e *Env) startPlsgate(t testing.TB, settings map[string]string, deps app.Deps, wire bool, schema string) {
	t.Helper()
	cfg, err := config.Load(func(k string) string { return settings[k] })
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	logger := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: cfg.LogLevel}))
	deps.TablesTransport = e.Tables
	a, err := app.New(context.Background(), cfg, logger, deps)
	if err != nil {
		t.Fatalf("app: %v", err)
	}
	srv := handler.New(handler.Options{Logger: logger})
	a.Register(srv)
	hsrv := httptest.NewServer(srv.Handler())
	t.Cleanup(hsrv.Close)

	host, err := hostemu.Load(filepath.Join(Root(), "functions"), hsrv.URL, hostemu.Options{FunctionKey: FunctionKey, Settings: settings})
	if err != nil {
		t.Fatalf("host emulator: %v", err)
	}
	hostSrv := httptest.NewServer(host.Handler())
	t.Cleanup(hostSrv.Close)
	if wire {
		if err := e.ARM.SetEventSink(hostSrv.URL+"/runtime/webhooks/eventgrid?functionName="+app.FunctionEvents, schema); err != nil {
			t.Fatalf("event sink: %v", err)
		}
	}
	e.App, e.Host, e.HostURL, e.Config, e.Settings = a, host, hostSrv.URL, cfg, settings
}

// Counter is an HTTP transport that counts the requests it carries.
type Counter struct{ n atomic.Int64 }

func (c *Counter) Do(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return http.DefaultTransport.RoundTrip(r)
}

// Count is the number of requests so far.
func (c *Counter) Count() int64 { return c.n.Load() }

// ARMCalls sums the emulator's call counters (every operation).
func (e *Env) ARMCalls() int {
	n := 0
	for _, v := range e.ARM.Counters() {
		n += v
	}
	return n
}

// WaitEvents waits until the emulator has delivered every queued event.
func (e *Env) WaitEvents(t testing.TB) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := e.ARM.WaitIdle(ctx); err != nil {
		t.Fatalf("events not delivered: %v", err)
	}
}

// Tick fires the Reconcile timer through the host emulator.
func (e *Env) Tick(t testing.TB) {
	t.Helper()
	if err := e.Host.FireTimer(context.Background(), app.FunctionTimer, false); err != nil {
		t.Fatalf("timer: %v", err)
	}
}

// API calls the Api function through the host emulator (function key added).
// headers may carry e.g. X-MS-CLIENT-PRINCIPAL.
func (e *Env) API(t testing.TB, method, path string, body any, headers map[string]string) (int, []byte) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	sep := "?"
	if strings.Contains(path, "?") {
		sep = "&"
	}
	req, err := http.NewRequest(method, e.HostURL+path+sep+"code="+FunctionKey, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// testWriter sends logs to t.Log, or to stderr when PLSGATE_TEST_LOGS=1.
type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	if os.Getenv("PLSGATE_TEST_LOGS") == "1" {
		return os.Stderr.Write(p)
	}
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
