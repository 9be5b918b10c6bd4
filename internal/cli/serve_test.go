package cli

import (
	"bytes"
	"context"
	"maps"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// An invalid policy or setting refuses to start (exit 2) and names the field.
func TestServeRefusesInvalidConfiguration(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	if err := os.WriteFile(bad, []byte("version: 1\nrules:\n  - name: a\n    match: { requestMessage: \"([\" }\n    action: approve\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cases := map[string]struct {
		env  map[string]string
		want []string
	}{
		"policy":  {map[string]string{"PLSGATE_TABLES_CONNECTION": "UseDevelopmentStorage=true", "PLSGATE_POLICY": bad}, []string{"PLSGATE_POLICY", "bad.yaml:4", "rules[0].match.requestMessage", "invalid regex"}},
		"setting": {map[string]string{"PLSGATE_TABLES_CONNECTION": "AccountKey=secret", "DRIFT_MODE": "fix"}, []string{"setting DRIFT_MODE", `"fix"`}},
	}
	// Issue 13.2: approver lists are typed and fit AUTH_MODE.
	entra := map[string]string{"PLSGATE_TABLES_CONNECTION": "UseDevelopmentStorage=true", "AUTH_MODE": "entra",
		"AUTH_TENANT_ID": "72f988bf-86f1-41af-91ab-2d7cd011db47", "AUTH_AUDIENCE": "api://plsgate", "APPROVERS": "oid:6f1d1f4e-6a57-4d2e-9b8c-0d1d2f3a4b5c"}
	for name, c := range map[string]struct {
		set  []string
		want []string
	}{
		"bare GUID approver":         {[]string{"APPROVERS", "6f1d1f4e-6a57-4d2e-9b8c-0d1d2f3a4b5c"}, []string{"setting APPROVERS", "write oid:6f1d1f4e-6a57-4d2e-9b8c-0d1d2f3a4b5c", "or group:"}},
		"key mode with approvers":    {[]string{"AUTH_MODE", "", "AUTH_TENANT_ID", "", "AUTH_AUDIENCE", ""}, []string{"setting AUTH_MODE", "APPROVERS"}},
		"entra without approvers":    {[]string{"APPROVERS", ""}, []string{"setting APPROVERS", "AUTH_MODE=entra"}},
		"entra without tenant":       {[]string{"AUTH_TENANT_ID", ""}, []string{"setting AUTH_TENANT_ID"}},
		"entra without audience":     {[]string{"AUTH_AUDIENCE", ""}, []string{"setting AUTH_AUDIENCE"}},
		"easyauth without approvers": {[]string{"AUTH_MODE", "easyauth", "APPROVERS", ""}, []string{"setting APPROVERS", "AUTH_MODE=easyauth"}},
	} {
		env := maps.Clone(entra)
		for i := 0; i+1 < len(c.set); i += 2 {
			env[c.set[i]] = c.set[i+1]
		}
		cases["auth: "+name] = struct {
			env  map[string]string
			want []string
		}{env, c.want}
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			var out, errb bytes.Buffer
			code := Main(context.Background(), Env{Args: []string{"serve"}, Stdout: &out, Stderr: &errb, Getenv: func(k string) string { return c.env[k] }})
			if code != ExitUsage {
				t.Fatalf("exit %d, want %d; stderr: %s", code, ExitUsage, errb.String())
			}
			for _, w := range c.want {
				if !strings.Contains(errb.String(), w) {
					t.Errorf("stderr lacks %q: %s", w, errb.String())
				}
			}
			if strings.Contains(errb.String(), "secret") {
				t.Errorf("a secret leaked: %s", errb.String())
			}
		})
	}
}

// `serve --check` validates settings and policy like serve and exits without
// listening: 0 when valid, 2 (naming the setting) when not.
func TestServeCheck(t *testing.T) {
	// A port held here: serve would fail to listen on it (exit 1), and a serve that
	// listened elsewhere would block until the context ends.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	policy := filepath.Join("..", "..", "examples", "policies", "webpubsub.yaml")
	valid := map[string]string{
		"PLSGATE_TABLES_ENDPOINT":      "https://st.table.core.windows.net",
		"PLSGATE_POLICY":               policy,
		"SCOPE_SUBSCRIPTIONS":          "00000000-0000-0000-0000-000000000001",
		"WEBPUBSUB_IDS":                "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/contoso/providers/Microsoft.SignalRService/webPubSub/contoso-webpubsub",
		"FUNCTIONS_CUSTOMHANDLER_PORT": port,
	}
	run := func(t *testing.T, env map[string]string) (int, string, string) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		var out, errb bytes.Buffer
		code := Main(ctx, Env{Args: []string{"serve", "--check"}, Stdout: &out, Stderr: &errb, Getenv: func(k string) string { return env[k] }})
		if ctx.Err() != nil {
			t.Fatalf("serve --check ran until the context ended: it listened instead of exiting")
		}
		return code, out.String(), errb.String()
	}
	t.Run("valid", func(t *testing.T) {
		code, out, errs := run(t, valid)
		if code != ExitOK {
			t.Fatalf("exit %d, want 0; stderr: %s", code, errs)
		}
		if !strings.Contains(out, "valid") {
			t.Errorf("stdout does not say the configuration is valid: %q", out)
		}
	})
	t.Run("invalid setting", func(t *testing.T) {
		env := maps.Clone(valid)
		env["RECONCILE_CONCURRENCY"] = "0"
		code, _, errs := run(t, env)
		if code != ExitUsage || !strings.Contains(errs, "RECONCILE_CONCURRENCY") {
			t.Fatalf("exit %d, want 2 naming RECONCILE_CONCURRENCY; stderr: %s", code, errs)
		}
	})
	t.Run("invalid policy", func(t *testing.T) {
		env := maps.Clone(valid)
		env["PLSGATE_POLICY"] = "version: 1\nrules: [{name: a, action: bogus}]\n"
		code, _, errs := run(t, env)
		if code != ExitUsage || !strings.Contains(errs, "PLSGATE_POLICY") {
			t.Fatalf("exit %d, want 2 naming PLSGATE_POLICY; stderr: %s", code, errs)
		}
	})
}
