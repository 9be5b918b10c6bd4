package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/plsgate/plsgate/internal/demo"
	"github.com/plsgate/plsgate/internal/devenv"
)

const devDemoUsage = `usage:
  plsgate dev demo
      play the seed's story on this machine: Web PubSub creates a shared private
      endpoint to a private link service and plsgate approves it by policy, with
      Azurite (Table storage), the ARM + Event Grid emulator, a local Event Grid
      topic and the Functions host emulator in front of this binary's "serve".
      Run it from the repository root (make demo). It prints one line per step
      and exits non-zero if any expectation fails.
      DEMO_KEEP=1 keeps everything running until Ctrl-C and prints what you need
      to use it: the status page, the function key, an approver's access token
      (and where to mint another), curl calls to approve or reject the request
      it leaves Pending, the Event Grid webhook URL and headers, and the
      environment for plsgate history / plsgate reconcile.
`

// devDemo runs `plsgate dev demo`.
func devDemo(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fset := flag.NewFlagSet("plsgate dev demo", flag.ContinueOnError)
	fset.SetOutput(stderr)
	fset.Usage = func() { fmt.Fprint(stderr, devDemoUsage) }
	if err := fset.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return ExitOK
		}
		return ExitUsage
	}
	if fset.NArg() > 0 {
		fmt.Fprintf(stderr, "plsgate dev demo: unexpected arguments %q\n", fset.Args())
		return ExitUsage
	}
	wd, err := os.Getwd()
	if err != nil {
		fmt.Fprintf(stderr, "plsgate dev demo: %v\n", err)
		return ExitRuntime
	}
	root, err := devenv.FindRoot(wd)
	if err != nil {
		fmt.Fprintf(stderr, "plsgate dev demo: %v\n", err)
		return ExitUsage
	}
	exe, err := os.Executable()
	if err != nil {
		fmt.Fprintf(stderr, "plsgate dev demo: find this binary to start it as the handler: %v\n", err)
		return ExitRuntime
	}
	err = demo.Run(ctx, demo.Options{Root: root, Executable: exe, Out: stdout, Keep: os.Getenv("DEMO_KEEP") == "1"})
	var f *demo.Failure
	switch {
	case err == nil:
		return ExitOK
	case ctx.Err() != nil:
		fmt.Fprintln(stderr, "plsgate dev demo: interrupted")
		return ExitRuntime
	case errors.As(err, &f):
		fmt.Fprintf(stderr, "plsgate dev demo: FAILED: %v\n", err)
		if f.LogDir != "" {
			fmt.Fprintf(stderr, "logs kept in %s (plsgate.log, emulators.log)\n", f.LogDir)
		}
		return ExitRuntime
	default:
		fmt.Fprintf(stderr, "plsgate dev demo: %v\n", err)
		return ExitUsage
	}
}
