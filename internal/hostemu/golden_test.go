package hostemu_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/plsgate/plsgate/internal/hostemu"
)

const handlerTestdata = "../../handler/testdata/"

// capture is a handler that keeps every invocation body and answers validly.
func capture(t *testing.T) (string, func() [][]byte) {
	t.Helper()
	var mu sync.Mutex
	var bodies [][]byte
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		bodies = append(bodies, b)
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		if r.URL.Path == "/Api" {
			_, _ = io.WriteString(w, `{"Outputs":{"res":{"statusCode":"204","status":"204","body":"","headers":{}}},"Logs":[]}`)
			return
		}
		_, _ = io.WriteString(w, `{"Outputs":{},"Logs":[]}`)
	}))
	t.Cleanup(ts.Close)
	return ts.URL, func() [][]byte {
		mu.Lock()
		defer mu.Unlock()
		return bodies
	}
}

func canonical(t *testing.T, b []byte) string {
	t.Helper()
	var v any
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("invalid JSON: %v: %s", err, b)
	}
	out, _ := json.Marshal(v)
	return string(out)
}

// The payloads the emulator builds are exactly the host payloads the handler package's
// golden files document (and the handler is tested against).
func TestPayloadsMatchHandlerGoldens(t *testing.T) {
	base := time.Date(2024, 5, 1, 10, 0, 0, 123456700, time.UTC)
	tests := []struct {
		golden    string
		functions string // directory of function.json files
		firstGUID int    // the golden's sys.RandGuid is firstGUID+1
		run       func(ctx context.Context, h *hostemu.Host, now *time.Time) error
	}{
		{"invoke-eventgrid.json", functionsDir, 0, deliver("testdata/eventgrid-delivery.json")},
		{"invoke-cloudevent.json", functionsDir, 2, deliver("testdata/cloudevent-delivery.json")},
		{"invoke-eventgrid-string.json", "", 100, deliver("testdata/eventgrid-delivery.json")},
		{"invoke-timer-first.json", functionsDir, 4, func(ctx context.Context, h *hostemu.Host, _ *time.Time) error {
			return h.FireTimer(ctx, "Reconcile", false)
		}},
		{"invoke-timer.json", functionsDir, 4, func(ctx context.Context, h *hostemu.Host, now *time.Time) error {
			if err := h.FireTimer(ctx, "Reconcile", false); err != nil {
				return err
			}
			*now = now.Add(2 * time.Minute)
			return h.FireTimer(ctx, "Reconcile", true)
		}},
		{"invoke-http-get.json", functionsDir, 8, func(ctx context.Context, h *hostemu.Host, now *time.Time) error {
			*now = now.Add(2 * time.Minute)
			req := httptest.NewRequest(http.MethodGet, "https://plsgate-func.azurewebsites.net/api/v1/status?code=fkey-123&verbose=1", nil)
			req.Header.Set("Accept", "text/html")
			return do(ctx, h, req)
		}},
		{"invoke-http-post.json", functionsDir, 10, func(ctx context.Context, h *hostemu.Host, now *time.Time) error {
			*now = now.Add(2 * time.Minute)
			req := httptest.NewRequest(http.MethodPost, "https://plsgate-func.azurewebsites.net/api/v1/connections/approve", strings.NewReader(`{"connectionId":"/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg-net/providers/Microsoft.Network/privateLinkServices/pls-web/privateEndpointConnections/pe-wps.1a2b","reason":"ticket 42","dryRun":false,"count":3}`))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("X-Functions-Key", "fkey-123")
			req.Header.Set("X-Ms-Client-Principal-Name", "alice@contoso.com")
			return do(ctx, h, req)
		}},
	}
	for _, tc := range tests {
		t.Run(tc.golden, func(t *testing.T) {
			url, bodies := capture(t)
			dir := tc.functions
			if dir == "" {
				dir = t.TempDir()
				writeFunction(t, dir, "ResourceEvents", `{"bindings":[{"type":"eventGridTrigger","direction":"in","name":"event","dataType":"string"}]}`)
			}
			now := base
			n := tc.firstGUID
			h := load(t, dir, url, hostemu.Options{
				FunctionKey: "fkey-123",
				Now:         func() time.Time { return now },
				NewGUID:     func() string { n++; return fmt.Sprintf("00000000-0000-4000-8000-%012d", n) },
			})
			if err := tc.run(context.Background(), h, &now); err != nil {
				t.Fatal(err)
			}
			got := bodies()
			want := canonical(t, readFile(t, handlerTestdata+tc.golden))
			if last := canonical(t, got[len(got)-1]); last != want {
				t.Errorf("payload differs from %s\n got: %s\nwant: %s", tc.golden, last, want)
			}
		})
	}
}

func deliver(file string) func(context.Context, *hostemu.Host, *time.Time) error {
	return func(ctx context.Context, h *hostemu.Host, _ *time.Time) error {
		b, err := os.ReadFile(file)
		if err != nil {
			return err
		}
		if status, err := h.DeliverEvents(ctx, "ResourceEvents", b); status != http.StatusAccepted {
			return fmt.Errorf("delivery %d: %v", status, err)
		}
		return nil
	}
}

func do(ctx context.Context, h *hostemu.Host, req *http.Request) error {
	resp, err := h.Do(ctx, req)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusNoContent {
		return fmt.Errorf("status %d", resp.StatusCode)
	}
	return nil
}
