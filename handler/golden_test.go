package handler

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
)

// -update rewrites the *.golden.json files (the normalized typed forms). The invoke-*.json
// and response-*.json files are documented host payloads and are never generated.
var update = flag.Bool("update", false, "rewrite testdata/*.golden.json")

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// canonical re-encodes JSON with sorted keys and no insignificant space.
func canonical(t testing.TB, b []byte) string {
	t.Helper()
	var v any
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("invalid JSON %q: %v", b, err)
	}
	out, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

func assertJSONEqual(t testing.TB, what string, got, want []byte) {
	t.Helper()
	if g, w := canonical(t, got), canonical(t, want); g != w {
		t.Errorf("%s differs\n got: %s\nwant: %s", what, g, w)
	}
}

func compareGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		var buf bytes.Buffer
		if err := json.Indent(&buf, got, "", "  "); err != nil {
			t.Fatal(err)
		}
		buf.WriteByte('\n')
		if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	assertJSONEqual(t, name, got, readTestdata(t, name))
}

// invokeGoldens are host payloads: the ones without "docs" are what internal/hostemu
// produces (its tests compare against these same files), modeled on the host's source.
var invokeGoldens = []struct {
	file    string
	binding string
	kind    kind
	want    string // golden of the decoded trigger value; "" = Data[binding] itself
}{
	{"invoke-eventgrid.json", "event", kindEvent, ""},
	{"invoke-eventgrid-string.json", "event", kindEvent, "event-resourcewrite.golden.json"},
	{"invoke-cloudevent.json", "event", kindEvent, ""},
	{"invoke-timer-first.json", "timer", kindTimer, "invoke-timer-first.timer.golden.json"},
	{"invoke-timer.json", "timer", kindTimer, "invoke-timer.timer.golden.json"},
	{"invoke-http-get.json", "req", kindHTTP, ""},
	{"invoke-http-post.json", "req", kindHTTP, ""},
	{"invoke-http-docs.json", "req", kindHTTP, "invoke-http-docs.req.golden.json"},
}

func TestInvokeRequestGolden(t *testing.T) {
	for _, tc := range invokeGoldens {
		t.Run(tc.file, func(t *testing.T) {
			in := readTestdata(t, tc.file)
			req, err := DecodeInvokeRequest(in)
			if err != nil {
				t.Fatal(err)
			}
			out, err := json.Marshal(req)
			if err != nil {
				t.Fatal(err)
			}
			assertJSONEqual(t, "round trip", out, in)
		})
	}
}

func TestTriggerValueGolden(t *testing.T) {
	for _, tc := range invokeGoldens {
		t.Run(tc.file, func(t *testing.T) {
			req, err := DecodeInvokeRequest(readTestdata(t, tc.file))
			if err != nil {
				t.Fatal(err)
			}
			raw := req.Data[tc.binding]
			var got []byte
			switch tc.kind {
			case kindEvent:
				got, err = DecodeEvent(raw)
			case kindTimer:
				var ti TimerInfo
				if ti, err = DecodeTimerInfo(raw); err == nil {
					got, err = json.Marshal(ti)
				}
			case kindHTTP:
				var hr *HTTPRequest
				if hr, err = DecodeHTTPRequest(raw); err == nil {
					got, err = json.Marshal(hr)
				}
			}
			if err != nil {
				t.Fatal(err)
			}
			if tc.want == "" {
				assertJSONEqual(t, "decoded "+tc.binding, got, raw)
				return
			}
			compareGolden(t, tc.want, got)
		})
	}
}

func TestInvokeResponseGolden(t *testing.T) {
	for _, name := range []string{"response-event.json", "response-http.json", "response-failed.json"} {
		t.Run(name, func(t *testing.T) {
			in := readTestdata(t, name)
			var res InvokeResponse
			if err := json.Unmarshal(in, &res); err != nil {
				t.Fatal(err)
			}
			out, err := json.Marshal(res)
			if err != nil {
				t.Fatal(err)
			}
			assertJSONEqual(t, "round trip", out, in)

			if raw, ok := res.Outputs["res"]; ok {
				var hr HTTPResponse
				if err := json.Unmarshal(raw, &hr); err != nil {
					t.Fatal(err)
				}
				out, err := json.Marshal(hr)
				if err != nil {
					t.Fatal(err)
				}
				assertJSONEqual(t, "http output round trip", out, raw)
			}
		})
	}
}

// The server's own answers are exactly the documented shapes.
func TestServerAnswerGolden(t *testing.T) {
	s := New(Options{Logger: discardLogger()})
	s.HandleEvents("ResourceEvents", "event", 0, func(ctx context.Context, inv *Invocation, _ json.RawMessage) error {
		inv.Logf("event %s concerns %s", "4b2f1c3e-9a57-4d0e-8a36-2f0b8e2c6d11", "pls-web")
		if inv.Sys.MethodName == "fail" {
			return errors.New("reconcile pls-web: read private link service: 429 Too Many Requests")
		}
		inv.Logf("approved pe-wps.1a2b by rule webpubsub-shared-endpoints")
		return nil
	})
	s.HandleHTTP("Api", "req", "res", 0, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		_, _ = io.WriteString(w, `{"status":"ok","pending":1}`+"\n")
	}))
	failing := bytes.Replace(readTestdata(t, "invoke-eventgrid.json"), []byte(`"MethodName": "ResourceEvents"`), []byte(`"MethodName": "fail"`), 1)

	for _, tc := range []struct {
		name, function string
		body           []byte
		status         int
		golden         string
	}{
		{"event succeeded", "ResourceEvents", readTestdata(t, "invoke-eventgrid.json"), http.StatusOK, "response-event.json"},
		{"event failed", "ResourceEvents", failing, http.StatusInternalServerError, "response-failed.json"},
		{"http", "Api", readTestdata(t, "invoke-http-get.json"), http.StatusOK, "response-http.json"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			s.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/"+tc.function, bytes.NewReader(tc.body)))
			if rec.Code != tc.status {
				t.Fatalf("status %d, want %d: %s", rec.Code, tc.status, rec.Body)
			}
			if ct := rec.Header().Get("Content-Type"); ct != "application/json; charset=utf-8" {
				t.Errorf("Content-Type %q", ct)
			}
			assertJSONEqual(t, "answer", rec.Body.Bytes(), readTestdata(t, tc.golden))
		})
	}
}

func TestUnknownFunctionGolden(t *testing.T) {
	s := New(Options{Logger: discardLogger()})
	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/Nope", bytes.NewReader(readTestdata(t, "invoke-eventgrid.json"))))
	if rec.Code != http.StatusNotFound {
		t.Fatalf("status %d, want 404", rec.Code)
	}
	assertJSONEqual(t, "404 body", rec.Body.Bytes(), readTestdata(t, "error-not-found.json"))
}
