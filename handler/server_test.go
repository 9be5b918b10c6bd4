package handler

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

func noopEvent(context.Context, *Invocation, json.RawMessage) error { return nil }

// post sends an invocation body to /{function} and decodes the answer.
func post(t *testing.T, h http.Handler, function string, body []byte, header map[string]string) (*httptest.ResponseRecorder, InvokeResponse) {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, "/"+function, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	for k, v := range header {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	var res InvokeResponse
	if rec.Code == http.StatusOK || rec.Code == http.StatusInternalServerError {
		if err := json.Unmarshal(rec.Body.Bytes(), &res); err != nil {
			t.Fatalf("answer %d is not an InvokeResponse: %v: %s", rec.Code, err, rec.Body)
		}
	}
	return rec, res
}

func errorCode(t *testing.T, rec *httptest.ResponseRecorder) string {
	t.Helper()
	var e struct {
		Error ErrorDetail `json:"error"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil {
		t.Fatalf("error body %q: %v", rec.Body, err)
	}
	if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("error Content-Type %q", ct)
	}
	return e.Error.Code
}

func TestReadiness(t *testing.T) {
	h := New(Options{Logger: discardLogger()}).Handler()
	for _, tc := range []struct {
		method string
		want   int
	}{{http.MethodGet, 200}, {http.MethodHead, 200}, {http.MethodPost, 405}, {http.MethodDelete, 405}} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(tc.method, "/", nil))
		if rec.Code != tc.want {
			t.Errorf("%s / = %d, want %d", tc.method, rec.Code, tc.want)
		}
	}
}

func TestProtocolErrors(t *testing.T) {
	s := New(Options{Logger: discardLogger(), MaxBodyBytes: 1024})
	called := false
	s.HandleEvents("ResourceEvents", "event", 0, func(context.Context, *Invocation, json.RawMessage) error {
		called = true
		return nil
	})
	h := s.Handler()
	big := []byte(`{"Data":{"event":{"pad":"` + strings.Repeat("x", 2048) + `"}}}`)

	tests := []struct {
		name   string
		method string
		path   string
		body   io.Reader
		status int
		code   string
	}{
		{"unknown function", http.MethodPost, "/Nope", strings.NewReader(`{}`), 404, "FunctionNotFound"},
		{"nested path", http.MethodPost, "/ResourceEvents/x", strings.NewReader(`{}`), 404, "FunctionNotFound"},
		{"wrong method", http.MethodGet, "/ResourceEvents", nil, 405, "MethodNotAllowed"},
		{"too large, known length", http.MethodPost, "/ResourceEvents", bytes.NewReader(big), 413, "RequestTooLarge"},
		{"too large, chunked", http.MethodPost, "/ResourceEvents", io.MultiReader(bytes.NewReader(big)), 413, "RequestTooLarge"},
		{"malformed JSON", http.MethodPost, "/ResourceEvents", strings.NewReader(`{"Data":`), 400, "BadRequest"},
		{"not an object", http.MethodPost, "/ResourceEvents", strings.NewReader(`[]`), 400, "BadRequest"},
		{"binding missing", http.MethodPost, "/ResourceEvents", strings.NewReader(`{"Data":{"other":{}},"Metadata":{}}`), 400, "BadRequest"},
		{"event is not an object", http.MethodPost, "/ResourceEvents", strings.NewReader(`{"Data":{"event":[1]},"Metadata":{}}`), 400, "BadRequest"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest(tc.method, tc.path, tc.body)
			if _, ok := tc.body.(*bytes.Reader); !ok && tc.body != nil {
				req.ContentLength = -1 // unknown length, like the host's chunked body
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != tc.status {
				t.Fatalf("status %d, want %d: %s", rec.Code, tc.status, rec.Body)
			}
			if got := errorCode(t, rec); got != tc.code {
				t.Errorf("code %q, want %q", got, tc.code)
			}
			if tc.status == 405 && rec.Header().Get("Allow") != "POST" {
				t.Errorf("Allow %q", rec.Header().Get("Allow"))
			}
		})
	}
	if called {
		t.Error("a rejected invocation reached the function")
	}
}

func TestEventInvocation(t *testing.T) {
	want := readTestdata(t, "event-resourcewrite.golden.json")
	var mu sync.Mutex
	var got []json.RawMessage
	var ids []string
	s := New(Options{Logger: discardLogger()})
	s.HandleEvents("ResourceEvents", "event", 0, func(ctx context.Context, inv *Invocation, ev json.RawMessage) error {
		if _, ok := ctx.Deadline(); !ok {
			t.Error("invocation context has no deadline")
		}
		if in, ok := FromContext(ctx); !ok || in != inv {
			t.Error("FromContext does not return the invocation")
		}
		mu.Lock()
		got = append(got, ev)
		ids = append(ids, inv.ID)
		mu.Unlock()
		inv.Logf("saw %s", inv.Sys.MethodName)
		return nil
	})
	h := s.Handler()

	for _, tc := range []struct {
		file, header, wantID string
	}{
		{"invoke-eventgrid.json", "inv-1", "inv-1"},
		{"invoke-eventgrid-string.json", "inv-2", "inv-2"},
		{"invoke-eventgrid.json", "", "00000000-0000-4000-8000-000000000001"}, // sys.RandGuid
	} {
		hdr := map[string]string{}
		if tc.header != "" {
			hdr["X-Azure-Functions-InvocationId"] = tc.header
		}
		rec, res := post(t, h, "ResourceEvents", readTestdata(t, tc.file), hdr)
		if rec.Code != 200 {
			t.Fatalf("%s: status %d: %s", tc.file, rec.Code, rec.Body)
		}
		if len(res.Outputs) != 0 || len(res.Logs) != 1 || res.Logs[0] != "saw ResourceEvents" || res.Error != nil {
			t.Errorf("%s: answer %+v", tc.file, res)
		}
		if ids[len(ids)-1] != tc.wantID {
			t.Errorf("%s: invocation id %q, want %q", tc.file, ids[len(ids)-1], tc.wantID)
		}
	}
	for i, ev := range got {
		assertJSONEqual(t, "event "+string(rune('0'+i)), ev, want)
	}
}

func TestEventFailure(t *testing.T) {
	block := make(chan struct{})
	s := New(Options{Logger: discardLogger()})
	s.HandleEvents("Fails", "event", 0, func(_ context.Context, inv *Invocation, _ json.RawMessage) error {
		inv.Logf("about to fail")
		return errors.New("arm: 503 Service Unavailable")
	})
	s.HandleEvents("FailsWithError", "event", 0, func(context.Context, *Invocation, json.RawMessage) error {
		return fmt.Errorf("wrapped: %w", &Error{Status: http.StatusBadRequest, Code: "Whatever", Message: "x"})
	})
	s.HandleEvents("Panics", "event", 0, func(context.Context, *Invocation, json.RawMessage) error {
		panic("boom")
	})
	s.HandleEvents("Slow", "event", time.Millisecond, func(ctx context.Context, _ *Invocation, _ json.RawMessage) error {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-block:
			return nil
		}
	})
	h := s.Handler()
	body := readTestdata(t, "invoke-eventgrid.json")
	for _, tc := range []struct{ function, code, logs string }{
		{"Fails", "FunctionFailed", "about to fail"},
		{"FailsWithError", "FunctionFailed", ""},
		{"Panics", "Panic", ""},
		{"Slow", "DeadlineExceeded", ""},
	} {
		rec, res := post(t, h, tc.function, body, nil)
		if rec.Code != http.StatusInternalServerError {
			t.Fatalf("%s: status %d, want 500", tc.function, rec.Code)
		}
		if res.Error == nil || res.Error.Code != tc.code {
			t.Errorf("%s: error %+v, want code %s", tc.function, res.Error, tc.code)
		}
		if strings.Join(res.Logs, "|") != tc.logs || res.Outputs == nil {
			t.Errorf("%s: logs %q outputs %v", tc.function, res.Logs, res.Outputs)
		}
	}
	close(block)
}

func TestTimerInvocation(t *testing.T) {
	var got TimerInfo
	s := New(Options{Logger: discardLogger()})
	s.HandleTimer("Reconcile", "timer", 0, func(ctx context.Context, inv *Invocation, info TimerInfo) error {
		got = info
		if inv.Sys.MethodName != "Reconcile" || inv.Sys.UtcNow.IsZero() {
			t.Errorf("sys %+v", inv.Sys)
		}
		return nil
	})
	rec, _ := post(t, s.Handler(), "Reconcile", readTestdata(t, "invoke-timer.json"), nil)
	if rec.Code != 200 {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	want := time.Date(2024, 5, 1, 10, 2, 0, 123456700, time.UTC)
	if !got.IsPastDue || got.ScheduleStatus == nil || !got.ScheduleStatus.Next.Equal(want) || !got.Schedule.AdjustForDST {
		t.Errorf("timer info %+v", got)
	}
}

func TestHTTPInvocation(t *testing.T) {
	s := New(Options{Logger: discardLogger()})
	s.HandleHTTP("Api", "req", "res", 0, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		inv, ok := FromContext(r.Context())
		if !ok {
			t.Error("no invocation in the request context")
			return
		}
		inv.Logf("%s %s", r.Method, r.URL.Path)
		switch r.PathValue("path") {
		case "status":
			if r.URL.Query().Get("verbose") != "1" || r.Host != "plsgate-func.azurewebsites.net" || r.TLS == nil || r.Header.Get("Accept") != "text/html" {
				t.Errorf("request %s %v host %q tls %v header %v", r.Method, r.URL, r.Host, r.TLS, r.Header)
			}
			w.Header().Add("Set-Cookie", "a=1")
			w.Header().Add("Set-Cookie", "b=2")
			w.WriteHeader(http.StatusAccepted)
			_, _ = io.WriteString(w, "<html>ok</html>")
		case "connections/approve":
			b, _ := io.ReadAll(r.Body)
			var in struct{ Reason string }
			if err := json.Unmarshal(b, &in); err != nil || in.Reason != "ticket 42" {
				t.Errorf("body %q: %v", b, err)
			}
			WriteError(w, &Error{Status: http.StatusConflict, Code: "Rejected", Message: "connection was rejected earlier"})
		default:
			t.Errorf("unexpected path %q", r.PathValue("path"))
		}
	}))
	h := s.Handler()
	for _, tc := range []struct {
		file string
		want HTTPResponse
		logs string
	}{
		{"invoke-http-get.json", HTTPResponse{StatusCode: "202", Status: "202", Body: "<html>ok</html>", Headers: map[string]string{"Content-Type": "text/html; charset=utf-8", "Set-Cookie": "a=1, b=2"}}, "GET /api/v1/status"},
		{"invoke-http-post.json", HTTPResponse{StatusCode: "409", Status: "409", Body: `{"error":{"code":"Rejected","message":"connection was rejected earlier"}}` + "\n", Headers: map[string]string{"Content-Type": "application/json; charset=utf-8"}}, "POST /api/v1/connections/approve"},
	} {
		rec, res := post(t, h, "Api", readTestdata(t, tc.file), nil)
		if rec.Code != 200 {
			t.Fatalf("%s: status %d: %s", tc.file, rec.Code, rec.Body)
		}
		if len(res.Outputs) != 1 {
			t.Fatalf("%s: outputs %v", tc.file, res.Outputs)
		}
		var got HTTPResponse
		if err := json.Unmarshal(res.Outputs["res"], &got); err != nil {
			t.Fatal(err)
		}
		if got.StatusCode != tc.want.StatusCode || got.Status != tc.want.Status || got.Body != tc.want.Body || len(got.Headers) != len(tc.want.Headers) {
			t.Errorf("%s: output %+v, want %+v", tc.file, got, tc.want)
		}
		for k, v := range tc.want.Headers {
			if got.Headers[k] != v {
				t.Errorf("%s: header %s = %q, want %q", tc.file, k, got.Headers[k], v)
			}
		}
		if strings.Join(res.Logs, "|") != tc.logs {
			t.Errorf("%s: logs %q", tc.file, res.Logs)
		}
		// The output is built without HTML escaping.
		if strings.Contains(string(res.Outputs["res"]), `\u003c`) {
			t.Errorf("%s: output HTML-escaped: %s", tc.file, res.Outputs["res"])
		}
	}
}

func TestRecorderDefaults(t *testing.T) {
	rec := &recorder{header: http.Header{}}
	if got := rec.result(); got.StatusCode != "200" || got.Body != "" || len(got.Headers) != 0 {
		t.Errorf("empty answer %+v", got)
	}
	rec = &recorder{header: http.Header{}}
	rec.WriteHeader(http.StatusContinue) // informational: not final
	rec.WriteHeader(http.StatusNoContent)
	rec.WriteHeader(http.StatusTeapot) // superfluous
	if got := rec.result(); got.StatusCode != "204" {
		t.Errorf("status %s, want 204", got.StatusCode)
	}
}

func TestLogsCarryInvocationID(t *testing.T) {
	var buf bytes.Buffer
	var mu sync.Mutex
	logger := slog.New(slog.NewJSONHandler(lockedWriter{&mu, &buf}, nil))
	s := New(Options{Logger: logger})
	s.HandleEvents("ResourceEvents", "event", 0, func(_ context.Context, inv *Invocation, _ json.RawMessage) error {
		inv.Logf("hello %d", 1)
		inv.Logger.Info("direct")
		return nil
	})
	post(t, s.Handler(), "ResourceEvents", readTestdata(t, "invoke-eventgrid.json"), map[string]string{"X-Azure-Functions-InvocationId": "abc"})

	mu.Lock()
	defer mu.Unlock()
	seen := map[string]bool{}
	sc := bufio.NewScanner(&buf)
	for sc.Scan() {
		var line map[string]any
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			t.Fatalf("not a JSON log line: %s", sc.Bytes())
		}
		if line["invocationId"] != "abc" || line["function"] != "ResourceEvents" {
			t.Errorf("line without invocation attributes: %s", sc.Bytes())
		}
		seen[line["msg"].(string)] = true
	}
	for _, msg := range []string{"hello 1", "direct", "invocation succeeded"} {
		if !seen[msg] {
			t.Errorf("no log line %q", msg)
		}
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func TestLogfCapsLines(t *testing.T) {
	inv := &Invocation{Logger: discardLogger()}
	for i := 0; i < maxLogLines+5; i++ {
		inv.Logf("line %d", i)
	}
	logs := inv.Logs()
	if len(logs) != maxLogLines+1 || !strings.Contains(logs[maxLogLines], "5 more log lines dropped") {
		t.Errorf("got %d lines, last %q", len(logs), logs[len(logs)-1])
	}
}

func TestMetadataString(t *testing.T) {
	inv := &Invocation{Metadata: map[string]json.RawMessage{"path": json.RawMessage(`"\"status\""`), "Query": json.RawMessage(`{}`)}}
	if v, ok := inv.MetadataString("path"); !ok || v != "status" {
		t.Errorf("path = %q, %v", v, ok)
	}
	if _, ok := inv.MetadataString("Query"); ok {
		t.Error("an object decoded as a string")
	}
	if _, ok := inv.MetadataString("missing"); ok {
		t.Error("a missing key decoded")
	}
}

func TestRegistrationPanics(t *testing.T) {
	tests := []struct {
		name string
		fn   func(s *Server)
	}{
		{"empty name", func(s *Server) { s.HandleEvents("", "event", 0, noopEvent) }},
		{"name with slash", func(s *Server) { s.HandleEvents("a/b", "event", 0, noopEvent) }},
		{"empty binding", func(s *Server) { s.HandleEvents("A", "", 0, noopEvent) }},
		{"nil func", func(s *Server) { s.HandleTimer("A", "timer", 0, nil) }},
		{"nil handler", func(s *Server) { s.HandleHTTP("A", "req", "res", 0, nil) }},
		{"no output binding", func(s *Server) { s.HandleHTTP("A", "req", "", 0, http.NotFoundHandler()) }},
		{"duplicate", func(s *Server) {
			s.HandleEvents("A", "event", 0, noopEvent)
			s.HandleEvents("A", "event", 0, noopEvent)
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Error("did not panic")
				}
			}()
			tc.fn(New(Options{}))
		})
	}
}

func TestPort(t *testing.T) {
	t.Setenv("FUNCTIONS_CUSTOMHANDLER_PORT", "")
	if Port() != "8080" {
		t.Errorf("default port %q", Port())
	}
	t.Setenv("FUNCTIONS_CUSTOMHANDLER_PORT", "41234")
	if Port() != "41234" {
		t.Errorf("port %q", Port())
	}
}

func TestWriteErrorHidesInternalErrors(t *testing.T) {
	rec := httptest.NewRecorder()
	WriteError(rec, errors.New("token abc leaked"))
	if rec.Code != 500 || strings.Contains(rec.Body.String(), "abc") || errorCode(t, rec) != "Internal" {
		t.Errorf("%d %s", rec.Code, rec.Body)
	}
	rec = httptest.NewRecorder()
	WriteError(rec, errorsJoin(&Error{Status: 422, Code: "Invalid", Message: "bad policy"}))
	if rec.Code != 422 || errorCode(t, rec) != "Invalid" {
		t.Errorf("%d %s", rec.Code, rec.Body)
	}
}

func errorsJoin(err error) error { return errors.Join(errors.New("context"), err) }

// Serve keeps in-flight invocations alive after its context ends and returns once they
// are answered.
func TestServeGracefulShutdown(t *testing.T) {
	entered := make(chan struct{})
	release := make(chan struct{})
	var invErr error
	s := New(Options{Logger: discardLogger()})
	s.HandleEvents("ResourceEvents", "event", 0, func(ctx context.Context, _ *Invocation, _ json.RawMessage) error {
		close(entered)
		<-release
		invErr = ctx.Err()
		return nil
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	served := make(chan error, 1)
	go func() { served <- s.Serve(ctx, ln) }()

	base := "http://" + ln.Addr().String()
	resp, err := http.Get(base + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("readiness %d", resp.StatusCode)
	}

	answered := make(chan int, 1)
	go func() {
		resp, err := http.Post(base+"/ResourceEvents", "application/json", bytes.NewReader(readTestdata(t, "invoke-eventgrid.json")))
		if err != nil {
			answered <- -1
			return
		}
		resp.Body.Close()
		answered <- resp.StatusCode
	}()
	<-entered
	cancel()
	close(release)
	if code := <-answered; code != 200 {
		t.Errorf("in-flight invocation answered %d, want 200", code)
	}
	if err := <-served; err != nil {
		t.Errorf("Serve: %v", err)
	}
	if invErr != nil {
		t.Errorf("invocation context was cancelled by shutdown: %v", invErr)
	}
}

func TestListenAndServeBadAddr(t *testing.T) {
	s := New(Options{Addr: "256.0.0.1:bad", Logger: discardLogger()})
	if err := s.ListenAndServe(context.Background()); err == nil {
		t.Error("listened on a bad address")
	}
}
