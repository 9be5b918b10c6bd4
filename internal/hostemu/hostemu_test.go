package hostemu_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/plsgate/plsgate/handler"
	"github.com/plsgate/plsgate/internal/hostemu"
)

const functionsDir = "../../functions"

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// recorded collects what the in-process plsgate functions received.
type recorded struct {
	mu     sync.Mutex
	events []json.RawMessage
	timers []handler.TimerInfo
	http   []string
}

func (r *recorded) eventIDs() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var ids []string
	for _, ev := range r.events {
		var e struct{ ID string }
		_ = json.Unmarshal(ev, &e)
		ids = append(ids, e.ID)
	}
	return ids
}

// newHandler runs the real handler package over loopback HTTP with functions that record
// their input. An event with id "fail" fails; the Api function echoes what it saw.
func newHandler(t *testing.T) (string, *recorded) {
	t.Helper()
	rec := &recorded{}
	s := handler.New(handler.Options{Logger: slog.New(slog.DiscardHandler)})
	s.HandleEvents("ResourceEvents", "event", 0, func(_ context.Context, inv *handler.Invocation, ev json.RawMessage) error {
		rec.mu.Lock()
		rec.events = append(rec.events, ev)
		rec.mu.Unlock()
		var e struct{ ID string }
		if err := json.Unmarshal(ev, &e); err != nil {
			return err
		}
		inv.Logf("event %s", e.ID)
		if e.ID == "fail" {
			return errors.New("cannot reach ARM")
		}
		return nil
	})
	s.HandleTimer("Reconcile", "timer", 0, func(_ context.Context, inv *handler.Invocation, info handler.TimerInfo) error {
		rec.mu.Lock()
		rec.timers = append(rec.timers, info)
		rec.mu.Unlock()
		inv.Logf("tick")
		return nil
	})
	s.HandleHTTP("Api", "req", "res", 0, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec.mu.Lock()
		rec.http = append(rec.http, r.Method+" "+r.URL.Path+" path="+r.PathValue("path"))
		rec.mu.Unlock()
		switch r.PathValue("path") {
		case "panic":
			panic("boom")
		case "missing":
			handler.WriteError(w, &handler.Error{Status: http.StatusNotFound, Code: "NotFound", Message: "no such connection"})
			return
		}
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Plsgate", "1")
		fmt.Fprintf(w, `{"path":%q,"q":%q,"body":%q}`, r.PathValue("path"), r.URL.Query().Get("q"), body)
	}))
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(ts.Close)
	return ts.URL, rec
}

