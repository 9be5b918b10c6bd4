package handler

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// An HTTP-trigger invocation over the body limit succeeds and answers the caller 413 JSON
// through the http output binding; an event invocation over it still fails with 413. Before:
// the handler answered every oversized invocation 413 itself, which fails an HTTP invocation
// too, and the host turned that into a bare 500 for the caller.
func TestOversizedHTTPInvocationAnswers413Output(t *testing.T) {
	s := New(Options{Logger: discardLogger(), MaxBodyBytes: 1024})
	called := false
	s.HandleHTTP("Api", "req", "res", 0, http.HandlerFunc(func(http.ResponseWriter, *http.Request) { called = true }))
	s.HandleEvents("ResourceEvents", "event", 0, func(context.Context, *Invocation, json.RawMessage) error {
		called = true
		return nil
	})
	h := s.Handler()
	pad := strings.Repeat("x", 4096)
	for _, chunked := range []bool{false, true} {
		var body io.Reader = bytes.NewReader([]byte(`{"Data":{"req":{"Url":"https://h/api/v1/status","Method":"POST","Body":"` + pad + `"}}}`))
		req := httptest.NewRequest(http.MethodPost, "/Api", body)
		if chunked {
			req = httptest.NewRequest(http.MethodPost, "/Api", io.MultiReader(body))
			req.ContentLength = -1
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			t.Fatalf("chunked=%v: invocation answered %d, want 200 (a failed invocation is a bare 500 to the caller): %s", chunked, rec.Code, rec.Body)
		}
		var res InvokeResponse
		if err := json.Unmarshal(rec.Body.Bytes(), &res); err != nil {
			t.Fatal(err)
		}
		var out HTTPResponse
		if err := json.Unmarshal(res.Outputs["res"], &out); err != nil {
			t.Fatalf("Outputs.res: %v: %s", err, rec.Body)
		}
		var e struct{ Error ErrorDetail }
		if out.StatusCode != "413" || !strings.HasPrefix(out.Headers["Content-Type"], "application/json") ||
			json.Unmarshal([]byte(out.Body), &e) != nil || e.Error.Code != "RequestTooLarge" || e.Error.Message == "" {
			t.Fatalf("chunked=%v: http output %+v", chunked, out)
		}
	}
	big := []byte(`{"Data":{"event":{"pad":"` + pad + `"}}}`)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/ResourceEvents", bytes.NewReader(big)))
	if rec.Code != http.StatusRequestEntityTooLarge {
		t.Fatalf("event: %d, want 413", rec.Code)
	}
	if called {
		t.Error("an oversized invocation reached the function")
	}
}

// The function key travels in Data.req.Url (?code=). A Url the handler cannot parse is
// refused without quoting it: neither the protocol answer nor any log line holds the key.
// Before: `Data.req: build http request: parse Url: parse "https://…?code=<key>…": …` in both.
func TestUnparsableURLDoesNotLeakTheFunctionKey(t *testing.T) {
	const key = "the-function-key-0123456789"
	var logs bytes.Buffer
	s := New(Options{Logger: slog.New(slog.NewJSONHandler(lockedWriter{new(sync.Mutex), &logs}, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	s.HandleHTTP("Api", "req", "res", 0, http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		t.Error("a request with an unparsable Url reached the function")
	}))
	for _, u := range []string{
		"https://plsgate%zz.azurewebsites.net/api/v1/status?code=" + key, // bad escape in the host
		"https://plsgate.azurewebsites.net/api/v1/status?code=" + key + "\x7f",
	} {
		env, _ := json.Marshal(map[string]any{"Data": map[string]any{"req": map[string]any{"Url": u, "Method": "GET"}}, "Metadata": map[string]any{}})
		rec, _ := post(t, s.Handler(), "Api", env, nil)
		if rec.Code != http.StatusBadRequest {
			t.Errorf("status %d, want 400: %s", rec.Code, rec.Body)
		}
		if strings.Contains(rec.Body.String(), key) {
			t.Errorf("the key is in the answer: %s", rec.Body)
		}
	}
	if strings.Contains(logs.String(), key) {
		t.Errorf("the key is in the logs: %s", logs.String())
	}
	if !strings.Contains(logs.String(), "Url is not a valid URL") {
		t.Errorf("the refusal is not logged: %s", logs.String())
	}
}
