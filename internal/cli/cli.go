package cli

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"strings"
)

// Exit codes shared by every subcommand.
const (
	ExitOK      = 0
	ExitRuntime = 1 // the operation failed
	ExitUsage   = 2 // bad arguments or configuration
)

// Env is what a subcommand may touch: no globals, so tests run commands in-process.
type Env struct {
	Args           []string
	Stdout, Stderr io.Writer
	Getenv         func(string) string
	Version        string
}

type command struct {
	name, usage string
	run         func(ctx context.Context, env Env) int
}

func commands() []command {
	return []command{
		{"serve", "run as the Azure Functions custom handler (default)", Serve},
		{"reconcile", "scan the configured scope once: [--pls ID] [--subscription ID] [--dry-run] [--output json]", Reconcile},
		{"history", "recorded transitions: --pls ID [--connection NAME] [--limit N] [--output json]", History},
		{"policy", "check FILE | eval FILE --connection JSON [--pls JSON] [--output json]", func(ctx context.Context, env Env) int {
			return Policy(ctx, env.Args, env.Stdout, env.Stderr)
		}},
		{"dev", "local tools: demo (the whole story on emulators) | arm-emulator [flags]", func(ctx context.Context, env Env) int {
			return Dev(ctx, env.Args, env.Stdout, env.Stderr)
		}},
		{"version", "print the version", func(_ context.Context, env Env) int {
			fmt.Fprintf(env.Stdout, "plsgate %s (%s %s/%s)\n", env.Version, runtime.Version(), runtime.GOOS, runtime.GOARCH)
			return ExitOK
		}},
	}
}

// Main dispatches to a subcommand and returns the process exit code.
func Main(ctx context.Context, env Env) int {
	name := "serve"
	if len(env.Args) > 0 && !strings.HasPrefix(env.Args[0], "-") {
		name, env.Args = env.Args[0], env.Args[1:]
	}
	if name == "help" || name == "-h" || name == "--help" {
		usage(env.Stdout)
		return ExitOK
	}
	for _, c := range commands() {
		if c.name == name {
			return c.run(ctx, env)
		}
	}
	fmt.Fprintf(env.Stderr, "plsgate: unknown command %q\n", name)
	usage(env.Stderr)
	return ExitUsage
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: plsgate <command> [flags]\n\ncommands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-10s %s\n", c.name, c.usage)
	}
}
