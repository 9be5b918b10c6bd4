package handler

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
)

// BenchmarkNoopInvocation is one full invocation through Handler(): the host's Event Grid
// payload (testdata/invoke-eventgrid.json, ~2.5 KB) is read, decoded, the event unwrapped,
// a no-op EventFunc called, and the answer encoded into an httptest recorder. No network.
func BenchmarkNoopInvocation(b *testing.B) {
	body := readTestdata(b, "invoke-eventgrid.json")
	s := New(Options{Logger: discardLogger()})
	s.HandleEvents("ResourceEvents", "event", 0, noopEvent)
	h := s.Handler()
	req := httptest.NewRequest(http.MethodPost, "/ResourceEvents", nil)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Azure-Functions-InvocationId", "00000000-0000-4000-8000-000000000002")
	rd := bytes.NewReader(body)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		rd.Reset(body)
		req.Body = io.NopCloser(rd)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
	}
}

func BenchmarkDecodeEvent(b *testing.B) {
	for _, file := range []string{"invoke-eventgrid.json", "invoke-eventgrid-string.json"} {
		req, err := DecodeInvokeRequest(readTestdata(b, file))
		if err != nil {
			b.Fatal(err)
		}
		raw := req.Data["event"]
		b.Run(file, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := DecodeEvent(raw); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkHTTPInvocation(b *testing.B) {
	body := readTestdata(b, "invoke-http-get.json")
	s := New(Options{Logger: discardLogger()})
	s.HandleHTTP("Api", "req", "res", 0, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"status":"ok"}`))
	}))
	h := s.Handler()
	req := httptest.NewRequest(http.MethodPost, "/Api", nil)
	rd := bytes.NewReader(body)
	b.ReportAllocs()
	for b.Loop() {
		rd.Reset(body)
		req.Body = io.NopCloser(rd)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatalf("status %d", rec.Code)
		}
	}
}
