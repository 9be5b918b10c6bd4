package cli

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var updateGolden = flag.Bool("update", false, "rewrite golden files in testdata/")

const (
	examplePolicies    = "../../examples/policies/"
	exampleConnections = "../../examples/connections/"
	fdConnOK           = "pls-origin.5e6f7081-92a3-4b4c-86d7-e8f9a0b1c2d3"
)

func runPolicy(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var o, e bytes.Buffer
	code = Policy(t.Context(), args, &o, &e)
	return code, o.String(), e.String()
}

func TestPolicyUsage(t *testing.T) {
	tests := []struct {
		name   string
		args   []string
		code   int
		stderr string
		stdout string
	}{
		{"no subcommand", nil, ExitUsage, "usage:", ""},
		{"unknown subcommand", []string{"lint"}, ExitUsage, `unknown subcommand "lint"`, ""},
		{"help", []string{"help"}, ExitOK, "", "plsgate policy check FILE"},
		{"check without file", []string{"check"}, ExitUsage, "usage: plsgate policy check FILE", ""},
		{"check with two files", []string{"check", "a", "b"}, ExitUsage, "usage: plsgate policy check FILE", ""},
		{"check -h", []string{"check", "-h"}, ExitOK, "usage: plsgate policy check FILE", ""},
		{"check bad output", []string{"check", examplePolicies + "webpubsub.yaml", "--output", "yaml"}, ExitUsage, `plsgate policy check: --output "yaml": want text or json`, ""},
		{"eval bad output", []string{"eval", examplePolicies + "webpubsub.yaml", "--connection", exampleConnections + "webpubsub-connection.json", "--output", "xml"}, ExitUsage, `plsgate policy eval: --output "xml": want text or json`, ""},
		{"check unknown flag", []string{"check", "--verbose", examplePolicies + "webpubsub.yaml"}, ExitUsage, "flag provided but not defined: -verbose", ""},
		{"eval without inputs", []string{"eval", examplePolicies + "webpubsub.yaml"}, ExitUsage, "give --connection (and/or --pls)", ""},
		{"eval bad --now", []string{"eval", examplePolicies + "webpubsub.yaml", "--connection", "{}", "--now", "yesterday"}, ExitUsage, "--now: parsing time", ""},
		{"eval unknown verification", []string{"eval", examplePolicies + "webpubsub.yaml", "--connection", exampleConnections + "webpubsub-connection.json", "--verified", "keyVault"}, ExitUsage, `--verified: unknown verification "keyVault"`, ""},
		{"eval missing pls file", []string{"eval", examplePolicies + "webpubsub.yaml", "--connection", "{}", "--pls", "nope.json"}, ExitUsage, "--pls: nope.json: no such file, and not JSON", ""},
		{"eval bad connection JSON", []string{"eval", examplePolicies + "webpubsub.yaml", "--connection", `{"id": 1}`}, ExitUsage, "read connection JSON: json: cannot unmarshal number", ""},
		{"eval ambiguous connection", []string{"eval", examplePolicies + "webpubsub.yaml", "--pls", exampleConnections + "webpubsub-pls.json"}, ExitUsage, "has 2 connections: name one of", ""},
		{"eval unknown connection name", []string{"eval", examplePolicies + "webpubsub.yaml", "--pls", exampleConnections + "webpubsub-pls.json", "--connection", "pls-web.nope"}, ExitUsage, `connection "pls-web.nope" not found`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runPolicy(t, tt.args...)
			if code != tt.code {
				t.Errorf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tt.code, stdout, stderr)
			}
			if !strings.Contains(stderr, tt.stderr) || !strings.Contains(stdout, tt.stdout) {
				t.Errorf("stdout %q\nstderr %q\nwant stdout ~ %q, stderr ~ %q", stdout, stderr, tt.stdout, tt.stderr)
			}
		})
	}
}

