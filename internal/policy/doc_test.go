package policy_test

import (
	"errors"
	"os"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/plsgate/plsgate/internal/policy"
)

const policyDoc = "../../docs/policy.md"

// knownFrom parses a policy that puts an unknown value at one place and returns what the
// loader says it accepts there, from "(known: a, b)" or "want a, b or c": the loader, not a
// list in this test, is the source, so a field added to it fails this test until documented.
func knownFrom(t *testing.T, src string, re *regexp.Regexp) []string {
	t.Helper()
	p, err := policy.Parse("doc.yaml", []byte(src))
	text := ""
	if err != nil {
		text = err.Error()
	} else {
		text = strings.Join(p.Warnings(), "\n")
	}
	m := re.FindStringSubmatch(text)
	if m == nil {
		t.Fatalf("no %v in the loader's answer to\n%s\n---\n%s", re, src, text)
	}
	return regexp.MustCompile(`\s*(?:,|\bor\b)\s*`).Split(strings.TrimSpace(m[1]), -1)
}

// TestPolicyDocNamesEverything: docs/policy.md names every field and matcher the loader
// accepts (by its path), every action, default, verification, placeholder and status, and
// every CEL variable and field.
func TestPolicyDocNamesEverything(t *testing.T) {
	data, err := os.ReadFile(policyDoc)
	if err != nil {
		t.Fatal(err)
	}
	doc := string(data)
	rule := "version: 1\nrules:\n  - name: a\n    action: leave\n"
	unknownField := regexp.MustCompile(`unknown field "zzz" \(known: ([^)]*)\)`)
	levels := []struct{ path, src string }{
		{"", "version: 1\nrules: []\nzzz: 1\n"},
		{"rules[]", rule + "    zzz: 1\n"},
		{"match", rule + "    match: {zzz: 1}\n"},
		{"match.privateLinkService", rule + "    match: {privateLinkService: {zzz: 1}}\n"},
		{"match.resource", rule + "    match: {resource: {zzz: 1}}\n"},
		{"match.requester", rule + "    match: {requester: {zzz: 1}}\n"},
		{"match.connection", rule + "    match: {connection: {zzz: 1}}\n"},
	}
	var want []string
	for _, l := range levels {
		for _, f := range knownFrom(t, l.src, unknownField) {
			if l.path != "" {
				f = l.path + "." + f
			}
			want = append(want, "`"+f+"`")
		}
	}
	values := []struct {
		src string
		re  string
	}{
		{"version: 1\nrules:\n  - {name: a, action: zzz}\n", `unknown action "zzz": want (.*)$`},
		{"version: 1\ndefault: zzz\nrules: []\n", `unknown default "zzz": want (.*)$`},
		{rule + "    match: {verifiedBy: zzz}\n", `unknown verification "zzz" \(known: ([^)]*)\)`},
		{rule + "    match: {status: [zzz]}\n", `unknown status "zzz" \(known: ([^)]*)\)`},
	}
	for _, v := range values {
		for _, x := range knownFrom(t, v.src, regexp.MustCompile(`(?m)`+v.re)) {
			want = append(want, "`"+x+"`")
		}
	}
	for _, x := range knownFrom(t, "version: 1\nrules:\n  - {name: a, action: approve, message: '{zzz}'}\n", regexp.MustCompile(`\(known: ([^)]*)\)`)) {
		want = append(want, "`"+x+"`") // placeholders, with their braces
	}
	// CEL: the variables are the Facts fields, named by their json tags.
	cel := map[string]reflect.Type{"resource": reflect.TypeFor[policy.Resource](), "pls": reflect.TypeFor[policy.PLS](), "connection": reflect.TypeFor[policy.Connection](), "requester": reflect.TypeFor[policy.Requester]()}
	for v, typ := range cel {
		want = append(want, "`"+v+"`")
		for i := range typ.NumField() {
			tag, _, _ := strings.Cut(typ.Field(i).Tag.Get("json"), ",")
			want = append(want, "`"+v+"."+tag+"`")
		}
	}
	want = append(want, "`now`")
	if len(want) < 40 {
		t.Fatalf("only %d names found: the probes no longer read the loader", len(want))
	}
	for _, w := range want {
		if !strings.Contains(doc, w) {
			t.Errorf("docs/policy.md does not name %s", w)
		}
	}
}

// TestPolicyDocExamplesLoad: every complete policy in docs/policy.md (a yaml block that starts
// with "version:") loads without errors.
func TestPolicyDocExamplesLoad(t *testing.T) {
	data, err := os.ReadFile(policyDoc)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, m := range regexp.MustCompile("(?s)```yaml\n(.*?)```").FindAllStringSubmatch(string(data), -1) {
		if !strings.HasPrefix(m[1], "version:") {
			continue
		}
		n++
		if _, err := policy.Parse("docs/policy.md", []byte(m[1])); err != nil {
			var le *policy.LoadError
			t.Errorf("example %d does not load (%v):\n%v\n%s", n, errors.As(err, &le), err, m[1])
		}
	}
	if n == 0 {
		t.Error("docs/policy.md has no complete example")
	}
}
