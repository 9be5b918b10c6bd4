package hostemu

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"
)

func TestMatchRoute(t *testing.T) {
	tests := []struct {
		route, path string
		want        map[string]string // nil = no match
	}{
		{"v1/{*path}", "v1/status", map[string]string{"path": "status"}},
		{"v1/{*path}", "v1/connections/approve", map[string]string{"path": "connections/approve"}},
		{"v1/{*path}", "V1/x", map[string]string{"path": "x"}},
		{"v1/{*path}", "v1", map[string]string{}},
		{"v1/{*path}", "v2/x", nil},
		{"v1/{*path}", "", nil},
		{"items/{id}", "items/42", map[string]string{"id": "42"}},
		{"items/{id:int}", "items/42", map[string]string{"id": "42"}},
		{"items/{id}", "items", nil},
		{"items/{id}", "items/42/more", nil},
		{"items/{id?}", "items", map[string]string{}},
		{"items/{id=7}", "items/8", map[string]string{"id": "8"}},
		{"Api", "api", map[string]string{}},
	}
	for _, tc := range tests {
		segs, err := parseRoute(tc.route)
		if err != nil {
			t.Fatalf("%s: %v", tc.route, err)
		}
		got, ok := matchRoute(segs, tc.path)
		if (tc.want == nil) != !ok || (ok && !reflect.DeepEqual(got, tc.want)) {
			t.Errorf("%s ~ %q = %v, %v; want %v", tc.route, tc.path, got, ok, tc.want)
		}
	}
	for _, bad := range []string{"a//b", "a/{}", "a{b}", "{*a}/b"} {
		if _, err := parseRoute(bad); err == nil {
			t.Errorf("parsed %q", bad)
		}
	}
}

func TestParseTimeSpan(t *testing.T) {
	tests := map[string]time.Duration{
		"00:10:00":     10 * time.Minute,
		"01:00:00":     time.Hour,
		"1.02:00:00":   26 * time.Hour,
		"00:00:01.500": 1500 * time.Millisecond,
	}
	for in, want := range tests {
		got, err := parseTimeSpan(in)
		if err != nil || got != want {
			t.Errorf("%s = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"10", "a:b:c", "00:10"} {
		if _, err := parseTimeSpan(bad); err == nil {
			t.Errorf("parsed %q", bad)
		}
	}
}

func TestHostValue(t *testing.T) {
	tests := []struct{ in, want string }{
		{`{"a": 1}`, `{"a":1}`},
		{`"x"`, `"\"x\""`},
		{`[1, 2]`, `"[1,2]"`},
		{`12`, `"12"`},
		{`null`, `"null"`},
	}
	for _, tc := range tests {
		got, err := hostValue(json.RawMessage(tc.in))
		if err != nil || string(got) != tc.want {
			t.Errorf("hostValue(%s) = %s, %v; want %s", tc.in, got, err, tc.want)
		}
	}
	if got := string(csharpString("a<b")); got != `"\"a<b\""` {
		t.Errorf("csharpString = %s", got)
	}
}

func TestDotnetTime(t *testing.T) {
	if got := dotnetTime(time.Time{}); got != "0001-01-01T00:00:00" {
		t.Errorf("zero = %s", got)
	}
	if got := dotnetTime(time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)); got != "2024-05-01T10:00:00.0000000+00:00" {
		t.Errorf("time = %s", got)
	}
	if got := utcNow(time.Date(2024, 5, 1, 10, 0, 0, 5, time.UTC)); got != "2024-05-01T10:00:00.0000000Z" {
		t.Errorf("utcNow = %s", got)
	}
}

// Fuzz the emulator's decoders of what callers and handlers send it.
func FuzzSplitEvents(f *testing.F) {
	for _, s := range []string{`[]`, `[{}]`, `{"id":"a"}`, `[1]`, `x`, `[{"data":"{\"validationCode\":\"c\"}"}]`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if events, err := splitEvents(b); err == nil {
			for _, ev := range events {
				if !json.Valid(ev) {
					t.Fatalf("invalid event %q", ev)
				}
			}
		}
		_, _ = validationCode(b)
		_ = isValidationEvent(b)
	})
}

func FuzzParseHTTPOutput(f *testing.F) {
	for _, s := range []string{
		`{"statusCode":"200","status":"200","body":"x","headers":{"A":"b"}}`,
		`"{\"StatusCode\":\"301\",\"Status\":\"301\",\"Body\":\"\",\"Headers\":{}}"`,
		`{"statusCode":200}`, `[]`, `null`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		out, err := parseHTTPOutput(b)
		if err == nil && (out.status < 100 || out.status > 599) {
			t.Fatalf("accepted status %d", out.status)
		}
	})
}
