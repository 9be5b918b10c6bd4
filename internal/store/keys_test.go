package store

import (
	"errors"
	"math"
	"regexp"
	"strings"
	"testing"
	"testing/quick"
	"time"
	"unicode/utf8"
)

// hasForbidden reports whether k contains a character Azure rejects in keys.
func hasForbidden(k string) bool {
	for _, r := range k {
		switch {
		case r == '/', r == '\\', r == '#', r == '?':
			return true
		case r <= 0x1F, r >= 0x7F && r <= 0x9F:
			return true
		}
	}
	return false
}

func TestEscapeKey(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", ""},
		{"plain-name_1.2", "plain-name_1.2"},
		{"/subscriptions/abc/resourcegroups/rg", "%2Fsubscriptions%2Fabc%2Fresourcegroups%2Frg"},
		{`a\b#c?d%e`, "a%5Cb%23c%3Fd%25e"},
		{"100%", "100%25"},
		{"%2F", "%252F"}, // a literal escape sequence survives
		{"tab\there\nnl\x00nul\x1f\x7f", "tab%09here%0Anl%00nul%1F%7F"},
		{"c1\u0080\u009f", "c1%C2%80%C2%9F"},
		{"\u00a0ümlaut 日本 🙂 '\"", "\u00a0ümlaut 日本 🙂 '\""}, // allowed characters stay readable
		{"bad\xffutf8", "bad%FFutf8"},
	} {
		got := EscapeKey(tc.in)
		if got != tc.want {
			t.Errorf("EscapeKey(%q) = %q, want %q", tc.in, got, tc.want)
		}
		back, err := UnescapeKey(got)
		if err != nil || back != tc.in {
			t.Errorf("UnescapeKey(%q) = %q, %v; want %q", got, back, err, tc.in)
		}
	}
}

func TestUnescapeKeyMalformed(t *testing.T) {
	for _, in := range []string{"%", "a%2", "%zz", "%G0", "ok%2Fbut%"} {
		if got, err := UnescapeKey(in); err == nil {
			t.Errorf("UnescapeKey(%q) = %q, want an error", in, got)
		}
	}
	if got, err := UnescapeKey("%2f"); err != nil || got != "/" { // lower-case hex accepted
		t.Errorf("UnescapeKey(%%2f) = %q, %v", got, err)
	}
}

// checkKeyProperty is the property every string must satisfy.
func checkKeyProperty(s string) bool {
	k := EscapeKey(s)
	back, err := UnescapeKey(k)
	return err == nil && back == s && !hasForbidden(k) && utf8.ValidString(k)
}

func TestEscapeKeyProperty(t *testing.T) {
	cfg := &quick.Config{MaxCount: 5000}
	if err := quick.Check(checkKeyProperty, cfg); err != nil {
		t.Error(err)
	}
	// Arbitrary bytes, including invalid UTF-8.
	if err := quick.Check(func(b []byte) bool { return checkKeyProperty(string(b)) }, cfg); err != nil {
		t.Error(err)
	}
	// Strings drawn from the interesting alphabet, so escapes are dense.
	alphabet := []rune{'/', '\\', '#', '?', '%', '\'', 0, 0x1f, 0x7f, 0x9f, 0xa0, 'a', 'F', '2', 'é', '🙂'}
	if err := quick.Check(func(idx []uint8) bool {
		var b strings.Builder
		for _, i := range idx {
			b.WriteRune(alphabet[int(i)%len(alphabet)])
		}
		return checkKeyProperty(b.String())
	}, cfg); err != nil {
		t.Error(err)
	}
}

func FuzzEscapeKey(f *testing.F) {
	for _, s := range []string{"", "/subscriptions/x", `\#?%`, "%25", "\x00\x1f\x7f\u0080\u009f", "bad\xff", "日本🙂"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if !checkKeyProperty(s) {
			t.Fatalf("round trip or forbidden character for %q: escaped %q", s, EscapeKey(s))
		}
	})
}

func FuzzUnescapeKey(f *testing.F) {
	for _, s := range []string{"", "%2F", "%", "%zz", "abc%25%2f"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		u, err := UnescapeKey(s)
		if err != nil {
			return
		}
		// Whatever decodes must re-encode to something that decodes to the same value.
		if back, err := UnescapeKey(EscapeKey(u)); err != nil || back != u {
			t.Fatalf("re-encoding %q: %q, %v", u, back, err)
		}
	})
}