func load(t *testing.T, dir, url string, o hostemu.Options) *hostemu.Host {
	t.Helper()
	if o.Settings == nil {
		o.Settings = map[string]string{"RECONCILE_SCHEDULE": "0 */2 * * * *"}
	}
	h, err := hostemu.Load(dir, url, o)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func TestEventGridDelivery(t *testing.T) {
	url, rec := newHandler(t)
	var mu sync.Mutex
	var invs []hostemu.Invocation
	h := load(t, functionsDir, url, hostemu.Options{OnInvocation: func(i hostemu.Invocation) {
		mu.Lock()
		invs = append(invs, i)
		mu.Unlock()
	}})

	status, err := h.DeliverEvents(context.Background(), "ResourceEvents", []byte(`[{"id":"a","eventType":"X","subject":"s","data":{}},{"id":"b","eventType":"X","subject":"s","data":"text"}]`))
	if status != http.StatusAccepted || err != nil {
		t.Fatalf("delivery = %d, %v; want 202", status, err)
	}
	status, err = h.DeliverEvents(context.Background(), "ResourceEvents", readFile(t, "testdata/cloudevent-delivery.json"))
	if status != http.StatusAccepted || err != nil {
		t.Fatalf("CloudEvent delivery = %d, %v; want 202", status, err)
	}
	ids := strings.Join(sorted(rec.eventIDs()), ",")
	if ids != "9c4d7e1a-52b3-4f6e-8d20-1b3c5e7f9a0b,a,b" {
		t.Errorf("handler saw events %s", ids)
	}
	if len(invs) != 3 {
		t.Fatalf("%d invocations recorded", len(invs))
	}
	for _, inv := range invs {
		if inv.Err != nil || inv.Status != 200 || len(inv.Logs) != 1 || !strings.HasPrefix(inv.Logs[0], "event ") {
			t.Errorf("invocation %+v", inv)
		}
	}
}

func TestEventGridBatchFailsAsAWhole(t *testing.T) {
	url, rec := newHandler(t)
	var mu sync.Mutex
	var failed []hostemu.Invocation
	h := load(t, functionsDir, url, hostemu.Options{OnInvocation: func(i hostemu.Invocation) {
		if i.Err != nil {
			mu.Lock()
			failed = append(failed, i)
			mu.Unlock()
		}
	}})
	status, err := h.DeliverEvents(context.Background(), "ResourceEvents", []byte(`[{"id":"ok1"},{"id":"fail"},{"id":"ok2"}]`))
	if status != http.StatusInternalServerError || err == nil {
		t.Fatalf("delivery = %d, %v; want 500", status, err)
	}
	if !strings.Contains(err.Error(), "handler answered 500") {
		t.Errorf("error %v", err)
	}
	if got := strings.Join(sorted(rec.eventIDs()), ","); got != "fail,ok1,ok2" {
		t.Errorf("every event must still be invoked, got %s", got)
	}
	if len(failed) != 1 || failed[0].Logs != nil || failed[0].Status != 500 {
		t.Errorf("failed invocations %+v (Logs of a failure must be dropped)", failed)
	}
}

func TestEventGridDataTypeString(t *testing.T) {
	url, rec := newHandler(t)
	dir := t.TempDir()
	writeFunction(t, dir, "ResourceEvents", `{"bindings":[{"type":"eventGridTrigger","direction":"in","name":"event","dataType":"string"}]}`)
	h := load(t, dir, url, hostemu.Options{})
	if status, err := h.DeliverEvents(context.Background(), "ResourceEvents", readFile(t, "testdata/eventgrid-delivery.json")); status != 202 {
		t.Fatalf("delivery = %d, %v", status, err)
	}
	if ids := rec.eventIDs(); len(ids) != 1 || ids[0] != "4b2f1c3e-9a57-4d0e-8a36-2f0b8e2c6d11" {
		t.Errorf("handler saw %v", ids)
	}
}

func TestDeliverEventsRejects(t *testing.T) {
	url, rec := newHandler(t)
	h := load(t, functionsDir, url, hostemu.Options{})
	for _, tc := range []struct {
		function, body string
		status         int
	}{
		{"Nope", `[]`, 404},
		{"Reconcile", `[]`, 404},
		{"ResourceEvents", `nope`, 400},
		{"ResourceEvents", `[1]`, 400},
		{"ResourceEvents", ``, 400},
		{"ResourceEvents", `[]`, 202},
	} {
		status, _ := h.DeliverEvents(context.Background(), tc.function, []byte(tc.body))
		if status != tc.status {
			t.Errorf("%s %q: %d, want %d", tc.function, tc.body, status, tc.status)
		}
	}
	if len(rec.eventIDs()) != 0 {
		t.Error("a rejected delivery reached the handler")
	}
}

func TestEventGridWebhook(t *testing.T) {
	url, rec := newHandler(t)
	h := load(t, functionsDir, url, hostemu.Options{EventGridKey: "egkey"})
	front := httptest.NewServer(h.Handler())
	t.Cleanup(front.Close)
	hook := front.URL + "/runtime/webhooks/eventgrid?functionName=ResourceEvents&code=egkey"

	tests := []struct {
		name, method, url, kind, body string
		header                        map[string]string
		status                        int
		wantBody                      string
	}{
		{"Event Grid schema validation", "POST", hook, "SubscriptionValidation", "testdata/validation-eventgrid.json", nil, 200, `{"validationResponse":"512d38b6-c7b8-40c8-89fe-f46f9e9622b6"}`},
		{"CloudEvents validation (data double-encoded)", "POST", hook, "SubscriptionValidation", "testdata/validation-cloudevent.json", nil, 200, `{"validationResponse":"8f2c1f0e-0a0b-4c5d-9e8f-123456789abc"}`},
		{"validation without the header", "POST", hook, "", "testdata/validation-eventgrid.json", nil, 200, `{"validationResponse":"512d38b6-c7b8-40c8-89fe-f46f9e9622b6"}`},
		{"CloudEvents abuse protection", "OPTIONS", hook, "", "", map[string]string{"WebHook-Request-Origin": "eventgrid.azure.net"}, 200, ""},
		{"notification", "POST", hook, "Notification", "testdata/eventgrid-delivery.json", nil, 202, ""},
		{"unsubscribe", "POST", hook, "Unsubscribe", "testdata/eventgrid-delivery.json", nil, 202, ""},
		{"events without aeg-event-type", "POST", hook, "", "testdata/eventgrid-delivery.json", nil, 400, ""},
		{"wrong key", "POST", strings.Replace(hook, "egkey", "nope", 1), "Notification", "testdata/eventgrid-delivery.json", nil, 401, ""},
		{"unknown function", "POST", strings.Replace(hook, "ResourceEvents", "Nope", 1), "Notification", "testdata/eventgrid-delivery.json", nil, 404, ""},
		{"not an Event Grid function", "POST", strings.Replace(hook, "ResourceEvents", "Api", 1), "Notification", "testdata/eventgrid-delivery.json", nil, 404, ""},
		{"GET", "GET", hook, "", "", nil, 405, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var body io.Reader
			if tc.body != "" {
				body = bytes.NewReader(readFile(t, tc.body))
			}
			req, _ := http.NewRequest(tc.method, tc.url, body)
			if tc.kind != "" {
				req.Header.Set("aeg-event-type", tc.kind)
			}
			for k, v := range tc.header {
				req.Header.Set(k, v)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			got, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tc.status, got)
			}
			if tc.wantBody != "" && strings.TrimSpace(string(got)) != tc.wantBody {
				t.Errorf("body %s, want %s", got, tc.wantBody)
			}
			if tc.method == "OPTIONS" && resp.Header.Get("WebHook-Allowed-Origin") != "eventgrid.azure.net" {
				t.Errorf("WebHook-Allowed-Origin %q", resp.Header.Get("WebHook-Allowed-Origin"))
			}
		})
	}
	// Only the one notification reached the handler; handshakes never do.
	if ids := rec.eventIDs(); len(ids) != 1 || ids[0] != "4b2f1c3e-9a57-4d0e-8a36-2f0b8e2c6d11" {
		t.Errorf("handler saw %v", ids)
	}
}

