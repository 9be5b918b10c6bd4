package handler

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"unicode/utf8"
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

// FuzzDecodeString reads each input twice: as a raw Data/Metadata value and as a string the host
// encodes (see decodeStringProperties).
func FuzzDecodeString(f *testing.F) {
	for _, s := range []string{`"\"a\""`, `"a"`, `null`, `1`, `{}`, `"\"\\u0000\""`, `hello`, `say "hi"`, `<a&b>`, "\u2028", ` true `, `[]`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if err := decodeStringProperties(DecodeString, b); err != nil {
			t.Fatal(err)
		}
	})
}

// decodeStringProperties returns the first way decode breaks DecodeString's contract on b:
//   - as a raw value: not JSON, an object or an array is an error; null is ""; a number or boolean
//     is its literal text; a JSON string decodes;
//   - as a string s (valid UTF-8): the host's double encoding decodes to s exactly, and the single
//     encoding of the docs too, unless s is itself a JSON string literal (the documented ambiguity:
//     then its value).
func decodeStringProperties(decode func(json.RawMessage) (string, error), b []byte) error {
	got, err := decode(b)
	v := bytes.TrimSpace(b)
	switch {
	case !json.Valid(v):
		if err == nil {
			return fmt.Errorf("raw %q is not JSON but decoded to %q", b, got)
		}
	case v[0] == '{' || v[0] == '[':
		if err == nil {
			return fmt.Errorf("raw %q is a JSON object or array but decoded to %q", b, got)
		}
	case string(v) == "null":
		if err != nil || got != "" {
			return fmt.Errorf("raw null decoded to %q, %v; want \"\"", got, err)
		}
	case v[0] == '"':
		if err != nil {
			return fmt.Errorf("raw JSON string %q: %v", b, err)
		}
	default: // number, true, false
		if err != nil || got != string(v) {
			return fmt.Errorf("raw %q decoded to %q, %v; want its literal text", b, got, err)
		}
	}

	s := string(b)
	if !utf8.ValidString(s) { // json.Marshal would replace the invalid bytes
		return nil
	}
	single, _ := json.Marshal(s)
	double, _ := json.Marshal(string(single))
	if got, err := decode(double); err != nil || got != s {
		return fmt.Errorf("double-encoded %s decoded to %q, %v; want %q", double, got, err, s)
	}
	want := s
	var inner string
	if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' && json.Unmarshal(b, &inner) == nil {
		want = inner
	}
	if got, err := decode(single); err != nil || got != want {
		return fmt.Errorf("single-encoded %s decoded to %q, %v; want %q", single, got, err, want)
	}
	return nil
}

// The properties catch decoders that break the contract, on the fuzz seeds alone.
func TestDecodeStringPropertiesCatchBrokenDecoders(t *testing.T) {
	unwrapOnce := func(raw json.RawMessage) (string, error) { // forgets the host's second layer
		var s string
		err := json.Unmarshal(raw, &s)
		return s, err
	}
	acceptsObjects := func(raw json.RawMessage) (string, error) {
		if v := bytes.TrimSpace(raw); len(v) > 0 && v[0] == '{' {
			return string(v), nil
		}
		return DecodeString(raw)
	}
	nullText := func(raw json.RawMessage) (string, error) {
		if string(bytes.TrimSpace(raw)) == "null" {
			return "null", nil
		}
		return DecodeString(raw)
	}
	for name, tc := range map[string]struct {
		decode func(json.RawMessage) (string, error)
		input  string
	}{
		"one layer only":   {unwrapOnce, `hello`},
		"accepts objects":  {acceptsObjects, `{}`},
		"null as its text": {nullText, `null`},
	} {
		if err := decodeStringProperties(tc.decode, []byte(tc.input)); err == nil {
			t.Errorf("%s: no violation found on %q", name, tc.input)
		}
		if err := decodeStringProperties(DecodeString, []byte(tc.input)); err != nil {
			t.Errorf("DecodeString on %q: %v", tc.input, err)
		}
	}
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