// Without --pls a --connection that is no file and no JSON is a missing file, not a name.
func TestPolicyEvalMissingFileWithoutPLS(t *testing.T) {
	code, _, stderr := runPolicy(t, "eval", examplePolicies+"webpubsub.yaml", "--connection", "nope.json")
	if code != ExitUsage || !strings.Contains(stderr, "nope.json: no such file, and not JSON") {
		t.Errorf("exit %d stderr %q", code, stderr)
	}
}

func TestPolicyCheckExamples(t *testing.T) {
	tests := []struct {
		file string
		want []string
	}{
		{"webpubsub.yaml", []string{"webpubsub.yaml: valid (version 1, 1 rule, default leave)", "1. webpubsub-shared-endpoints -> approve  (line 17)",
			"verifiedBy: webPubSub", "privateLinkService.tags: plsgate=enabled", "requestMessage: /^plsgate-wps-(3f9c1e7a52d84b60|c41d8e0b96fa2735)$/", "verifications used: webPubSub"}},
		{"saas-allowlist.yaml", []string{"valid (version 1, 2 rules, default leave)", "1. blocked-subscriptions -> reject", "2. customer-allowlist -> approve",
			"requester.subscriptions: aaaaaaaa-0000-0000-0000-000000000001, aaaaaaaa-0000-0000-0000-000000000002"}},
		{"frontdoor.yaml", []string{"1. frontdoor-origin -> approve", "privateLinkService.tags: frontdoor-profile=*",
			`when: connection.description == "frontdoor:" + pls.tags["frontdoor-profile"]`}},
		{"reject-other-tenants.yaml", []string{"1. own-tenant -> approve", "2. reject-other-tenants -> reject", "otherwise: leave"}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			code, stdout, stderr := runPolicy(t, "check", examplePolicies+tt.file)
			if code != ExitOK || stderr != "" {
				t.Fatalf("exit %d stderr %q", code, stderr)
			}
			for _, w := range tt.want {
				if !strings.Contains(stdout, w) {
					t.Errorf("stdout lacks %q:\n%s", w, stdout)
				}
			}
			if strings.Contains(stdout, "warnings:") {
				t.Errorf("example has warnings:\n%s", stdout)
			}
		})
	}
}

func TestPolicyCheckInvalid(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "bad.yaml")
	src := "version: 1\nrules:\n  - name: a\n    action: approve\n    match:\n      connection:\n        requestMessage: '(please'\n  - name: a\n    action: allow\n"
	if err := os.WriteFile(path, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := runPolicy(t, "check", path)
	if code != ExitUsage || stdout != "" {
		t.Fatalf("exit %d stdout %q", code, stdout)
	}
	for _, w := range []string{
		"plsgate policy check: invalid policy:",
		path + ":7: rules[0].match.connection.requestMessage: invalid regex: error parsing regexp: missing closing ): `(please`",
		path + `:8: rules[1].name: duplicate rule name "a" (first at line 3)`,
		path + `:9: rules[1].action: unknown action "allow": want approve, reject or leave`,
	} {
		if !strings.Contains(stderr, w) {
			t.Errorf("stderr lacks %q:\n%s", w, stderr)
		}
	}
	// eval refuses an invalid policy the same way.
	code, _, stderr = runPolicy(t, "eval", path, "--connection", exampleConnections+"saas-customer.json")
	if code != ExitUsage || !strings.Contains(stderr, "plsgate policy eval: invalid policy:") {
		t.Errorf("eval exit %d stderr %q", code, stderr)
	}
}