func TestTimer(t *testing.T) {
	url, rec := newHandler(t)
	now := time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)
	h := load(t, functionsDir, url, hostemu.Options{Now: func() time.Time { return now }})
	if err := h.FireTimer(context.Background(), "Reconcile", false); err != nil {
		t.Fatal(err)
	}
	now = now.Add(2 * time.Minute)
	if err := h.FireTimer(context.Background(), "Reconcile", true); err != nil {
		t.Fatal(err)
	}
	if len(rec.timers) != 2 {
		t.Fatalf("%d ticks", len(rec.timers))
	}
	first, second := rec.timers[0], rec.timers[1]
	if first.IsPastDue || first.ScheduleStatus == nil || !first.ScheduleStatus.Last.IsZero() || !first.Schedule.AdjustForDST {
		t.Errorf("first tick %+v", first)
	}
	if !second.IsPastDue || second.ScheduleStatus == nil || !second.ScheduleStatus.Last.Equal(now.Add(-2*time.Minute)) || !second.ScheduleStatus.Next.Equal(now) {
		t.Errorf("second tick %+v %+v", second, second.ScheduleStatus)
	}
	if err := h.FireTimer(context.Background(), "ResourceEvents", false); err == nil {
		t.Error("fired a non-timer function")
	}
}

func TestTimerUnresolvedScheduleDisablesOnlyThatFunction(t *testing.T) {
	url, _ := newHandler(t)
	t.Setenv("RECONCILE_SCHEDULE", "")
	h := load(t, functionsDir, url, hostemu.Options{Settings: map[string]string{}})
	err := h.FireTimer(context.Background(), "Reconcile", false)
	if err == nil || !strings.Contains(err.Error(), "RECONCILE_SCHEDULE") {
		t.Errorf("FireTimer = %v, want an unresolved-setting error", err)
	}
	if status, err := h.DeliverEvents(context.Background(), "ResourceEvents", []byte(`[{"id":"a"}]`)); status != 202 {
		t.Errorf("other functions must keep working: %d %v", status, err)
	}
}

