package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/plsgate/plsgate/internal/cli"
)

func runDev(ctx context.Context, env map[string]string, args ...string) (code int, stdout, stderr string) {
	var o, e bytes.Buffer
	code = run(ctx, cli.Env{Args: args, Stdout: &o, Stderr: &e, Getenv: func(k string) string { return env[k] }, Version: "v-test"})
	return code, o.String(), e.String()
}

// plsgate-dev answers help like plsgate (issue 17.1): every command takes
// -h/--help, "help CMD" works, usage goes to stdout with exit 0, and nothing
// starts.
func TestHelpEverywhere(t *testing.T) {
	tests := []struct {
		args []string
		want string // in stdout
	}{
		{[]string{"--help"}, "usage: plsgate-dev <command>"},
		{[]string{"-h"}, "usage: plsgate-dev <command>"},
		{[]string{"-help"}, "usage: plsgate-dev <command>"},
		{[]string{"help"}, "usage: plsgate-dev <command>"},
		{[]string{"demo", "--help"}, "usage: plsgate-dev demo [--plsgate PATH]"},
		{[]string{"demo", "-h"}, "DEMO_KEEP=1"},
		{[]string{"demo", "--plsgate", "x", "-h"}, "usage: plsgate-dev demo"},
		{[]string{"help", "demo"}, "usage: plsgate-dev demo"},
		{[]string{"arm-emulator", "-h"}, "usage: plsgate-dev arm-emulator [--addr"},
		{[]string{"arm-emulator", "--seed", "x", "--help"}, "usage: plsgate-dev arm-emulator"},
		{[]string{"help", "arm-emulator"}, "usage: plsgate-dev arm-emulator"},
		{[]string{"version", "--help"}, "usage: plsgate-dev version"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			code, stdout, stderr := runDev(t.Context(), nil, tt.args...)
			if code != cli.ExitOK || !strings.Contains(stdout, tt.want) || stderr != "" {
				t.Errorf("exit %d, want 0; stdout ~ %q\nstdout: %s\nstderr: %s", code, tt.want, stdout, stderr)
			}
		})
	}
	// The list names every command.
	_, stdout, _ := runDev(t.Context(), nil, "--help")
	for _, c := range []string{"demo", "arm-emulator", "version"} {
		if !strings.Contains(stdout, "\n  "+c+" ") {
			t.Errorf("--help does not list %s:\n%s", c, stdout)
		}
	}
}

func TestVersion(t *testing.T) {
	for _, args := range [][]string{{"version"}, {"--version"}} {
		code, stdout, stderr := runDev(t.Context(), nil, args...)
		if code != cli.ExitOK || !strings.HasPrefix(stdout, "plsgate-dev v-test (go") || stderr != "" {
			t.Errorf("%v: exit %d stdout %q stderr %q", args, code, stdout, stderr)
		}
	}
}

func TestUsageErrors(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{nil, "plsgate-dev: no command given"},
		{[]string{"serve"}, `unknown command "serve"`},
		{[]string{"dev", "demo"}, `unknown command "dev"`},
		{[]string{"--addr", "x"}, `"--addr": give a command first`},
		{[]string{"help", "nope"}, `plsgate-dev help: unknown command "nope"`},
		{[]string{"demo", "--fast"}, "flag provided but not defined"},
		{[]string{"demo", "now"}, "unexpected arguments"},
		{[]string{"demo", "--plsgate", "/nonexistent/plsgate"}, "--plsgate: stat /nonexistent/plsgate"},
		{[]string{"version", "x"}, "unexpected arguments"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			code, stdout, stderr := runDev(t.Context(), nil, tt.args...)
			if code != cli.ExitUsage || stdout != "" || !strings.Contains(stderr, tt.want) {
				t.Errorf("exit %d stdout %q stderr %q, want exit 2, stderr ~ %q", code, stdout, stderr, tt.want)
			}
		})
	}
}