func TestPolicyCheckWarningsAndJSON(t *testing.T) {
	inline := "version: 1\nrules:\n  - {name: all, action: approve}\n  - {name: never, action: reject, match: {status: [Pending]}}\n"
	code, stdout, _ := runPolicy(t, "check", inline)
	if code != ExitOK {
		t.Fatalf("exit %d", code)
	}
	for _, w := range []string{"warnings:", "<inline>:3: rules[0]: approves every connection on every PLS", `<inline>:4: rules[1]: unreachable: rules[0] "all"`, "matches every connection"} {
		if !strings.Contains(stdout, w) {
			t.Errorf("stdout lacks %q:\n%s", w, stdout)
		}
	}
	code, stdout, _ = runPolicy(t, "check", "--output", "json", inline)
	var s struct {
		Source   string
		Rules    []struct{ Name, Action string }
		Warnings []string
	}
	if err := json.Unmarshal([]byte(stdout), &s); err != nil || code != ExitOK {
		t.Fatalf("exit %d, %v: %s", code, err, stdout)
	}
	if s.Source != "<inline>" || len(s.Rules) != 2 || s.Rules[1].Name != "never" || s.Rules[1].Action != "reject" || len(s.Warnings) != 2 {
		t.Errorf("summary = %+v", s)
	}
}

func TestPolicyEvalText(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want []string
	}{
		{"webpubsub verified",
			[]string{"eval", examplePolicies + "webpubsub.yaml", "--connection", exampleConnections + "webpubsub-connection.json", "--pls", exampleConnections + "webpubsub-pls.json", "--verified", "webPubSub"},
			[]string{"decision: approve", "rule:     webpubsub-shared-endpoints", `reason:   Rule "webpubsub-shared-endpoints" matched, so the connection is approved.`,
				"message:  approved by plsgate rule webpubsub-shared-endpoints", "verified:   webPubSub=true",
				"1. YES webpubsub-shared-endpoints: matched: verifiedBy, privateLinkService.ids, privateLinkService.tags, requestMessage held"}},
		{"webpubsub unverified",
			[]string{"eval", examplePolicies + "webpubsub.yaml", "--connection", exampleConnections + "webpubsub-connection.json", "--pls", exampleConnections + "webpubsub-pls.json"},
			[]string{"decision: leave", "rule:     (default)", "verified:   webPubSub=false",
				"1. no  webpubsub-shared-endpoints: verifiedBy: no configured Web PubSub resource has a matching shared private link resource", "-> default: leave"}},
		{"flags before the file, connection by name",
			[]string{"eval", "--pls", exampleConnections + "frontdoor-pls.json", "--connection", fdConnOK, examplePolicies + "frontdoor.yaml"},
			[]string{"decision: approve", "rule:     frontdoor-origin", "message:  approved by plsgate (frontdoor-origin): Front Door origin " + fdConnOK,
				`connection: ` + fdConnOK + ` (Pending) request message "frontdoor:contoso-fd"`}},
		{"other front door profile",
			[]string{"eval", examplePolicies + "frontdoor.yaml", "--pls", exampleConnections + "frontdoor-pls.json", "--connection", "pls-origin.6f708192-a3b4-4c5d-97e8-f9a0b1c2d3e4"},
			[]string{"decision: leave", `1. no  frontdoor-origin: when: false: connection.description == "frontdoor:" + pls.tags["frontdoor-profile"]`}},
		{"saas blocked",
			[]string{"eval", examplePolicies + "saas-allowlist.yaml", "--connection", exampleConnections + "saas-blocked.json"},
			[]string{"decision: reject", "rule:     blocked-subscriptions", "1. YES blocked-subscriptions"}},
		{"saas unknown customer",
			[]string{"eval", examplePolicies + "saas-allowlist.yaml", "--connection", exampleConnections + "saas-unknown.json"},
			[]string{"decision: leave", `1. no  blocked-subscriptions: requester.subscriptions: the requester subscription (from privateEndpoint.id) is not "bbbbbbbb-0000-0000-0000-000000000666"`,
				"2. no  customer-allowlist: requester.subscriptions", "requester:  subscription cccccccc-0000-0000-0000-000000000003, resource group network, tenant unknown, location eastus"}},
		{"other tenant, inline JSON connection",
			[]string{"eval", examplePolicies + "reject-other-tenants.yaml", "--pls", exampleConnections + "webpubsub-pls.json", "--tenant", "0b0c0d0e-0000-4000-8000-000000000001",
				"--connection", `"pls-web.9e8d7c6b-5a49-4382-b1a0-f9e8d7c6b5a4"`},
			[]string{"decision: reject", "rule:     reject-other-tenants", "1. no  own-tenant: requester.tenants: the requester tenant is not", "2. YES reject-other-tenants"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runPolicy(t, tt.args...)
			if code != ExitOK {
				t.Fatalf("exit %d stderr %q", code, stderr)
			}
			for _, w := range tt.want {
				if !strings.Contains(stdout, w) {
					t.Errorf("stdout lacks %q:\n%s", w, stdout)
				}
			}
		})
	}
}

