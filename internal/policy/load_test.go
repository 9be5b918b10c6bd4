package policy

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// rulePrefix starts a policy whose first rule ("a", approve) begins on line 3; the keys
// that follow are on line 5 onwards.
const rulePrefix = "version: 1\nrules:\n  - name: a\n    action: approve\n"

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want []string // every error, in order, as LoadError.Error()
	}{
		{"wrong version", "version: 2\nrules: []\n",
			[]string{`p.yaml:1: version: unsupported version "2": this plsgate reads version 1`}},
		{"missing version", "rules: []\n",
			[]string{`p.yaml:1: version: required: the policy must say version: 1`}},
		{"missing rules", "version: 1\n",
			[]string{`p.yaml:1: rules: required: a list of rules (use [] for none)`}},
		{"rules not a list", "version: 1\nrules: {}\n",
			[]string{`p.yaml:2: rules: must be a list of rules`}},
		{"default approve", "version: 1\ndefault: approve\nrules: []\n",
			[]string{`p.yaml:2: default: cannot be approve: nothing is approved that no rule approves; use leave or reject`}},
		{"unknown default", "version: 1\ndefault: maybe\nrules: []\n",
			[]string{`p.yaml:2: default: unknown default "maybe": want leave or reject`}},
		{"unknown top-level field", "version: 1\nrulez: []\nrules: []\n",
			[]string{`p.yaml:2: rulez: unknown field "rulez" (known: version, default, rules)`}},
		{"field given twice", "version: 1\nversion: 1\nrules: []\n",
			[]string{`p.yaml:2: version: field given twice (first at line 1)`}},
		{"not a mapping", "- a\n",
			[]string{`p.yaml:1: must be a mapping with fields version, default, rules`}},
		{"empty", "", []string{`p.yaml: the policy is empty`}},
		{"comments only", "# nothing\n", []string{`p.yaml: the policy is empty`}},
		{"syntax error", "version: 1\nrules: [\n",
			[]string{`p.yaml:2: invalid YAML/JSON: did not find expected node content`}},
		{"two documents", "version: 1\nrules: []\n---\nversion: 1\n",
			[]string{`p.yaml:3: invalid YAML/JSON: a policy is one YAML document; found another`}},
		{"duplicate rule names are case-insensitive", "version: 1\nrules:\n  - name: a\n    action: approve\n  - name: A\n    action: reject\n",
			[]string{`p.yaml:5: rules[1].name: duplicate rule name "A" (first at line 3)`}},
		{"missing name", "version: 1\nrules:\n  - action: approve\n",
			[]string{`p.yaml:3: rules[0].name: required: every rule needs a unique name`}},
		{"empty name", "version: 1\nrules:\n  - name: ' '\n    action: approve\n",
			[]string{`p.yaml:3: rules[0].name: empty rule name`}},
		{"missing action", "version: 1\nrules:\n  - name: a\n",
			[]string{`p.yaml:3: rules[0].action: required: approve, reject or leave`}},
		{"unknown action", "version: 1\nrules:\n  - name: a\n    action: allow\n",
			[]string{`p.yaml:4: rules[0].action: unknown action "allow": want approve, reject or leave`}},
		{"unknown rule field", rulePrefix + "    matches: {}\n",
			[]string{`p.yaml:5: rules[0].matches: unknown field "matches" (known: name, match, when, action, message)`}},
		{"unknown match field", rulePrefix + "    match:\n      status: [Pending]\n      requesterSubscriptions: [x]\n",
			[]string{`p.yaml:7: rules[0].match.requesterSubscriptions: unknown field "requesterSubscriptions" (known: privateLinkService, resource, requester, connection, requestMessage, status, verifiedBy)`}},
		{"unknown requester field", rulePrefix + "    match:\n      requester: {subscription: [x]}\n",
			[]string{`p.yaml:6: rules[0].match.requester.subscription: unknown field "subscription" (known: subscriptions, resourceGroups, tenants, locations)`}},
		{"unknown pls field", rulePrefix + "    match:\n      privateLinkService:\n        tag: {a: b}\n",
			[]string{`p.yaml:7: rules[0].match.privateLinkService.tag: unknown field "tag" (known: ids, subscriptions, resourceGroups, names, locations, tags)`}},
		{"unknown connection field", rulePrefix + "    match:\n      connection: {message: x}\n",
			[]string{`p.yaml:6: rules[0].match.connection.message: unknown field "message" (known: names, requestMessage, description, linkIdentifiers)`}},
		{"invalid regex", rulePrefix + "    match:\n      connection:\n        requestMessage: '(please'\n",
			[]string{"p.yaml:7: rules[0].match.connection.requestMessage: invalid regex: error parsing regexp: missing closing ): `(please`"}},
		{"invalid regex design shape", rulePrefix + "    match:\n      requestMessage: '[a-'\n",
			[]string{"p.yaml:6: rules[0].match.requestMessage: invalid regex: error parsing regexp: missing closing ]: `[a-`"}},
		{"request message twice", rulePrefix + "    match: {requestMessage: x, connection: {description: y}}\n",
			[]string{`p.yaml:5: rules[0].match.requestMessage: same matcher as rules[0].match.connection.description: give only one`}},
		{"request message and description", rulePrefix + "    match:\n      connection:\n        requestMessage: x\n        description: y\n",
			[]string{`p.yaml:8: rules[0].match.connection.description: the request message is the description: give only one of rules[0].match.connection.requestMessage and rules[0].match.connection.description`}},
		{"bad globs", rulePrefix + "    match:\n      privateLinkService:\n        ids: ['/subscriptions/**', 'subscriptions/x', '/a//b']\n        names: ['a?b', 'x/y', 'ok-*']\n        resourceGroups: ['[rg]']\n",
			[]string{
				`p.yaml:7: rules[0].match.privateLinkService.ids[0]: bad glob "/subscriptions/**": "**" is not supported: "*" matches within one segment; write one "*" per segment`,
				`p.yaml:7: rules[0].match.privateLinkService.ids[1]: bad glob "subscriptions/x": must be a full resource ID starting with "/subscriptions/"`,
				`p.yaml:7: rules[0].match.privateLinkService.ids[2]: bad glob "/a//b": empty path segment`,
				`p.yaml:8: rules[0].match.privateLinkService.names[0]: bad glob "a?b": only "*" is a wildcard; "?", "[", "]", "{", "}" and "\" are not allowed`,
				`p.yaml:8: rules[0].match.privateLinkService.names[1]: bad glob "x/y": a name glob cannot contain "/"`,
				`p.yaml:9: rules[0].match.privateLinkService.resourceGroups[0]: bad glob "[rg]": only "*" is a wildcard; "?", "[", "]", "{", "}" and "\" are not allowed`,
			}},
		{"empty lists", rulePrefix + "    match:\n      privateLinkService: {tags: {}}\n      connection: {names: []}\n",
			[]string{
				`p.yaml:6: rules[0].match.privateLinkService.tags: empty mapping; omit the field to match any tags`,
				`p.yaml:7: rules[0].match.connection.names: empty list matches nothing; omit the field to match anything`,
			}},
		{"list of non-strings", rulePrefix + "    match:\n      requester:\n        subscriptions: [[a], '']\n",
			[]string{
				`p.yaml:7: rules[0].match.requester.subscriptions[0]: must be a string`,
				`p.yaml:7: rules[0].match.requester.subscriptions[1]: empty string`,
			}},
		{"tags not a mapping", rulePrefix + "    match:\n      privateLinkService: {tags: [plsgate]}\n",
			[]string{`p.yaml:6: rules[0].match.privateLinkService.tags: must be a mapping of tag name to value ("*" = the tag exists)`}},
		{"tag twice", rulePrefix + "    match:\n      privateLinkService:\n        tags:\n          plsgate: enabled\n          PLSGATE: '*'\n",
			[]string{`p.yaml:9: rules[0].match.privateLinkService.tags.PLSGATE: tag given twice (first at line 8; tag names are case-insensitive)`}},
		{"unknown verification", rulePrefix + "    match: {verifiedBy: keyVault}\n",
			[]string{`p.yaml:5: rules[0].match.verifiedBy: unknown verification "keyVault" (known: webPubSub)`}},
		{"CEL unknown field", rulePrefix + "    when: pls.nmae == 'x'\n",
			[]string{`p.yaml:5: rules[0].when: CEL: undefined field 'nmae' (at 1:4)`}},
		{"CEL unknown variable", rulePrefix + "    when: request.name == 'x'\n",
			[]string{`p.yaml:5: rules[0].when: CEL: undeclared reference to 'request' (did you mean 'requester'?) (at 1:1)`}},
		{"CEL not bool", rulePrefix + "    when: pls.name\n",
			[]string{`p.yaml:5: rules[0].when: CEL: the expression must be a bool, it is string`}},
		{"CEL type error", rulePrefix + "    when: pls.tags == 'x'\n",
			[]string{`p.yaml:5: rules[0].when: CEL: found no matching overload for '_==_' applied to '(map(string, string), string)' (at 1:10)`}},
		{"CEL error on second line of a block", rulePrefix + "    when: |\n      pls.name == 'x' &&\n        connection.nope\n",
			[]string{`p.yaml:7: rules[0].when: CEL: undefined field 'nope' (at 2:13)`}},
		{"CEL empty", rulePrefix + "    when: ''\n",
			[]string{`p.yaml:5: rules[0].when: empty CEL expression; omit when to always hold`}},
		{"unknown placeholder", rulePrefix + "    message: 'hi {user}'\n",
			[]string{`p.yaml:5: rules[0].message: unknown placeholder {user} (known: {rule}, {resource}, {pls}, {connection})`}},
		{"match not a mapping", rulePrefix + "    match: [a]\n",
			[]string{`p.yaml:5: rules[0].match: must be a mapping with fields privateLinkService, resource, requester, connection, requestMessage, status, verifiedBy`}},
		{"JSON line numbers", "{\n  \"version\": 1,\n  \"rules\": [\n    {\"name\": \"a\", \"action\": \"approve\",\n     \"match\": {\"requestMessage\": \"(\"}}\n  ]\n}\n",
			[]string{"p.yaml:5: rules[0].match.requestMessage: invalid regex: error parsing regexp: missing closing ): `(`"}},
		{"JSON unknown field", `{"version": 1, "rules": [{"name": "a", "action": "approve", "Match": {}}]}`,
			[]string{`p.yaml:1: rules[0].Match: unknown field "Match" (known: name, match, when, action, message)`}},
		{"several errors in several rules", "version: 3\nrules:\n  - name: a\n    action: approve\n    match: {requestMessage: '('}\n  - name: a\n    action: nope\n",
			[]string{
				`p.yaml:1: version: unsupported version "3": this plsgate reads version 1`,
				"p.yaml:5: rules[0].match.requestMessage: invalid regex: error parsing regexp: missing closing ): `(`",
				`p.yaml:6: rules[1].name: duplicate rule name "a" (first at line 3)`,
				`p.yaml:7: rules[1].action: unknown action "nope": want approve, reject or leave`,
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Parse("p.yaml", []byte(tt.src))
			if err == nil {
				t.Fatalf("Parse succeeded (%d rules), want errors %q", len(p.rules), tt.want)
			}
			got := strings.Split(err.Error(), "\n")
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("errors:\n%s\nwant:\n%s", err, strings.Join(tt.want, "\n"))
			}
			// Every joined error is a *LoadError naming the file.
			var errs []error
			if j, ok := err.(interface{ Unwrap() []error }); ok {
				errs = j.Unwrap()
			} else {
				errs = []error{err}
			}
			for _, e := range errs {
				var le *LoadError
				if !errors.As(e, &le) || le.File != "p.yaml" {
					t.Errorf("error %v is not a *LoadError for p.yaml", e)
				}
			}
		})
	}
}

