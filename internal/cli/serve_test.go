package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
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
		"policy":  {map[string]string{"PLSGATE_TABLES_CONNECTION": "x", "PLSGATE_POLICY": bad}, []string{"PLSGATE_POLICY", "bad.yaml:4", "rules[0].match.requestMessage", "invalid regex"}},
		"setting": {map[string]string{"PLSGATE_TABLES_CONNECTION": "AccountKey=secret", "DRIFT_MODE": "fix"}, []string{"setting DRIFT_MODE", `"fix"`}},
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