func TestPolicyEvalWarningsGoToStderr(t *testing.T) {
	code, stdout, stderr := runPolicy(t, "eval", "version: 1\nrules:\n  - {name: all, action: leave}\n  - {name: b, action: reject}\n",
		"--connection", `{"name": "c1", "properties": {"privateLinkServiceConnectionState": {"status": "Pending"}}}`)
	if code != ExitOK || !strings.Contains(stdout, "decision: leave") || !strings.Contains(stderr, `warning: <inline>:4: rules[1]: unreachable`) {
		t.Errorf("exit %d stdout %q stderr %q", code, stdout, stderr)
	}
}

// TestPolicyEvalJSONGolden pins the --output json wire shape (go test -update rewrites).
func TestPolicyEvalJSONGolden(t *testing.T) {
	now := "2025-06-01T12:00:00Z"
	tests := []struct {
		golden string
		args   []string
	}{
		{"policy-eval-webpubsub.json", []string{"eval", examplePolicies + "webpubsub.yaml", "--connection", exampleConnections + "webpubsub-connection.json",
			"--pls", exampleConnections + "webpubsub-pls.json", "--verified", "webpubsub", "--output", "json", "--now", now}},
		{"policy-eval-saas-default.json", []string{"eval", examplePolicies + "saas-allowlist.yaml", "--connection", exampleConnections + "saas-unknown.json",
			"--output", "json", "--now", now}},
		{"policy-eval-tenants-reject.json", []string{"eval", examplePolicies + "reject-other-tenants.yaml", "--pls", exampleConnections + "webpubsub-pls.json",
			"--connection", "pls-web.9e8d7c6b-5a49-4382-b1a0-f9e8d7c6b5a4", "--tenant", "0b0c0d0e-0000-4000-8000-000000000001", "--output", "json", "--now", now}},
	}
	for _, tt := range tests {
		t.Run(tt.golden, func(t *testing.T) {
			code, stdout, stderr := runPolicy(t, tt.args...)
			if code != ExitOK {
				t.Fatalf("exit %d stderr %q", code, stderr)
			}
			path := filepath.Join("testdata", tt.golden)
			if *updateGolden {
				if err := os.MkdirAll("testdata", 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, []byte(stdout), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if stdout != string(want) {
				t.Errorf("output differs from %s:\n%s", path, stdout)
			}
			var out struct {
				Decision struct {
					Action string
					Trace  []struct{ Rule, Reason string }
				}
			}
			if err := json.Unmarshal([]byte(stdout), &out); err != nil || out.Decision.Action == "" || len(out.Decision.Trace) == 0 {
				t.Errorf("decode: %v %+v", err, out)
			}
		})
	}
}

// connJSON is a private endpoint connection in the ARM REST shape.
func connJSON(name, status string) string {
	return `{"name": "` + name + `", "properties": {"privateLinkServiceConnectionState": {"status": "` + status + `", "description": "m"}}}`
}

// TestPolicyEvalStatusNotes: the note says what the decision means for the status. Approved
// and approved by the policy is no drift; Approved and not approved is drift (README);
// Rejected is terminal, not drift; Pending has no note.
func TestPolicyEvalStatusNotes(t *testing.T) {
	approveAll := "version: 1\nrules: [{name: all, action: approve}]\n"
	rejectAll := "version: 1\nrules: [{name: all, action: reject}]\n"
	leaveAll := "version: 1\nrules: [{name: none, action: leave}]\n"
	tests := []struct {
		name, policy, status string
		want, not            []string // in / not in stdout
		jsonNote             string   // in the --output json note ("" = no note)
	}{
		{"approved and approved by policy", approveAll, "Approved", []string{"decision: approve"}, []string{"note:", "drift"}, ""},
		{"approved, policy would leave", leaveAll, "Approved", []string{"decision: leave", "note:     drift: the connection is Approved but the policy would not approve it (decision: leave)"}, nil, "drift:"},
		{"approved, policy would reject", rejectAll, "Approved", []string{"decision: reject", "note:     drift: the connection is Approved but the policy would not approve it (decision: reject)", "DRIFT_MODE=enforce"}, nil, "drift:"},
		{"rejected is terminal, not drift", approveAll, "Rejected", []string{"note:     the connection is Rejected, which is terminal in Azure", "it is not drift"}, []string{"drift:", "reports drift"}, "terminal"},
		{"rejected with a reject policy", rejectAll, "Rejected", []string{"terminal in Azure"}, []string{"drift:"}, "terminal"},
		{"pending", approveAll, "Pending", []string{"decision: approve"}, []string{"note:"}, ""},
		{"disconnected", rejectAll, "Disconnected", []string{"note:     the connection is Disconnected"}, []string{"drift:"}, "Disconnected"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runPolicy(t, "eval", tt.policy, "--connection", connJSON("c1", tt.status))
			if code != ExitOK {
				t.Fatalf("exit %d stderr %q", code, stderr)
			}
			for _, w := range tt.want {
				if !strings.Contains(stdout, w) {
					t.Errorf("stdout lacks %q:\n%s", w, stdout)
				}
			}
			for _, w := range tt.not {
				if strings.Contains(stdout, w) {
					t.Errorf("stdout has %q:\n%s", w, stdout)
				}
			}
			code, stdout, _ = runPolicy(t, "eval", tt.policy, "--connection", connJSON("c1", tt.status), "--output", "json")
			var out struct{ Note *string }
			if err := json.Unmarshal([]byte(stdout), &out); err != nil || code != ExitOK {
				t.Fatalf("json: exit %d %v: %s", code, err, stdout)
			}
			switch {
			case tt.jsonNote == "" && out.Note != nil:
				t.Errorf("json note = %q, want none", *out.Note)
			case tt.jsonNote != "" && (out.Note == nil || !strings.Contains(*out.Note, tt.jsonNote)):
				t.Errorf("json note = %v, want ~ %q", out.Note, tt.jsonNote)
			}
		})
	}
}

// ARM's status is a free string: an unknown value is evaluated, with a warning.
func TestPolicyEvalUnknownStatusWarns(t *testing.T) {
	code, stdout, stderr := runPolicy(t, "eval", "version: 1\nrules: [{name: all, action: approve}]\n", "--connection", connJSON("c1", "Frozen"))
	if code != ExitOK || !strings.Contains(stdout, "decision: approve") || !strings.Contains(stdout, "note:     the connection's status is Frozen, not Pending") ||
		!strings.Contains(stderr, `warning: connection status "Frozen" is not one plsgate knows (Pending, Approved, Rejected, Disconnected, Removed)`) {
		t.Errorf("exit %d\nstdout %s\nstderr %s", code, stdout, stderr)
	}
}

// A body that is not a connection is refused (exit 2) with what was expected, instead of a
// confident decision about nothing.
func TestPolicyEvalRefusesNonConnections(t *testing.T) {
	const spl = `{"id": "/subscriptions/e1f2a3b4-c5d6-4e7f-8a9b-0c1d2e3f4a5b/resourceGroups/contoso/providers/Microsoft.SignalRService/webPubSub/contoso-webpubsub/sharedPrivateLinkResources/pls-pe",
		"name": "pls-pe", "properties": {"privateLinkResourceId": "/subscriptions/5f1c2d3e-0a1b-4c2d-8e3f-9a0b1c2d3e4f/resourceGroups/contoso/providers/Microsoft.Network/privateLinkServices/pls-web",
		"fqdns": ["pls.contoso.com"], "requestMessage": "please approve", "status": "Pending", "provisioningState": "Succeeded"}}`
	tests := []struct {
		name, conn string
		want       []string
	}{
		{"name only", `{"name": "x"}`, []string{"the connection JSON is not a private endpoint connection (it has no properties.privateLinkServiceConnectionState.status)",
			"expected a connection as GET .../privateLinkServices/{pls}/privateEndpointConnections/{name}"}},
		{"shared private link resource", spl, []string{"not a private endpoint connection", "It looks like a shared private link resource"}},
		{"state without status", `{"name": "x", "properties": {"privateLinkServiceConnectionState": {"description": "m"}}}`, []string{"not a private endpoint connection"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runPolicy(t, "eval", examplePolicies+"webpubsub.yaml", "--connection", tt.conn)
			if code != ExitUsage || stdout != "" {
				t.Fatalf("exit %d, want 2; stdout %q", code, stdout)
			}
			for _, w := range tt.want {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr lacks %q:\n%s", w, stderr)
				}
			}
		})
	}
}

