package hostemu

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"testing"
	"time"
	"unicode/utf8"
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

// Fuzz the emulator's decoders of what callers and handlers send it. Each input is read as a
// delivery body (splitJoinProperty) and as a validation code to wrap in a validation event.
func FuzzSplitEvents(f *testing.F) {
	for _, s := range []string{`[]`, `[{}]`, `{"id":"a"}`, `[1]`, `x`, `[{"data":"{\"validationCode\":\"c\"}"}]`,
		` [ {"a":[1,{}]} , { } ] `, `[{},[]]`, `[{}`, `{} {}`, `"{}"`, `null`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if err := splitJoinProperty(splitEvents, b); err != nil {
			t.Fatal(err)
		}
		_, _ = validationCode(b)
		_ = isValidationEvent(b)

		// Whatever the code, a validation event carrying it is recognised and the code read back,
		// in the Event Grid schema (data an object) and as a CloudEvent (data double-encoded).
		code := string(b)
		if code == "" || !utf8.ValidString(code) {
			return
		}
		data, _ := json.Marshal(map[string]string{"validationCode": code})
		eg, _ := json.Marshal([]map[string]any{{"id": "1", "eventType": validationEventType, "data": json.RawMessage(data)}})
		ce, _ := json.Marshal(map[string]any{"id": "1", "type": validationEventType, "data": string(data)})
		for _, body := range [][]byte{eg, ce} {
			if !isValidationEvent(body) {
				t.Fatalf("not a validation event: %s", body)
			}
			if got, err := validationCode(body); err != nil || got != code {
				t.Fatalf("validationCode(%s) = %q, %v; want %q", body, got, err, code)
			}
		}
	})
}

// splitJoinProperty returns how split breaks the delivery contract on b, or nil: it succeeds
// exactly when b is a JSON object or an array of objects, and joining what it returns gives b
// back (up to insignificant space).
func splitJoinProperty(split func([]byte) ([]json.RawMessage, error), b []byte) error {
	events, err := split(b)
	var v any
	want := false
	if json.Unmarshal(b, &v) == nil {
		switch x := v.(type) {
		case map[string]any:
			want = true
		case []any:
			want = true
			for _, e := range x {
				if _, ok := e.(map[string]any); !ok {
					want = false
				}
			}
		}
	}
	if (err == nil) != want {
		return fmt.Errorf("split(%q): %d events, err %v; want success %v", b, len(events), err, want)
	}
	if err != nil {
		return nil
	}
	var joined []byte
	if b := bytes.TrimSpace(b); b[0] == '{' {
		if len(events) != 1 {
			return fmt.Errorf("split(%q): %d events from one object", b, len(events))
		}
		joined = events[0]
	} else {
		parts := make([][]byte, len(events))
		for i, e := range events {
			parts[i] = e
		}
		joined = append(append([]byte("["), bytes.Join(parts, []byte(","))...), ']')
	}
	var want1, got bytes.Buffer
	if err := json.Compact(&want1, b); err != nil {
		return fmt.Errorf("compact input %q: %v", b, err)
	}
	if err := json.Compact(&got, joined); err != nil {
		return fmt.Errorf("split(%q): events do not join into JSON %q: %v", b, joined, err)
	}
	if !bytes.Equal(got.Bytes(), want1.Bytes()) {
		return fmt.Errorf("split(%q) then join = %s, want %s", b, got.Bytes(), want1.Bytes())
	}
	return nil
}

// The property catches splitters that break the contract, on the fuzz seeds alone.
func TestSplitJoinPropertyCatchesBrokenSplitters(t *testing.T) {
	dropsLast := func(b []byte) ([]json.RawMessage, error) {
		evs, err := splitEvents(b)
		if len(evs) > 0 {
			evs = evs[:len(evs)-1]
		}
		return evs, err
	}
	acceptsAnyArray := func(b []byte) ([]json.RawMessage, error) {
		var evs []json.RawMessage
		err := json.Unmarshal(b, &evs)
		return evs, err
	}
	for name, tc := range map[string]struct {
		split func([]byte) ([]json.RawMessage, error)
		input string
	}{
		"drops the last event":            {dropsLast, `[{"a":1},{"b":2}]`},
		"accepts an array of non-objects": {acceptsAnyArray, `[1]`},
		"refuses a single object":         {acceptsAnyArray, `{"id":"a"}`},
	} {
		if err := splitJoinProperty(tc.split, []byte(tc.input)); err == nil {
			t.Errorf("%s: no violation found on %q", name, tc.input)
		}
		if err := splitJoinProperty(splitEvents, []byte(tc.input)); err != nil {
			t.Errorf("splitEvents: %v", err)
		}
	}
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
