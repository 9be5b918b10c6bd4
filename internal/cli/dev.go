package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strconv"
	"strings"

	"github.com/plsgate/plsgate/internal/armemu"
)

// devUsageText is `plsgate dev --help`: every dev subcommand.
var devUsageText = devDemoUsage + strings.TrimPrefix(devARMEmulatorUsage, "usage:\n")

const devARMEmulatorUsage = `usage:
  plsgate dev arm-emulator [--addr 127.0.0.1:0] [--seed FILE] [--generate N,M,P]
                           [--events-sink URL] [--event-schema eventgrid|cloudevents]
                           [--cross-subscription none|resourceNotifications|writeSuccess]
                           [--page-size N] [--empty-pages N]
      run the local Azure Resource Manager + Event Grid emulator until interrupted.
      The first line on stdout is its base URL (use it as ARM_ENDPOINT); control
      endpoints live under URL/_emulator/ (state, seed, counters, faults, events).
      It accepts any bearer token, so it only listens on loopback.
`

// Dev runs `plsgate dev ...`; args are the arguments after "dev".
func Dev(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, devUsageText)
		return ExitUsage
	}
	switch args[0] {
	case "arm-emulator":
		return devARMEmulator(ctx, args[1:], stdout, stderr)
	case "demo":
		return devDemo(ctx, args[1:], stdout, stderr)
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, devUsageText)
		return ExitOK
	}
	fmt.Fprintf(stderr, "plsgate dev: unknown subcommand %q\n\n%s", args[0], devUsageText)
	return ExitUsage
}

func devARMEmulator(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fset := flag.NewFlagSet("plsgate dev arm-emulator", flag.ContinueOnError)
	fset.SetOutput(stderr)
	fset.Usage = func() { fmt.Fprint(stderr, devARMEmulatorUsage) }
	addr := fset.String("addr", "127.0.0.1:0", "listen address (loopback only)")
	seed := fset.String("seed", "", "world JSON file to start with")
	generate := fset.String("generate", "", "generate a world instead: N services,M connections each,every P-th Pending")
	sink := fset.String("events-sink", "", "URL to deliver events to (the Functions host emulator's /runtime/webhooks/eventgrid?functionName=ResourceEvents)")
	schema := fset.String("event-schema", armemu.SchemaEventGrid, "eventgrid or cloudevents")
	cross := fset.String("cross-subscription", armemu.CrossNone, "events in the PLS owner's subscription for requests from other subscriptions")
	pageSize := fset.Int("page-size", armemu.DefaultPageSize, "list page size")
	emptyPages := fset.Int("empty-pages", 0, "empty pages (with nextLink) before every non-empty page")
	if err := fset.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return ExitOK
		}
		return ExitUsage
	}
	if fset.NArg() > 0 {
		fmt.Fprintf(stderr, "plsgate dev arm-emulator: unexpected arguments %q\n", fset.Args())
		return ExitUsage
	}
	if err := checkLoopback(*addr); err != nil {
		fmt.Fprintf(stderr, "plsgate dev arm-emulator: --addr: %v\n", err)
		return ExitUsage
	}
	if *pageSize <= 0 || *emptyPages < 0 {
		fmt.Fprintln(stderr, "plsgate dev arm-emulator: --page-size must be > 0 and --empty-pages >= 0")
		return ExitUsage
	}
	events := armemu.EventOptions{SinkURL: *sink, Schema: *schema, CrossSubscription: *cross}
	if err := armemu.ValidateEventOptions(events); err != nil {
		fmt.Fprintf(stderr, "plsgate dev arm-emulator: %v\n", err)
		return ExitUsage
	}
	if *seed != "" && *generate != "" {
		fmt.Fprintln(stderr, "plsgate dev arm-emulator: --seed and --generate are exclusive")
		return ExitUsage
	}
	world := armemu.World{}
	switch {
	case *seed != "":
		w, err := armemu.LoadWorld(*seed)
		if err != nil {
			fmt.Fprintf(stderr, "plsgate dev arm-emulator: %v\n", err)
			return ExitUsage
		}
		world = w
	case *generate != "":
		n, err := parseGenerate(*generate)
		if err != nil {
			fmt.Fprintf(stderr, "plsgate dev arm-emulator: --generate: %v\n", err)
			return ExitUsage
		}
		world = armemu.GenerateWorld(n[0], n[1], n[2], nil)
	}
	logger := slog.New(slog.NewTextHandler(stderr, nil))
	emu := armemu.New(armemu.Options{Addr: *addr, PageSize: *pageSize, EmptyPages: *emptyPages, Events: events, Logger: logger})
	if err := emu.Seed(world); err != nil {
		fmt.Fprintf(stderr, "plsgate dev arm-emulator: %v\n", err)
		return ExitUsage
	}
	url, err := emu.Start()
	if err != nil {
		fmt.Fprintf(stderr, "plsgate dev arm-emulator: %v\n", err)
		return ExitRuntime
	}
	defer emu.Close()
	fmt.Fprintln(stdout, url)
	logger.Info("arm emulator listening", "url", url, "control", url+"/_emulator/",
		"privateLinkServices", len(world.PrivateLinkServices), "webPubSubs", len(world.WebPubSubs), "eventsSink", *sink)
	<-ctx.Done()
	logger.Info("arm emulator stopping")
	return ExitOK
}

// checkLoopback refuses non-loopback addresses: the emulator accepts any token.
func checkLoopback(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("%q: %w", addr, err)
	}
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("%q is not a loopback address", addr)
	}
	return nil
}

// parseGenerate reads "N,M,P" (P optional, default 5).
func parseGenerate(s string) ([3]int, error) {
	out := [3]int{0, 0, 5}
	parts := strings.Split(s, ",")
	if len(parts) < 2 || len(parts) > 3 {
		return out, fmt.Errorf("%q: want N,M[,P]", s)
	}
	for i, p := range parts {
		v, err := strconv.Atoi(strings.TrimSpace(p))
		if err != nil || v < 0 {
			return out, fmt.Errorf("%q: %q is not a non-negative integer", s, p)
		}
		out[i] = v
	}
	return out, nil
}