// An ARM list ({"value": [...]}, or az's bare array) needs --name to pick the connection.
func TestPolicyEvalARMList(t *testing.T) {
	list := `{"value": [` + connJSON("pls-web.a", "Pending") + `, ` + connJSON("pls-web.b", "Approved") + `]}`
	pol := "version: 1\nrules: [{name: only-b, action: approve, match: {connection: {names: [pls-web.b]}}}]\n"
	tests := []struct {
		name   string
		args   []string
		code   int
		stdout string
		stderr string
	}{
		{"no --name", []string{"--connection", list}, ExitUsage, "", "--connection is an ARM list of 2 connection(s): pick one with --name NAME (names: pls-web.a, pls-web.b)"},
		{"unknown --name", []string{"--connection", list, "--name", "pls-web.c"}, ExitUsage, "", `--name "pls-web.c": no such connection in the ARM list (names: pls-web.a, pls-web.b)`},
		{"--name picks", []string{"--connection", list, "--name", "PLS-WEB.B"}, ExitOK, "connection: pls-web.b (Approved)", ""},
		{"bare array", []string{"--connection", `[` + connJSON("pls-web.a", "Pending") + `]`, "--name", "pls-web.a"}, ExitOK, "connection: pls-web.a (Pending)", ""},
		{"one-item list still needs --name", []string{"--connection", `{"value": [` + connJSON("pls-web.a", "Pending") + `]}`}, ExitUsage, "", "pick one with --name NAME (names: pls-web.a)"},
		{"empty list", []string{"--connection", `{"value": []}`}, ExitUsage, "", "the ARM list is empty"},
		{"--name and a connection name", []string{"--pls", exampleConnections + "webpubsub-pls.json", "--connection", "pls-web.x", "--name", "pls-web.y"}, ExitUsage, "", "--connection and --name both name the connection"},
		{"--name in --pls", []string{"--pls", exampleConnections + "webpubsub-pls.json", "--name", "pls-web.2f3e4d5c-6b7a-4980-a1b2-c3d4e5f6a7b8"}, ExitOK, "connection: pls-web.2f3e4d5c-6b7a-4980-a1b2-c3d4e5f6a7b8 (Pending)", ""},
		{"--name in a PLS given as --connection", []string{"--connection", exampleConnections + "webpubsub-pls.json", "--name", "pls-web.2f3e4d5c-6b7a-4980-a1b2-c3d4e5f6a7b8"}, ExitOK, "connection: pls-web.2f3e4d5c-6b7a-4980-a1b2-c3d4e5f6a7b8 (Pending)", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runPolicy(t, append([]string{"eval", pol}, tt.args...)...)
			if code != tt.code || !strings.Contains(stdout, tt.stdout) || !strings.Contains(stderr, tt.stderr) {
				t.Errorf("exit %d (want %d)\nstdout %s\nstderr %s\nwant stdout ~ %q, stderr ~ %q", code, tt.code, stdout, stderr, tt.stdout, tt.stderr)
			}
		})
	}
}