func TestLoadErrorFields(t *testing.T) {
	_, err := Parse("policy.yaml", []byte(rulePrefix+"    match:\n      connection:\n        requestMessage: '(please'\n"))
	var le *LoadError
	if !errors.As(err, &le) {
		t.Fatalf("err = %v, want *LoadError", err)
	}
	if le.File != "policy.yaml" || le.Line != 7 || le.Field != "rules[0].match.connection.requestMessage" || !strings.HasPrefix(le.Msg, "invalid regex: ") {
		t.Errorf("LoadError = %+v", le)
	}
}

func TestParseWarnings(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want []string
	}{
		{"unreachable after catch-all", "version: 1\nrules:\n  - name: all\n    action: approve\n  - name: b\n    action: reject\n    match: {status: [Pending]}\n  - name: c\n    action: leave\n",
			[]string{
				`p.yaml:3: rules[0]: approves every connection on every PLS (no matchers, no when)`,
				`p.yaml:5: rules[1]: unreachable: rules[0] "all" matches every connection first (no matchers, no when)`,
				`p.yaml:8: rules[2]: unreachable: rules[0] "all" matches every connection first (no matchers, no when)`,
			}},
		{"catch-all reject is not an approve warning", "version: 1\nrules:\n  - name: all\n    action: reject\n  - name: b\n    action: approve\n",
			[]string{`p.yaml:5: rules[1]: unreachable: rules[0] "all" matches every connection first (no matchers, no when)`}},
		{"when is not a catch-all", "version: 1\nrules:\n  - name: a\n    action: reject\n    when: 'true'\n  - name: b\n    action: leave\n", nil},
		{"status", rulePrefix + "    match: {status: [Approved, Rejected, Gone]}\n",
			[]string{
				`p.yaml:5: rules[0].match.status[1]: Rejected is terminal in Azure: plsgate never approves a Rejected connection`,
				`p.yaml:5: rules[0].match.status[2]: unknown status "Gone" (known: Pending, Approved, Rejected, Disconnected, Removed)`,
				`p.yaml:5: rules[0].match.status: does not include Pending: plsgate only acts on Pending connections, so this rule can only report drift`,
			}},
		{"non-GUID IDs", rulePrefix + "    match:\n      requester:\n        subscriptions: [sub1]\n        tenants: ['" + tenantUs + "']\n",
			[]string{`p.yaml:7: rules[0].match.requester.subscriptions[0]: "sub1" does not look like an ID (a GUID)`}},
		{"no rules", "version: 1\ndefault: reject\nrules: []\n", []string{`p.yaml:3: rules: no rules: every connection gets the default (reject)`}},
		{"message on a leave rule", "version: 1\nrules:\n  - name: a\n    action: leave\n    match: {status: [Pending]}\n    message: hi\n",
			[]string{`p.yaml:6: rules[0].message: unused: a leave rule writes nothing to the connection`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := mustParseNamed(t, "p.yaml", tt.src)
			if got := p.Warnings(); strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("warnings:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}

func mustParseNamed(t *testing.T, name, src string) *Policy {
	t.Helper()
	p, err := Parse(name, []byte(src))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return p
}

// TestParseAccepts: each accepted form compiles to the policy it spells (default, rules in order
// with their actions, matchers and message template, as `plsgate policy check` summarises it).
func TestParseAccepts(t *testing.T) {
	tests := []struct{ name, src, want string }{
		{"json", `{"version": 1, "default": "reject", "rules": [{"name": "a", "action": "approve", "match": {"privateLinkService": {"tags": {"plsgate": "enabled"}}}}]}`,
			"v1 default reject | a approve [privateLinkService.tags: plsgate=enabled]"},
		{"version as string", "version: '1'\nrules: []\n", "v1 default leave"},
		{"rules null", "version: 1\nrules:\n", "v1 default leave"},
		{"match null", rulePrefix + "    match:\n", "v1 default leave | a approve []"},
		{"scalar for a list", rulePrefix + "    match: {status: Pending, privateLinkService: {names: pls-*}}\n",
			"v1 default leave | a approve [status: Pending; privateLinkService.names: pls-*]"},
		{"numbers and booleans as strings", rulePrefix + "    match: {connection: {linkIdentifiers: [536870912]}, privateLinkService: {tags: {enabled: true}}}\n",
			"v1 default leave | a approve [privateLinkService.tags: enabled=true; connection.linkIdentifiers: 536870912]"},
		{"anchors and aliases", "version: 1\nrules:\n  - name: a\n    action: approve\n    match: {privateLinkService: {names: &n [pls-a, pls-b]}}\n  - name: b\n    action: reject\n    match: {privateLinkService: {names: *n}, status: [Pending]}\n",
			"v1 default leave | a approve [privateLinkService.names: pls-a, pls-b] | b reject [status: Pending; privateLinkService.names: pls-a, pls-b]"},
		{"message braces", rulePrefix + "    message: '{} {not a placeholder} {rule}'\n",
			"v1 default leave | a approve [] message {} {not a placeholder} {rule}"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := parsed(mustParseNamed(t, "p.yaml", tt.src)); got != tt.want {
				t.Errorf("parsed\n got %s\nwant %s", got, tt.want)
			}
		})
	}
	// Braces that are no placeholder stay as written when the message is rendered.
	p := mustParseNamed(t, "p.yaml", rulePrefix+"    message: '{} {not a placeholder} {rule}'\n")
	if d := p.Evaluate(Facts{}); d.Rule != "a" || d.Message != "{} {not a placeholder} a" {
		t.Errorf("message braces: rule %q, message %q", d.Rule, d.Message)
	}
}

// parsed renders what a policy compiled to on one line.
func parsed(p *Policy) string {
	s := p.Summary()
	out := fmt.Sprintf("v%d default %s", s.Version, s.Default)
	for _, r := range s.Rules {
		out += fmt.Sprintf(" | %s %s [%s]", r.Name, r.Action, strings.Join(r.Match, "; "))
		if r.When != "" {
			out += " when " + r.When
		}
		if r.Message != "" {
			out += " message " + r.Message
		}
	}
	return out
}

func TestParseTooLarge(t *testing.T) {
	_, err := Parse("big.yaml", []byte("version: 1\nrules: []\n#"+strings.Repeat("x", maxPolicyBytes)))
	if err == nil || !strings.Contains(err.Error(), "big.yaml: the policy is larger than") {
		t.Fatalf("err = %v", err)
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "policy.yaml")
	if err := os.WriteFile(path, []byte("version: 1\nrules:\n  - name: a\n    action: nope\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, source, wantErr string
		rules                 int
	}{
		{"file errors name the file", path, path + ":4: rules[0].action: unknown action", 0},
		{"inline yaml", "version: 1\nrules:\n  - {name: a, action: reject}\n", "", 1},
		{"inline json", `{"version": 1, "rules": []}`, "", 0},
		{"inline errors", "version: 1\nrules: {}\n", "<inline>:2: rules: must be a list of rules", 0},
		{"missing file", filepath.Join(dir, "nope.yaml"), "load policy: open " + filepath.Join(dir, "nope.yaml"), 0},
		{"empty", "  ", "PLSGATE_POLICY: no policy given", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Load(tt.source)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(p.rules) != tt.rules {
				t.Errorf("rules = %d, want %d", len(p.rules), tt.rules)
			}
		})
	}
}
