package cli

import (
	"bytes"
	"strings"
	"testing"
)

func runMain(t *testing.T, env map[string]string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var o, e bytes.Buffer
	code = Main(t.Context(), Env{Args: args, Stdout: &o, Stderr: &e, Getenv: func(k string) string { return env[k] }, Version: "v-test"})
	return code, o.String(), e.String()
}

// Every command and subcommand answers -h/--help with its usage on stdout and exit 0, and
// never starts work (none of these has settings in its environment).
func TestHelpEverywhere(t *testing.T) {
	tests := []struct {
		args []string
		want string // in stdout
	}{
		{[]string{"--help"}, "usage: plsgate <command>"},
		{[]string{"-h"}, "usage: plsgate <command>"},
		{[]string{"-help"}, "usage: plsgate <command>"},
		{[]string{"help"}, "usage: plsgate <command>"},
		{[]string{"serve", "--help"}, "usage: plsgate serve"},
		{[]string{"serve", "-h"}, "usage: plsgate serve"},
		{[]string{"reconcile", "--help"}, "usage: plsgate reconcile"},
		{[]string{"reconcile", "--pls", "x", "-h"}, "usage: plsgate reconcile"},
		{[]string{"history", "-h"}, "usage: plsgate history --pls ID"},
		{[]string{"policy", "--help"}, "plsgate policy check FILE"},
		{[]string{"policy", "check", "--help"}, "usage: plsgate policy check FILE"},
		{[]string{"policy", "eval", "-h"}, "usage: plsgate policy eval FILE"},
		{[]string{"policy", "eval", "p.yaml", "--connection", "x", "--help"}, "usage: plsgate policy eval FILE"},
		{[]string{"version", "--help"}, "usage: plsgate version"},
		{[]string{"help", "policy", "eval"}, "usage: plsgate policy eval FILE"},
		{[]string{"help", "serve"}, "usage: plsgate serve"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			code, stdout, stderr := runMain(t, nil, tt.args...)
			if code != ExitOK || !strings.Contains(stdout, tt.want) || stderr != "" {
				t.Errorf("exit %d, want 0; stdout ~ %q\nstdout: %s\nstderr: %s", code, tt.want, stdout, stderr)
			}
		})
	}
}

// The shipped binary has no dev tools: `plsgate --help` lists exactly its
// commands and names plsgate-dev for the demo, and `plsgate dev …` says
// where the demo went (exit 2) instead of running it.
func TestNoDevCommand(t *testing.T) {
	_, stdout, _ := runMain(t, nil, "--help")
	var listed []string
	for _, l := range strings.Split(stdout, "\n") {
		if f := strings.Fields(l); strings.HasPrefix(l, "  ") && len(f) > 0 {
			listed = append(listed, f[0])
		}
	}
	if got, want := strings.Join(listed, " "), "serve reconcile history policy version"; got != want {
		t.Errorf("--help lists %q, want %q:\n%s", got, want, stdout)
	}
	if !strings.Contains(stdout, "plsgate-dev (make demo)") {
		t.Errorf("--help does not point to plsgate-dev:\n%s", stdout)
	}
	for _, args := range [][]string{{"dev"}, {"dev", "demo"}, {"dev", "--help"}, {"help", "dev"}} {
		code, stdout, stderr := runMain(t, nil, args...)
		if code != ExitUsage || stdout != "" || !strings.Contains(stderr, `unknown command "dev": the demo and the emulators are not part of the shipped binary: use plsgate-dev`) {
			t.Errorf("%v: exit %d stdout %q stderr %q", args, code, stdout, stderr)
		}
	}
}

func TestVersion(t *testing.T) {
	for _, args := range [][]string{{"version"}, {"--version"}} {
		code, stdout, stderr := runMain(t, nil, args...)
		if code != ExitOK || !strings.HasPrefix(stdout, "plsgate v-test (go") || stderr != "" {
			t.Errorf("%v: exit %d stdout %q stderr %q", args, code, stdout, stderr)
		}
	}
	if code, _, stderr := runMain(t, nil, "version", "x"); code != ExitUsage || !strings.Contains(stderr, "unexpected arguments") {
		t.Errorf("version x: exit %d stderr %q", code, stderr)
	}
}

// Outside the Functions host a bare plsgate shows usage (exit 2) instead of starting serve
// and failing on Table storage settings; inside it (FUNCTIONS_CUSTOMHANDLER_PORT set) serve
// stays the default.
func TestBareCommand(t *testing.T) {
	code, stdout, stderr := runMain(t, nil)
	if code != ExitUsage || stdout != "" || !strings.Contains(stderr, "no command given") || !strings.Contains(stderr, "usage: plsgate <command>") ||
		strings.Contains(stderr, "configuration") {
		t.Errorf("bare: exit %d stdout %q stderr %q", code, stdout, stderr)
	}
	// With the host's port set, serve runs: here it stops at its settings check (no storage).
	code, _, stderr = runMain(t, map[string]string{hostPortVar: "0"})
	if code != ExitUsage || !strings.Contains(stderr, "invalid configuration") || strings.Contains(stderr, "usage: plsgate") {
		t.Errorf("bare in host: exit %d stderr %q", code, stderr)
	}
}

func TestUsageErrors(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"nope"}, `unknown command "nope"`},
		{[]string{"--check"}, `"--check": give a command first`},
		{[]string{"help", "nope"}, `plsgate help: unknown command "nope"`},
		{[]string{"policy", "lint", "--help"}, `unknown subcommand "lint"`},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			code, stdout, stderr := runMain(t, nil, tt.args...)
			if code != ExitUsage || stdout != "" || !strings.Contains(stderr, tt.want) {
				t.Errorf("exit %d stdout %q stderr %q, want stderr ~ %q", code, stdout, stderr, tt.want)
			}
		})
	}
}
