package handler

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestDecodeString(t *testing.T) {
	tests := []struct {
		name, raw, want string
		wantErr         bool
	}{
		{"double-encoded (host)", `"\"hello\""`, "hello", false},
		{"single-encoded (docs)", `"hello"`, "hello", false},
		{"double-encoded with escapes", `"\"a\\\"b\\nc\""`, "a\"b\nc", false},
		{"double-encoded empty", `"\"\""`, "", false},
		{"quotes that are not a literal stay", `"\"a\" and \"b\""`, `"a" and "b"`, false},
		{"null", `null`, "", false},
		{"number", `12`, "12", false},
		{"boolean", `true`, "true", false},
		{"surrounding space", " \"\\\"x\\\"\" ", "x", false},
		{"object", `{"a":1}`, "", true},
		{"array", `["a"]`, "", true},
		{"empty", ``, "", true},
		{"broken", `"abc`, "", true},
		{"bare word", `hello`, "", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := DecodeString(json.RawMessage(tc.raw))
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tc.wantErr)
			}
			if got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestDecodeEvent(t *testing.T) {
	const obj = `{"id":"1","eventType":"X","data":{"a":"b"}}`
	single, _ := json.Marshal(obj)
	double, _ := json.Marshal(string(single))
	tests := []struct {
		name, raw string
		wantErr   bool
	}{
		{"object", obj, false},
		{"object with space", "\n  " + obj + "\n", false},
		{"JSON string of the object", string(single), false},
		{"double-encoded string (dataType string)", string(double), false},
		{"array", `[` + obj + `]`, true},
		{"number", `42`, true},
		{"string that is not an object", `"\"hi\""`, true},
		{"truncated object", `{"id":`, true},
		{"null", `null`, true},
		{"empty", ``, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := DecodeEvent(json.RawMessage(tc.raw))
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tc.wantErr)
			}
			if err == nil {
				assertJSONEqual(t, "event", got, []byte(obj))
			}
		})
	}
}

func TestParseHostTime(t *testing.T) {
	want := time.Date(2024, 5, 1, 10, 0, 0, 123456700, time.UTC)
	tests := []struct {
		in   string
		want time.Time
	}{
		{"2024-05-01T10:00:00.1234567Z", want},
		{"2024-05-01T10:00:00.1234567+00:00", want},
		{"2024-05-01T12:00:00.1234567+02:00", want},
		{"2024-05-01T10:00:00.1234567", want},
		{"0001-01-01T00:00:00", time.Time{}},
		{"2024-05-01T10:00:00Z", want.Truncate(time.Second)},
	}
	for _, tc := range tests {
		got, err := parseHostTime(tc.in)
		if err != nil {
			t.Errorf("%s: %v", tc.in, err)
			continue
		}
		if !got.Equal(tc.want) {
			t.Errorf("%s: got %v, want %v", tc.in, got, tc.want)
		}
	}
	if _, err := parseHostTime("yesterday"); err == nil {
		t.Error("parsed a non-time")
	}
}

func TestDecodeTimerInfo(t *testing.T) {
	tests := []struct {
		name, raw string
		want      TimerInfo
		wantErr   bool
	}{
		{
			name: "monitor off",
			raw:  `{"Schedule":{"AdjustForDST":true},"ScheduleStatus":null,"IsPastDue":false}`,
			want: TimerInfo{Schedule: Schedule{AdjustForDST: true}},
		},
		{
			name: "first run, zone-less defaults",
			raw:  `{"Schedule":{"AdjustForDST":true},"ScheduleStatus":{"Last":"0001-01-01T00:00:00","Next":"2024-05-01T10:02:00+00:00","LastUpdated":"0001-01-01T00:00:00"},"IsPastDue":true}`,
			want: TimerInfo{Schedule: Schedule{AdjustForDST: true}, IsPastDue: true, ScheduleStatus: &ScheduleStatus{Next: time.Date(2024, 5, 1, 10, 2, 0, 0, time.UTC)}},
		},
		{
			name: "as a JSON string",
			raw:  `"{\"Schedule\":{\"AdjustForDST\":false},\"IsPastDue\":true}"`,
			want: TimerInfo{IsPastDue: true},
		},
		{name: "bad time", raw: `{"ScheduleStatus":{"Last":"soon"}}`, wantErr: true},
		{name: "array", raw: `[]`, wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := DecodeTimerInfo(json.RawMessage(tc.raw))
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tc.wantErr)
			}
			if tc.wantErr {
				return
			}
			if got.IsPastDue != tc.want.IsPastDue || got.Schedule != tc.want.Schedule || (got.ScheduleStatus == nil) != (tc.want.ScheduleStatus == nil) {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
			if s := got.ScheduleStatus; s != nil {
				w := tc.want.ScheduleStatus
				if !s.Last.Equal(w.Last) || !s.Next.Equal(w.Next) || !s.LastUpdated.Equal(w.LastUpdated) {
					t.Errorf("status %+v, want %+v", *s, *w)
				}
			}
		})
	}
}

