package handler

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
)

// seedInvokes adds every invoke golden (and pieces of them) as seeds.
func seedInvokes(f *testing.F, part func(req *InvokeRequest) [][]byte) {
	for _, tc := range invokeGoldens {
		b := readTestdata(f, tc.file)
		if part == nil {
			f.Add(b)
			continue
		}
		req, err := DecodeInvokeRequest(b)
		if err != nil {
			f.Fatal(err)
		}
		for _, p := range part(req) {
			f.Add(p)
		}
	}
}

func dataValues(req *InvokeRequest) [][]byte {
	var out [][]byte
	for _, v := range req.Data {
		out = append(out, v)
	}
	return out
}

func FuzzDecodeInvokeRequest(f *testing.F) {
	seedInvokes(f, nil)
	f.Add([]byte(`{"Data":null,"Metadata":{"sys":"x"}}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, b []byte) {
		req, err := DecodeInvokeRequest(b)
		if err != nil {
			return
		}
		out, err := json.Marshal(req)
		if err != nil {
			t.Fatalf("re-encode: %v", err)
		}
		if _, err := DecodeInvokeRequest(out); err != nil {
			t.Fatalf("re-decode %s: %v", out, err)
		}
	})
}

func FuzzDecodeEvent(f *testing.F) {
	seedInvokes(f, dataValues)
	f.Add([]byte(`"\"{}\""`))
	f.Add([]byte(`"\"\\\"{}\\\"\""`))
	f.Fuzz(func(t *testing.T, b []byte) {
		ev, err := DecodeEvent(b)
		if err != nil {
			return
		}
		var m map[string]json.RawMessage
		if err := json.Unmarshal(ev, &m); err != nil {
			t.Fatalf("DecodeEvent returned a non-object %q: %v", ev, err)
		}
	})
}

func FuzzDecodeTimerInfo(f *testing.F) {
	seedInvokes(f, dataValues)
	f.Add([]byte(`{"ScheduleStatus":{"Last":"0001-01-01T00:00:00"}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		ti, err := DecodeTimerInfo(b)
		if err != nil {
			return
		}
		out, err := json.Marshal(ti)
		if err != nil {
			// Only years outside [0,9999] cannot be re-encoded; the host never sends them.
			return
		}
		if _, err := DecodeTimerInfo(out); err != nil {
			t.Fatalf("re-decode %s: %v", out, err)
		}
	})
}

func FuzzDecodeHTTPRequest(f *testing.F) {
	seedInvokes(f, dataValues)
	f.Add([]byte(`{"Url":"http://h/a?b=c","Method":"GET","Query":"{}","Headers":{"A":"b"},"Body":"x"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		hr, err := DecodeHTTPRequest(b)
		if err != nil {
			return
		}
		if hr.Query == nil || hr.Headers == nil || hr.Params == nil {
			t.Fatal("decoder left a nil map")
		}
		out, err := json.Marshal(hr)
		if err != nil {
			t.Fatalf("re-encode: %v", err)
		}
		if _, err := DecodeHTTPRequest(out); err != nil {
			t.Fatalf("re-decode %s: %v", out, err)
		}
		if r, err := hr.Request(context.Background()); err == nil && r.URL == nil {
			t.Fatal("request without URL")
		}
	})
}

func FuzzDecodeString(f *testing.F) {
	for _, s := range []string{`"\"a\""`, `"a"`, `null`, `1`, `{}`, `"\"\\u0000\""`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = DecodeString(b)
	})
}

// FuzzInvoke drives whole invocations: whatever the body, the answer is a JSON document
// with a protocol status.
func FuzzInvoke(f *testing.F) {
	seedInvokes(f, nil)
	f.Add([]byte(`{"Data":{"event":"\"[]\""}}`))
	s := New(Options{Logger: discardLogger(), MaxBodyBytes: 1 << 16})
	s.HandleEvents("ResourceEvents", "event", 0, noopEvent)
	s.HandleTimer("Reconcile", "timer", 0, func(context.Context, *Invocation, TimerInfo) error { return nil })
	s.HandleHTTP("Api", "req", "res", 0, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(r.URL.Path))
	}))
	h := s.Handler()
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, fn := range []string{"ResourceEvents", "Reconcile", "Api"} {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/"+fn, bytes.NewReader(b)))
			switch rec.Code {
			case 200, 400, 413:
			default:
				t.Fatalf("%s answered %d: %s", fn, rec.Code, rec.Body)
			}
			if !json.Valid(rec.Body.Bytes()) {
				t.Fatalf("%s answered non-JSON %q", fn, rec.Body)
			}
		}
	})
}