func TestTimerSettingFromEnvironmentAndTimeSpan(t *testing.T) {
	url, rec := newHandler(t)
	t.Setenv("RECONCILE_SCHEDULE", "00:05:00")
	now := time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)
	h := load(t, functionsDir, url, hostemu.Options{Settings: map[string]string{}, Now: func() time.Time { return now }})
	for range 2 {
		if err := h.FireTimer(context.Background(), "Reconcile", false); err != nil {
			t.Fatal(err)
		}
	}
	s := rec.timers[1]
	if s.Schedule.AdjustForDST || !s.ScheduleStatus.Next.Equal(now.Add(5*time.Minute)) {
		t.Errorf("TimeSpan schedule tick %+v %+v", s, s.ScheduleStatus)
	}
}

func TestHTTPTrigger(t *testing.T) {
	url, rec := newHandler(t)
	h := load(t, functionsDir, url, hostemu.Options{FunctionKey: "fkey"})
	front := httptest.NewServer(h.Handler())
	t.Cleanup(front.Close)

	tests := []struct {
		name, method, path, key, body string
		status                        int
		wantBody, wantSeen            string
		contentType                   string
	}{
		{"key in query", "GET", "/api/v1/status?code=fkey&q=1", "", "", 200, `{"path":"status","q":"1","body":""}`, "GET /api/v1/status path=status", ""},
		{"key in header, body, nested path", "POST", "/api/v1/connections/approve", "fkey", `{"reason":"x"}`, 200, `{"path":"connections/approve","q":"","body":"{\"reason\":\"x\"}"}`, "POST /api/v1/connections/approve path=connections/approve", ""},
		{"octet-stream body travels base64 and arrives as bytes", "POST", "/api/v1/blob?code=fkey", "", "\x00\x01\xff", 200, `{"path":"blob","q":"","body":"\x00\x01\xff"}`, "POST /api/v1/blob path=blob", "application/octet-stream"},
		{"route prefix and literal are case-insensitive", "GET", "/API/V1/status?code=fkey", "", "", 200, `{"path":"status","q":"","body":""}`, "GET /API/V1/status path=status", ""},
		{"handler error status passes through", "GET", "/api/v1/missing?code=fkey", "", "", 404, `{"error":{"code":"NotFound","message":"no such connection"}}`, "GET /api/v1/missing path=missing", ""},
		{"handler panic fails the invocation", "GET", "/api/v1/panic?code=fkey", "", "", 500, "", "GET /api/v1/panic path=panic", ""},
		{"no key", "GET", "/api/v1/status", "", "", 401, "", "", ""},
		{"wrong key", "GET", "/api/v1/status?code=nope", "", "", 401, "", "", ""},
		{"method not in function.json", "PUT", "/api/v1/status?code=fkey", "", "", 404, "", "", ""},
		{"route does not match", "GET", "/api/v2/status?code=fkey", "", "", 404, "", "", ""},
		{"outside the route prefix", "GET", "/v1/status?code=fkey", "", "", 404, "", "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := len(rec.http)
			var body io.Reader
			if tc.body != "" {
				body = strings.NewReader(tc.body)
			}
			req, _ := http.NewRequest(tc.method, front.URL+tc.path, body)
			if tc.key != "" {
				req.Header.Set("x-functions-key", tc.key)
			}
			if tc.contentType != "" {
				req.Header.Set("Content-Type", tc.contentType)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			got, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tc.status, got)
			}
			if tc.wantBody != "" && strings.TrimSpace(string(got)) != tc.wantBody {
				t.Errorf("body %s, want %s", got, tc.wantBody)
			}
			if tc.status == 200 && resp.Header.Get("X-Plsgate") != "1" {
				t.Errorf("handler headers lost: %v", resp.Header)
			}
			seen := ""
			if len(rec.http) > before {
				seen = rec.http[len(rec.http)-1]
			}
			if seen != tc.wantSeen {
				t.Errorf("handler saw %q, want %q", seen, tc.wantSeen)
			}
		})
	}
}

