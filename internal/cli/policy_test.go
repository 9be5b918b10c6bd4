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
		{"check bad output", []string{"check", examplePolicies + "webpubsub.yaml", "--output", "yaml"}, ExitUsage, "usage:", ""},
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
		{"webpubsub.yaml", []string{"webpubsub.yaml: valid (version 1, 1 rule, default leave)", "1. webpubsub-shared-endpoints -> approve  (line 12)",
			"verifiedBy: webPubSub", "privateLinkService.tags: plsgate=enabled", "requestMessage: /^please approve$/", "verifications used: webPubSub"}},
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
		{"approved connection reports drift only",
			[]string{"eval", "version: 1\nrules: [{name: all, action: reject}]\n", "--connection",
				`{"name": "c1", "properties": {"privateLinkServiceConnectionState": {"status": "Approved"}}}`},
			[]string{"decision: reject", "note:     the connection is Approved; plsgate only acts on Pending connections"}},
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
		"--connection", `{"name": "c1"}`)
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