func TestKeyLimit(t *testing.T) {
	if _, err := key("name", strings.Repeat("a", 512)); err != nil {
		t.Fatalf("512 ASCII chars (1 KiB in UTF-16) rejected: %v", err)
	}
	for _, s := range []string{
		strings.Repeat("a", 513),
		strings.Repeat("/", 200), // 600 chars once escaped
		strings.Repeat("🙂", 257), // surrogate pairs: 2 UTF-16 units each
	} {
		if _, err := key("name", s); !errors.Is(err, ErrTooLarge) {
			t.Errorf("key of %d bytes: err = %v, want ErrTooLarge", len(s), err)
		}
	}
	if _, err := key("name", ""); err == nil {
		t.Error("empty key accepted")
	}
}

var rowKeyRE = regexp.MustCompile(`^\d{19}-[0-9a-f]{16}$`)

func TestTransitionRowKey(t *testing.T) {
	at := time.Date(2025, 6, 1, 12, 0, 0, 123456789, time.UTC)
	base := Transition{PLSID: "/subscriptions/S/resourceGroups/RG/providers/Microsoft.Network/privateLinkServices/p",
		Connection: "c1", Subject: "connection", From: "Pending", To: "Approved", Action: "approve", Cause: "evt-1", At: at}
	k := func(tr Transition) string {
		t.Helper()
		s, err := TransitionRowKey(&tr)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	k0 := k(base)
	if !rowKeyRE.MatchString(k0) {
		t.Fatalf("row key %q does not look like 19 digits-16 hex", k0)
	}

	same := base
	same.PLSID = strings.ToUpper(base.PLSID) + "/" // resource IDs compare case-insensitively
	same.Actor, same.Reason, same.Phase, same.EventID = "someone", "other words", "done", "evt-2"
	same.At = at.In(time.FixedZone("x", 3600)).Add(10 * time.Nanosecond) // same 100 ns tick
	if got := k(same); got != k0 {
		t.Errorf("non-identifying fields changed the key: %q vs %q", got, k0)
	}

	for name, mut := range map[string]func(*Transition){
		"connection": func(x *Transition) { x.Connection = "c2" },
		"subject":    func(x *Transition) { x.Subject = "drift" },
		"from":       func(x *Transition) { x.From = "Rejected" },
		"to":         func(x *Transition) { x.To = "Rejected" },
		"action":     func(x *Transition) { x.Action = "reject" },
		"cause":      func(x *Transition) { x.Cause = "evt-2" },
		"pls":        func(x *Transition) { x.PLSID += "2" },
		"at":         func(x *Transition) { x.At = x.At.Add(time.Microsecond) },
		// Moving a boundary between fields must not collide (length-prefixed hash input).
		"boundary": func(x *Transition) { x.Subject, x.From = "connectionP", "ending" },
	} {
		tr := base
		mut(&tr)
		if k(tr) == k0 {
			t.Errorf("changing %s kept the key %q", name, k0)
		}
	}

	later := base
	later.At = at.Add(time.Second)
	if !(k(later) < k0) {
		t.Errorf("newer transition %q does not sort before older %q", k(later), k0)
	}

	for _, bad := range []time.Time{{}, time.Date(1969, 12, 31, 0, 0, 0, 0, time.UTC), time.Unix(0, math.MaxInt64).Add(time.Hour)} {
		tr := base
		tr.At = bad
		if _, err := TransitionRowKey(&tr); err == nil {
			t.Errorf("At %v accepted", bad)
		}
	}
	epoch := base
	epoch.At = time.Unix(0, 0)
	if got := k(epoch); !strings.HasPrefix(got, "9223372036854775807-") {
		t.Errorf("epoch key %q", got)
	}
}

func TestODataString(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"Pending", "Status eq 'Pending'"},
		{"x' or '1' eq '1", "Status eq 'x'' or ''1'' eq ''1'"},
		{"'", "Status eq ''''"},
		{"", "Status eq ''"},
	} {
		if got := eq("Status", tc.in); got != tc.want {
			t.Errorf("eq(Status, %q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

var sink string

func BenchmarkEscapeKey(b *testing.B) {
	for _, bc := range []struct{ name, in string }{
		{"plsID", "/subscriptions/00000000-0000-0000-0000-000000000000/resourcegroups/rg-network-prod/providers/microsoft.network/privatelinkservices/pls-web"},
		{"clean", "pe-webpubsub.6f1c2a1e-3b4d-4f5e-8a9b-0c1d2e3f4a5b"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				sink = EscapeKey(bc.in)
			}
		})
	}
}

func BenchmarkTransitionRowKey(b *testing.B) {
	tr := &Transition{PLSID: "/subscriptions/s/resourcegroups/rg/providers/microsoft.network/privatelinkservices/p",
		Connection: "c1", Subject: "connection", From: "Pending", To: "Approved", Action: "approve", Cause: "evt", At: time.Now()}
	b.ReportAllocs()
	for b.Loop() {
		sink, _ = TransitionRowKey(tr)
	}
}
