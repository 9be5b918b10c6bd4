package policy

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// FuzzParse: no input may panic the loader; an accepted policy must evaluate without
// panicking and never approve by default; a rejected one must explain itself with
// *LoadErrors.
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("..", "..", "examples", "policies", "*.yaml"))
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, s := range []string{
		"",
		"version: 1\nrules: []\n",
		`{"version": 1, "default": "reject", "rules": [{"name": "a", "action": "approve", "match": {"requestMessage": "^x$"}}]}`,
		rulePrefix + "    match: {privateLinkService: {ids: ['/subscriptions/*/x'], tags: {a: '*'}}, status: Pending}\n    when: 'pls.name == \"x\"'\n",
		rulePrefix + "    match: {requester: {subscriptions: [&a x]}, connection: {names: [*a]}}\n",
		"a: &a [*a]\n",
		"version: 1\nrules: [{name: a, action: approve, message: '{rule}{pls}{connection}{'}]\n",
		"version: !!binary AAAA\nrules: !!map {}\n",
		"\t{\"version\": 1}",
		"version: 1\nrules:\n  - name: a\n    action: approve\n    when: |\n      pls.fqdns.all(a, a.matches('('))\n",
	} {
		f.Add([]byte(s))
	}
	facts := baseFacts()
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := Parse("fuzz.yaml", data)
		if err != nil {
			var le *LoadError
			if !errors.As(err, &le) {
				t.Fatalf("error is not a *LoadError: %v", err)
			}
			return
		}
		p.Warnings()
		p.Verifications()
		p.Summary()
		d := p.Evaluate(facts)
		if d.Action == Approve && d.Rule == "" {
			t.Fatalf("approved without a rule: %+v", d)
		}
		if d.Action != Approve && d.Action != Reject && d.Action != Leave {
			t.Fatalf("action %q", d.Action)
		}
	})
}

// FuzzFactsFromARM: pasted ARM JSON must never panic the reader.
func FuzzFactsFromARM(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("..", "..", "examples", "connections", "*.json"))
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, []byte(nil))
		f.Add([]byte(`"c"`), b)
	}
	f.Add([]byte(`{"value": [{"id": "/subscriptions/s/resourceGroups/r/providers/Microsoft.Network/privateLinkServices/p/privateEndpointConnections/c"}]}`), []byte(`{"id": "/x"}`))
	f.Add([]byte(`[{}, {"name": 1}]`), []byte(`{"type": "Microsoft.Network/privateLinkServices"}`))
	f.Fuzz(func(t *testing.T, conn, pls []byte) {
		fa, err := FactsFromARM(conn, pls)
		if err == nil && fa.Connection.ID == "" && fa.Connection.Name == "" {
			t.Fatalf("facts without a connection: %+v", fa)
		}
	})
}
