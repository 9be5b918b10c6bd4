package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"

	"github.com/plsgate/plsgate/internal/cli"
	idemo "github.com/plsgate/plsgate/internal/demo"
	"github.com/plsgate/plsgate/internal/devenv"
)

const demoUsage = `usage: plsgate-dev demo [--plsgate PATH]

Plays the seed's story on this machine: Web PubSub creates a shared private
endpoint to a private link service and plsgate approves it by policy, with
Azurite (Table storage), the ARM + Event Grid emulator, a local Event Grid
topic and the Functions host emulator in front of the shipped plsgate
binary's "serve". Run it from the repository root (make demo). It prints one
line per step and exits non-zero if any expectation fails.

  --plsgate PATH   the plsgate binary to start as the handler (default: plsgate
                   next to this plsgate-dev; make demo builds both into bin/)

DEMO_KEEP=1 keeps everything running until Ctrl-C and prints what you need
to use it: the status page, the function key, an approver's access token
(and where to mint another), curl calls to approve or reject the request it
leaves Pending, the Event Grid webhook URL and headers, and the environment
for plsgate history / plsgate reconcile.
`

// demo runs `plsgate-dev demo`.
func demo(ctx context.Context, env cli.Env) int {
	stdout, stderr := env.Stdout, env.Stderr
	fset := flag.NewFlagSet("plsgate-dev demo", flag.ContinueOnError)
	fset.SetOutput(stderr)
	fset.Usage = func() { fmt.Fprint(stderr, demoUsage) }
	exe := fset.String("plsgate", "", "the plsgate binary to start as the handler")
	if err := fset.Parse(env.Args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return cli.ExitOK
		}
		return cli.ExitUsage
	}
	if fset.NArg() > 0 {
		fmt.Fprintf(stderr, "plsgate-dev demo: unexpected arguments %q\n", fset.Args())
		return cli.ExitUsage
	}
	wd, err := os.Getwd()
	if err != nil {
		fmt.Fprintf(stderr, "plsgate-dev demo: %v\n", err)
		return cli.ExitRuntime
	}
	root, err := devenv.FindRoot(wd)
	if err != nil {
		fmt.Fprintf(stderr, "plsgate-dev demo: %v\n", err)
		return cli.ExitUsage
	}
	handler, err := plsgateBinary(*exe)
	if err != nil {
		fmt.Fprintf(stderr, "plsgate-dev demo: %v\n", err)
		return cli.ExitUsage
	}
	err = idemo.Run(ctx, idemo.Options{Root: root, Executable: handler, Out: stdout, Keep: env.Getenv("DEMO_KEEP") == "1"})
	var f *idemo.Failure
	switch {
	case err == nil:
		return cli.ExitOK
	case ctx.Err() != nil:
		fmt.Fprintln(stderr, "plsgate-dev demo: interrupted")
		return cli.ExitRuntime
	case errors.As(err, &f):
		fmt.Fprintf(stderr, "plsgate-dev demo: FAILED: %v\n", err)
		if f.LogDir != "" {
			fmt.Fprintf(stderr, "logs kept in %s (plsgate.log, emulators.log)\n", f.LogDir)
		}
		return cli.ExitRuntime
	default:
		fmt.Fprintf(stderr, "plsgate-dev demo: %v\n", err)
		return cli.ExitUsage
	}
}

// plsgateBinary is the product binary the demo starts with `serve`: the one
// named, else plsgate next to this executable. Absolute, because the child
// runs in the repository root.
func plsgateBinary(named string) (string, error) {
	path := named
	if path == "" {
		self, err := os.Executable()
		if err != nil {
			return "", fmt.Errorf("find this binary's directory: %w (name the plsgate binary with --plsgate)", err)
		}
		path = filepath.Join(filepath.Dir(self), "plsgate")
		if runtime.GOOS == "windows" {
			path += ".exe"
		}
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", err
	}
	st, err := os.Stat(abs)
	switch {
	case err != nil && named == "":
		return "", fmt.Errorf("no plsgate binary next to plsgate-dev (%s): build both (make build dev) or name it with --plsgate PATH", abs)
	case err != nil:
		return "", fmt.Errorf("--plsgate: %w", err)
	case st.IsDir():
		return "", fmt.Errorf("--plsgate: %s is a directory", abs)
	}
	return abs, nil
}