func TestDo(t *testing.T) {
	url, _ := newHandler(t)
	h := load(t, functionsDir, url, hostemu.Options{})
	req, _ := http.NewRequest(http.MethodGet, "/api/v1/status?q=2", nil)
	resp, err := h.Do(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || !strings.Contains(string(b), `"q":"2"`) {
		t.Errorf("%d %s", resp.StatusCode, b)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := h.Do(ctx, req); err == nil {
		t.Error("Do ran with a cancelled context")
	}
}

func TestAdminRunsTimer(t *testing.T) {
	url, rec := newHandler(t)
	h := load(t, functionsDir, url, hostemu.Options{MasterKey: "master"})
	for _, tc := range []struct {
		path, key string
		status    int
	}{
		{"/admin/functions/Reconcile", "master", 202},
		{"/admin/functions/Reconcile", "nope", 401},
		{"/admin/functions/ResourceEvents", "master", 400},
		{"/admin/functions/Nope", "master", 404},
	} {
		req := httptest.NewRequest(http.MethodPost, tc.path, strings.NewReader(`{"input":""}`))
		req.Header.Set("x-functions-key", tc.key)
		w := httptest.NewRecorder()
		h.Handler().ServeHTTP(w, req)
		if w.Code != tc.status {
			t.Errorf("%s with %q: %d, want %d", tc.path, tc.key, w.Code, tc.status)
		}
	}
	if len(rec.timers) != 1 {
		t.Errorf("%d ticks, want 1", len(rec.timers))
	}
}

// fakeHandler answers every invocation with a fixed status, content type and body.
func fakeHandler(t *testing.T, status int, contentType, body string) string {
	t.Helper()
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		if contentType != "" {
			w.Header().Set("Content-Type", contentType)
		} else {
			w.Header()["Content-Type"] = nil // no sniffing: really no header
		}
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}))
	t.Cleanup(ts.Close)
	return ts.URL
}

// The host's answer rules, enforced on handlers that break them.
func TestAnswerRules(t *testing.T) {
	const okHTTP = `{"statusCode":"200","status":"200","body":"hi","headers":{"Content-Type":"text/plain"}}`
	tests := []struct {
		name, function    string
		status            int
		contentType, body string
		wantErr           string // "" = succeeds
	}{
		{"valid timer answer", "Reconcile", 200, "application/json", `{"Outputs":{},"Logs":["a"],"ReturnValue":null}`, ""},
		{"text/json is JSON too", "Reconcile", 200, "text/json; charset=utf-8", `{"Outputs":null,"Logs":null}`, ""},
		{"missing Content-Type", "Reconcile", 200, "", `{"Outputs":{},"Logs":["a"]}`, "Content-Type"},
		{"text/plain", "Reconcile", 200, "text/plain", `{"Outputs":{},"Logs":["a"]}`, "Content-Type"},
		{"non-2xx drops Logs", "Reconcile", 500, "application/json", `{"Outputs":{},"Logs":["a"]}`, "answered 500"},
		{"not JSON", "Reconcile", 200, "application/json", `oops`, "not a JSON object"},
		{"Logs not strings", "Reconcile", 200, "application/json", `{"Logs":[1]}`, "does not decode"},
		{"output on a function without outputs", "Reconcile", 200, "application/json", `{"Outputs":{"res":{}}}`, `Outputs key "res"`},
		{"valid http answer", "Api", 200, "application/json", `{"Outputs":{"res":` + okHTTP + `}}`, ""},
		{"http output as a JSON string", "Api", 200, "application/json", `{"Outputs":{"res":` + quote(okHTTP) + `}}`, ""},
		{"wrong output binding name", "Api", 200, "application/json", `{"Outputs":{"Res":` + okHTTP + `}}`, `Outputs key "Res"`},
		{"no http output", "Api", 200, "application/json", `{"Outputs":{}}`, "no Outputs.res"},
		{"http output without status", "Api", 200, "application/json", `{"Outputs":{"res":{"statusCode":"200","body":"","headers":{}}}}`, `lacks "status"`},
		{"http output without headers", "Api", 200, "application/json", `{"Outputs":{"res":{"statusCode":"200","status":"200","body":""}}}`, `lacks "headers"`},
		{"http output with null body", "Api", 200, "application/json", `{"Outputs":{"res":{"statusCode":"200","status":"200","body":null,"headers":{}}}}`, `"body" is null`},
		{"header value not a string", "Api", 200, "application/json", `{"Outputs":{"res":{"statusCode":"200","status":"200","body":"","headers":{"X":["a"]}}}}`, "must be a string"},
		{"status not a number", "Api", 200, "application/json", `{"Outputs":{"res":{"statusCode":"OK","status":"OK","body":"","headers":{}}}}`, "statusCode"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got hostemu.Invocation
			h := load(t, functionsDir, fakeHandler(t, tc.status, tc.contentType, tc.body), hostemu.Options{
				OnInvocation: func(i hostemu.Invocation) { got = i },
			})
			var err error
			if tc.function == "Reconcile" {
				err = h.FireTimer(context.Background(), "Reconcile", false)
			} else {
				resp, derr := h.Do(context.Background(), httptest.NewRequest(http.MethodGet, "/api/v1/x", nil))
				if derr != nil {
					t.Fatal(derr)
				}
				if resp.StatusCode != 200 {
					err = fmt.Errorf("client got %d", resp.StatusCode)
				}
			}
			if tc.wantErr == "" {
				if err != nil || got.Err != nil {
					t.Fatalf("failed: %v / %v", err, got.Err)
				}
				return
			}
			if got.Err == nil || !strings.Contains(got.Err.Error(), tc.wantErr) {
				t.Fatalf("invocation error %v, want it to mention %q", got.Err, tc.wantErr)
			}
			if err == nil {
				t.Error("the caller was not told the invocation failed")
			}
			if got.Logs != nil || got.Outputs != nil {
				t.Errorf("a failed invocation kept Logs %v / Outputs %v", got.Logs, got.Outputs)
			}
		})
	}
}

