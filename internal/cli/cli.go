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

// Command is one subcommand of a Program.
type Command struct {
	Name, Summary string
	Run           func(ctx context.Context, env Env) int
	// Usage, when set, is the help text; otherwise the command prints its own on "-h".
	Usage string
	// Subs are the subcommands (policy): "<cmd> <sub> --help" asks the sub for its help.
	Subs []string
}

// Program is a command line made of subcommands, with the help every plsgate
// program answers the same way (issue 17.1): "-h", "-help", "--help" and
// "help [command [sub]]" print usage on stdout and exit 0 anywhere before
// "--"; a command named "version" is also "--version"; no command, an unknown
// one or a flag first is a usage error (exit 2). cmd/plsgate-dev uses it too.
type Program struct {
	Name     string
	Commands []Command
	// NoCommand is said after "<name>: no command given".
	NoCommand string
	// Footer ends the usage text.
	Footer string
	// Moved names commands that live elsewhere now, with where (said instead
	// of a bare "unknown command").
	Moved map[string]string
}

func plsgate() Program {
	return Program{
		Name: "plsgate",
		Commands: []Command{
			{Name: "serve", Summary: "run as the Azure Functions custom handler (the host's default)", Run: Serve, Usage: serveUsageText},
			{Name: "reconcile", Summary: "scan the configured scope once: [--pls ID] [--subscription ID] [--dry-run] [--output json]", Run: Reconcile},
			{Name: "history", Summary: "recorded transitions: --pls ID [--connection NAME] [--limit N] [--output json]", Run: History},
			{Name: "policy", Summary: "check FILE | eval FILE --connection JSON [--pls JSON] [--name NAME] [--output json]", Subs: []string{"check", "eval"},
				Run: func(ctx context.Context, env Env) int { return Policy(ctx, env.Args, env.Stdout, env.Stderr) }},
			VersionCommand("plsgate"),
		},
		NoCommand: fmt.Sprintf("(serve is the default only inside the Functions host, which sets %s)", hostPortVar),
		Footer:    "\"plsgate <command> --help\" describes a command. Policy reference: docs/policy.md.\nThe demo and the local emulators are a separate command: plsgate-dev (make demo).",
		Moved:     map[string]string{"dev": "the demo and the emulators are not part of the shipped binary: use plsgate-dev (make demo; go run ./cmd/plsgate-dev --help)"},
	}
}

// VersionCommand is the "version" command of program name (also "--version").
func VersionCommand(name string) Command {
	return Command{Name: "version", Summary: "print the version (also --version)",
		Usage: fmt.Sprintf("usage: %[1]s version   (or %[1]s --version)\n\nPrints the version, the Go version and the platform.\n", name),
		Run: func(_ context.Context, env Env) int {
			if len(env.Args) > 0 {
				fmt.Fprintf(env.Stderr, "%s version: unexpected arguments %q\n", name, env.Args)
				return ExitUsage
			}
			fmt.Fprintf(env.Stdout, "%s %s (%s %s/%s)\n", name, env.Version, runtime.Version(), runtime.GOOS, runtime.GOARCH)
			return ExitOK
		}}
}

// Main runs plsgate and returns the process exit code. Inside the Functions
// host (FUNCTIONS_CUSTOMHANDLER_PORT set) no command, or flags first, mean serve.
func Main(ctx context.Context, env Env) int {
	args := env.Args
	if getenv(env, hostPortVar) != "" && (len(args) == 0 || strings.HasPrefix(args[0], "-") && !isHelp(args[0]) && !isVersionFlag(args[0])) {
		if len(args) == 0 {
			env.Args = nil
		}
		return Serve(ctx, env)
	}
	return plsgate().Main(ctx, env)
}

// Main dispatches to a command and returns the process exit code.
func (p Program) Main(ctx context.Context, env Env) int {
	args := env.Args
	switch {
	case len(args) == 0:
		fmt.Fprintf(env.Stderr, "%s: no command given", p.Name)
		if p.NoCommand != "" {
			fmt.Fprint(env.Stderr, " "+p.NoCommand)
		}
		fmt.Fprint(env.Stderr, "\n\n")
		p.usage(env.Stderr)
		return ExitUsage
	case isHelp(args[0]) || args[0] == "help":
		if len(args) > 1 && args[0] == "help" { // plsgate help policy eval
			if c, ok := p.lookup(args[1]); ok {
				return c.help(ctx, env, args[2:])
			}
			fmt.Fprintf(env.Stderr, "%s help: %s\n\n", p.Name, p.unknown(args[1]))
			p.usage(env.Stderr)
			return ExitUsage
		}
		p.usage(env.Stdout)
		return ExitOK
	case isVersionFlag(args[0]):
		if c, ok := p.lookup("version"); ok {
			env.Args = args[1:]
			return c.Run(ctx, env)
		}
	}
	if strings.HasPrefix(args[0], "-") {
		fmt.Fprintf(env.Stderr, "%s: %q: give a command first (%s <command> [flags])\n\n", p.Name, args[0], p.Name)
		p.usage(env.Stderr)
		return ExitUsage
	}
	c, ok := p.lookup(args[0])
	if !ok {
		fmt.Fprintf(env.Stderr, "%s: %s\n\n", p.Name, p.unknown(args[0]))
		p.usage(env.Stderr)
		return ExitUsage
	}
	env.Args = args[1:]
	if wantsHelp(env.Args) {
		return c.help(ctx, env, env.Args)
	}
	return c.Run(ctx, env)
}

func (p Program) unknown(name string) string {
	if where, ok := p.Moved[name]; ok {
		return fmt.Sprintf("unknown command %q: %s", name, where)
	}
	return fmt.Sprintf("unknown command %q", name)
}

func (p Program) lookup(name string) (Command, bool) {
	for _, c := range p.Commands {
		if c.Name == name {
			return c, true
		}
	}
	return Command{}, false
}

func getenv(env Env, k string) string {
	if env.Getenv == nil {
		return ""
	}
	return env.Getenv(k)
}

func isHelp(a string) bool        { return a == "-h" || a == "-help" || a == "--help" }
func isVersionFlag(a string) bool { return a == "--version" || a == "-version" }

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
func (c Command) help(ctx context.Context, env Env, args []string) int {
	if c.Usage != "" {
		fmt.Fprint(env.Stdout, c.Usage)
		return ExitOK
	}
	hargs := []string{"-h"}
	if len(c.Subs) > 0 && len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		if !slices.Contains(c.Subs, args[0]) && args[0] != "help" {
			env.Args = args // unknown subcommand: let the command say so (exit 2)
			return c.Run(ctx, env)
		}
		if args[0] != "help" {
			hargs = []string{args[0], "-h"}
		}
	}
	env.Args, env.Stderr = hargs, env.Stdout
	return c.Run(ctx, env)
}

func (p Program) usage(w io.Writer) {
	fmt.Fprintf(w, "usage: %s <command> [flags]\n\ncommands:\n", p.Name)
	for _, c := range p.Commands {
		fmt.Fprintf(w, "  %-12s %s\n", c.Name, c.Summary)
	}
	if p.Footer != "" {
		fmt.Fprintln(w, "\n"+p.Footer)
	}
}
