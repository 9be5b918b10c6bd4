package cli

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"slices"
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

// hostPortVar is set by the Functions host for its custom handler. Only there does a bare
// `plsgate` still mean `plsgate serve` (host.json passes "serve" explicitly anyway).
const hostPortVar = "FUNCTIONS_CUSTOMHANDLER_PORT"

const serveUsageText = `usage: plsgate serve [--check]

Runs plsgate as the Azure Functions custom handler: the Functions host starts it (host.json
passes "serve") and sends it the HTTP, Event Grid and timer invocations on
FUNCTIONS_CUSTOMHANDLER_PORT. Settings come from the environment (the Function App's app
settings; see README "Settings"); they and the policy are validated before listening
(exit 2 when invalid).

  --check   validate the settings and the policy, then exit 0 (valid) or 2 without listening

A bare "plsgate" runs serve only when FUNCTIONS_CUSTOMHANDLER_PORT is set (inside the host).
`

const versionUsageText = `usage: plsgate version   (or plsgate --version)

Prints the version, the Go version and the platform.
`

type command struct {
	name, summary string
	run           func(ctx context.Context, env Env) int
	// usage, when set, is the help text; otherwise the command prints its own on "-h".
	usage string
	// subs are the subcommands (policy, dev): "<cmd> <sub> --help" asks the sub for its help.
	subs []string
}

func commands() []command {
	return []command{
		{name: "serve", summary: "run as the Azure Functions custom handler (the host's default)", run: Serve, usage: serveUsageText},
		{name: "reconcile", summary: "scan the configured scope once: [--pls ID] [--subscription ID] [--dry-run] [--output json]", run: Reconcile},
		{name: "history", summary: "recorded transitions: --pls ID [--connection NAME] [--limit N] [--output json]", run: History},
		{name: "policy", summary: "check FILE | eval FILE --connection JSON [--pls JSON] [--name NAME] [--output json]", subs: []string{"check", "eval"},
			run: func(ctx context.Context, env Env) int { return Policy(ctx, env.Args, env.Stdout, env.Stderr) }},
		{name: "dev", summary: "local tools: demo (the whole story on emulators) | arm-emulator [flags]", subs: []string{"demo", "arm-emulator"},
			run: func(ctx context.Context, env Env) int { return Dev(ctx, env.Args, env.Stdout, env.Stderr) }},
		{name: "version", summary: "print the version (also --version)", run: version, usage: versionUsageText},
	}
}

func version(_ context.Context, env Env) int {
	if len(env.Args) > 0 {
		fmt.Fprintf(env.Stderr, "plsgate version: unexpected arguments %q\n", env.Args)
		return ExitUsage
	}
	fmt.Fprintf(env.Stdout, "plsgate %s (%s %s/%s)\n", env.Version, runtime.Version(), runtime.GOOS, runtime.GOARCH)
	return ExitOK
}

// Main dispatches to a subcommand and returns the process exit code.
func Main(ctx context.Context, env Env) int {
	args := env.Args
	switch {
	case len(args) == 0 && getenv(env, hostPortVar) == "":
		fmt.Fprintf(env.Stderr, "plsgate: no command given (serve is the default only inside the Functions host, which sets %s)\n\n", hostPortVar)
		usage(env.Stderr)
		return ExitUsage
	case len(args) == 0:
		env.Args = nil
		return Serve(ctx, env)
	case isHelp(args[0]) || args[0] == "help":
		if len(args) > 1 && args[0] == "help" { // plsgate help policy eval
			if c, ok := lookup(args[1]); ok {
				return c.help(ctx, env, args[2:])
			}
			fmt.Fprintf(env.Stderr, "plsgate help: unknown command %q\n\n", args[1])
			usage(env.Stderr)
			return ExitUsage
		}
		usage(env.Stdout)
		return ExitOK
	case args[0] == "--version" || args[0] == "-version":
		env.Args = args[1:]
		return version(ctx, env)
	case strings.HasPrefix(args[0], "-"):
		if getenv(env, hostPortVar) != "" { // the host's default command with flags
			return Serve(ctx, env)
		}
		fmt.Fprintf(env.Stderr, "plsgate: %q: give a command first (plsgate <command> [flags])\n\n", args[0])
		usage(env.Stderr)
		return ExitUsage
	}
	c, ok := lookup(args[0])
	if !ok {
		fmt.Fprintf(env.Stderr, "plsgate: unknown command %q\n\n", args[0])
		usage(env.Stderr)
		return ExitUsage
	}
	env.Args = args[1:]
	if wantsHelp(env.Args) {
		return c.help(ctx, env, env.Args)
	}
	return c.run(ctx, env)
}

func lookup(name string) (command, bool) {
	for _, c := range commands() {
		if c.name == name {
			return c, true
		}
	}
	return command{}, false
}

func getenv(env Env, k string) string {
	if env.Getenv == nil {
		return ""
	}
	return env.Getenv(k)
}

func isHelp(a string) bool { return a == "-h" || a == "-help" || a == "--help" }

// wantsHelp reports a help flag anywhere before "--": `plsgate reconcile --pls X --help`
// asks for help, not a scan.
func wantsHelp(args []string) bool {
	for _, a := range args {
		if a == "--" {
			return false
		}
		if isHelp(a) {
			return true
		}
	}
	return false
}

// help prints the command's usage on stdout and returns 0. Commands with their own flag set
// print it when parsing "-h"; they write usage to their stderr (where it belongs after a
// usage error), so for an asked-for help their stderr is pointed at stdout.
func (c command) help(ctx context.Context, env Env, args []string) int {
	if c.usage != "" {
		fmt.Fprint(env.Stdout, c.usage)
		return ExitOK
	}
	hargs := []string{"-h"}
	if len(c.subs) > 0 && len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		if !slices.Contains(c.subs, args[0]) && args[0] != "help" {
			env.Args = args // unknown subcommand: let the command say so (exit 2)
			return c.run(ctx, env)
		}
		if args[0] != "help" {
			hargs = []string{args[0], "-h"}
		}
	}
	env.Args, env.Stderr = hargs, env.Stdout
	return c.run(ctx, env)
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: plsgate <command> [flags]\n\ncommands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-10s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\n\"plsgate <command> --help\" describes a command. Policy reference: docs/policy.md.")
}