func quote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func TestSuccessfulLogsGoToTheHostLogger(t *testing.T) {
	url, _ := newHandler(t)
	var buf bytes.Buffer
	var mu sync.Mutex
	logger := slog.New(slog.NewJSONHandler(writerFunc(func(p []byte) (int, error) {
		mu.Lock()
		defer mu.Unlock()
		return buf.Write(p)
	}), nil))
	h := load(t, functionsDir, url, hostemu.Options{Logger: logger})
	if err := h.FireTimer(context.Background(), "Reconcile", false); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if !strings.Contains(buf.String(), `"msg":"tick","function":"Reconcile"`) {
		t.Errorf("host log: %s", buf.String())
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

func TestLoadErrors(t *testing.T) {
	tests := []struct {
		name     string
		host     string
		function string
		want     string
	}{
		{"invalid JSON", "", `{`, "unexpected end"},
		{"two triggers", "", `{"bindings":[{"type":"timerTrigger","direction":"in","name":"a","schedule":"00:01:00"},{"type":"httpTrigger","direction":"in","name":"b"}]}`, "exactly one trigger"},
		{"no trigger", "", `{"bindings":[{"type":"http","direction":"out","name":"res"}]}`, "exactly one trigger"},
		{"unknown trigger", "", `{"bindings":[{"type":"queueTrigger","direction":"in","name":"q"}]}`, "not emulated"},
		{"http trigger without output", "", `{"bindings":[{"type":"httpTrigger","direction":"in","name":"req"}]}`, "exactly one http output"},
		{"bad auth level", "", `{"bindings":[{"type":"httpTrigger","direction":"in","name":"req","authLevel":"user"},{"type":"http","direction":"out","name":"res"}]}`, "authLevel"},
		{"bad route", "", `{"bindings":[{"type":"httpTrigger","direction":"in","name":"req","route":"v1/{*a}/b"},{"type":"http","direction":"out","name":"res"}]}`, "catch-all"},
		{"duplicate binding", "", `{"bindings":[{"type":"httpTrigger","direction":"in","name":"req"},{"type":"http","direction":"out","name":"REQ"}]}`, "used twice"},
		{"bad binding name", "", `{"bindings":[{"type":"eventGridTrigger","direction":"in","name":"my-event"}]}`, "not a valid identifier"},
		{"proxying host.json", `{"version":"2.0","customHandler":{"enableProxyingHttpRequest":true}}`, `{"bindings":[{"type":"eventGridTrigger","direction":"in","name":"event"}]}`, "proxying"},
		{"old host.json", `{"version":"1.0"}`, `{"bindings":[{"type":"eventGridTrigger","direction":"in","name":"event"}]}`, "version"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			writeFunction(t, dir, "F", tc.function)
			if tc.host != "" {
				if err := os.WriteFile(filepath.Join(dir, "host.json"), []byte(tc.host), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			_, err := hostemu.Load(dir, "http://127.0.0.1:1", hostemu.Options{})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Load = %v, want an error mentioning %q", err, tc.want)
			}
		})
	}
	if _, err := hostemu.Load(t.TempDir(), "http://127.0.0.1:1", hostemu.Options{}); err == nil {
		t.Error("loaded a directory without functions")
	}
	if _, err := hostemu.Load(functionsDir, "not a url", hostemu.Options{}); err == nil {
		t.Error("accepted a relative handler URL")
	}
}

func TestLoadSkipsDisabledFunctions(t *testing.T) {
	dir := t.TempDir()
	writeFunction(t, dir, "A", `{"bindings":[{"type":"eventGridTrigger","direction":"in","name":"event"}]}`)
	writeFunction(t, dir, "B", `{"disabled":true,"bindings":[{"type":"eventGridTrigger","direction":"in","name":"event"}]}`)
	h, err := hostemu.Load(dir, fakeHandler(t, 200, "application/json", `{}`), hostemu.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if status, _ := h.DeliverEvents(context.Background(), "B", []byte(`[]`)); status != 404 {
		t.Errorf("disabled function answered %d", status)
	}
}

// The invocation request carries the headers the host sends, chunked.
func TestInvocationRequestHeaders(t *testing.T) {
	type seen struct {
		path   string
		header http.Header
		te     []string
		length int64
	}
	var mu sync.Mutex
	var got []seen
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		mu.Lock()
		got = append(got, seen{r.URL.Path, r.Header.Clone(), r.TransferEncoding, r.ContentLength})
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"Outputs":{},"Logs":[]}`)
	}))
	t.Cleanup(ts.Close)
	var ids []string
	h := load(t, functionsDir, ts.URL, hostemu.Options{HostVersion: "4.9.9", OnInvocation: func(i hostemu.Invocation) { ids = append(ids, i.ID) }})
	if err := h.FireTimer(context.Background(), "Reconcile", false); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 {
		t.Fatalf("%d requests", len(got))
	}
	g := got[0]
	checks := map[string]string{
		"path":          g.path,
		"content type":  g.header.Get("Content-Type"),
		"invocation id": g.header.Get("X-Azure-Functions-InvocationId"),
		"host version":  g.header.Get("X-Azure-Functions-HostVersion"),
		"user agent":    g.header.Get("User-Agent"),
	}
	want := map[string]string{
		"path":          "/Reconcile",
		"content type":  "application/json; charset=utf-8",
		"invocation id": ids[0],
		"host version":  "4.9.9",
		"user agent":    "Azure-Functions-Host/4.9.9",
	}
	for k, v := range want {
		if checks[k] != v {
			t.Errorf("%s = %q, want %q", k, checks[k], v)
		}
	}
	if tp := g.header.Get("traceparent"); len(tp) != 55 || !strings.HasPrefix(tp, "00-") {
		t.Errorf("traceparent %q", tp)
	}
	if g.length != -1 || len(g.te) != 1 || g.te[0] != "chunked" {
		t.Errorf("body not chunked: length %d, transfer encoding %v", g.length, g.te)
	}
}

func writeFunction(t *testing.T, dir, name, functionJSON string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Join(dir, name), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name, "function.json"), []byte(functionJSON), 0o644); err != nil {
		t.Fatal(err)
	}
}

func sorted(s []string) []string {
	out := slices.Clone(s)
	slices.Sort(out)
	return out
}