func TestDecodeHTTPRequestShapes(t *testing.T) {
	tests := []struct {
		name, raw string
		want      HTTPRequest
		wantErr   bool
	}{
		{
			name: "Query as the string {} (docs), no Params, no Body",
			raw:  `{"Url":"http://localhost:7071/api/hello","Method":"GET","Query":"{}","Headers":{"Accept":["*/*"]}}`,
			want: HTTPRequest{URL: "http://localhost:7071/api/hello", Method: "GET", Query: map[string]string{}, Headers: map[string][]string{"Accept": {"*/*"}}, Params: map[string]string{}},
		},
		{
			name: "Query as a string holding values; header as a plain string; quoted ETag kept",
			raw:  `{"Url":"u","Method":"GET","Query":"{\"a\":\"1\"}","Headers":{"If-Match":"\"abc\"","X":["1","2"]},"Params":{"path":"status","n":3,"gone":null}}`,
			want: HTTPRequest{URL: "u", Method: "GET", Query: map[string]string{"a": "1"}, Headers: map[string][]string{"If-Match": {`"abc"`}, "X": {"1", "2"}}, Params: map[string]string{"path": "status", "n": "3"}},
		},
		{
			name: "Body null and Identities null are absent",
			raw:  `{"Url":"u","Method":"POST","Query":{},"Headers":{},"Params":{},"Identities":null,"Body":null}`,
			want: HTTPRequest{URL: "u", Method: "POST", Query: map[string]string{}, Headers: map[string][]string{}, Params: map[string]string{}},
		},
		{
			name: "whole value as a JSON string",
			raw:  `"{\"Url\":\"u\",\"Method\":\"GET\"}"`,
			want: HTTPRequest{URL: "u", Method: "GET", Query: map[string]string{}, Headers: map[string][]string{}, Params: map[string]string{}},
		},
		{name: "Query is a number", raw: `{"Query":1}`, wantErr: true},
		{name: "header value is an object", raw: `{"Headers":{"A":{"b":1}}}`, wantErr: true},
		{name: "not an object", raw: `[1]`, wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := DecodeHTTPRequest(json.RawMessage(tc.raw))
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tc.wantErr)
			}
			if !tc.wantErr && !reflect.DeepEqual(*got, tc.want) {
				t.Errorf("got  %+v\nwant %+v", *got, tc.want)
			}
		})
	}
}

func TestHTTPRequestBuild(t *testing.T) {
	hr := &HTTPRequest{
		URL:    "https://plsgate.azurewebsites.net/api/v1/connections/approve?code=k&dry=1",
		Method: "POST",
		Query:  map[string]string{"code": "k", "dry": "1"},
		Headers: map[string][]string{
			"Host":                       {"ignored.example"},
			"Content-Type":               {"application/json"},
			"Content-Length":             {"999"},
			"X-Ms-Client-Principal-Name": {"alice@contoso.com"},
			"Accept":                     {"a", "b"},
		},
		Params: map[string]string{"path": "connections/approve"},
		Body:   `{"reason":"ticket 42"}`,
	}
	ctx := context.WithValue(context.Background(), invocationKey{}, &Invocation{ID: "x"})
	r, err := hr.Request(ctx)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(r.Body)
	checks := []struct{ name, got, want string }{
		{"method", r.Method, "POST"},
		{"path", r.URL.Path, "/api/v1/connections/approve"},
		{"query", r.URL.Query().Get("dry"), "1"},
		{"RequestURI", r.RequestURI, "/api/v1/connections/approve?code=k&dry=1"},
		{"host", r.Host, "plsgate.azurewebsites.net"},
		{"header", r.Header.Get("X-Ms-Client-Principal-Name"), "alice@contoso.com"},
		{"multi header", strings.Join(r.Header.Values("Accept"), ","), "a,b"},
		{"stale Content-Length dropped", r.Header.Get("Content-Length"), ""},
		{"path value", r.PathValue("path"), "connections/approve"},
		{"body", string(body), `{"reason":"ticket 42"}`},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s: got %q, want %q", c.name, c.got, c.want)
		}
	}
	if r.ContentLength != int64(len(hr.Body)) {
		t.Errorf("ContentLength %d", r.ContentLength)
	}
	if r.TLS == nil {
		t.Error("https request without TLS state")
	}
	if inv, ok := FromContext(r.Context()); !ok || inv.ID != "x" {
		t.Error("request context lost the invocation")
	}
}

func TestHTTPRequestBuildEdgeCases(t *testing.T) {
	t.Run("query rebuilt from Query when Url has none; empty body is NoBody", func(t *testing.T) {
		r, err := (&HTTPRequest{URL: "http://h", Method: "GET", Query: map[string]string{"b": "2 3", "a": "1"}}).Request(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if r.URL.Path != "/" || r.URL.RawQuery != "a=1&b=2+3" || r.Body != http.NoBody || r.TLS != nil {
			t.Errorf("got path %q query %q body %v tls %v", r.URL.Path, r.URL.RawQuery, r.Body, r.TLS)
		}
	})
	t.Run("octet-stream body arrives base64", func(t *testing.T) {
		r, err := (&HTTPRequest{URL: "http://h/x", Method: "POST", Headers: map[string][]string{"content-type": {"application/octet-stream"}}, Body: "AAEC"}).Request(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(r.Body)
		if string(b) != "\x00\x01\x02" {
			t.Errorf("body %q", b)
		}
	})
	for _, hr := range []HTTPRequest{{URL: "http://h"}, {URL: "http://h", Method: "BAD METHOD"}, {URL: "http://[::1", Method: "GET"}} {
		if _, err := hr.Request(context.Background()); err == nil {
			t.Errorf("%+v: built a request", hr)
		}
	}
}
