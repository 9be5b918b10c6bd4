package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"

	"github.com/plsgate/plsgate/internal/armemu"
	"github.com/plsgate/plsgate/internal/cli"
)

const armEmulatorUsage = `usage: plsgate-dev arm-emulator [--addr 127.0.0.1:0] [--seed FILE] [--generate N,M,P]
                                [--events-sink URL] [--event-schema eventgrid|cloudevents]
                                [--cross-subscription none|resourceNotifications|writeSuccess]
                                [--page-size N] [--empty-pages N]

Runs the local Azure Resource Manager + Event Grid emulator until interrupted.
The first line on stdout is its base URL (use it as ARM_ENDPOINT); control
endpoints live under URL/_emulator/ (state, seed, counters, faults, events).
It accepts any bearer token, so it only listens on loopback.
`

// armEmulator runs `plsgate-dev arm-emulator`.
func armEmulator(ctx context.Context, env cli.Env) int {
	args, stdout, stderr := env.Args, env.Stdout, env.Stderr
	fset := flag.NewFlagSet("plsgate-dev arm-emulator", flag.ContinueOnError)
	fset.SetOutput(stderr)
	fset.Usage = func() { fmt.Fprint(stderr, armEmulatorUsage) }
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
			return cli.ExitOK
		}
		return cli.ExitUsage
	}
	if fset.NArg() > 0 {
		fmt.Fprintf(stderr, "plsgate-dev arm-emulator: unexpected arguments %q\n", fset.Args())
		return cli.ExitUsage
	}
	if err := checkLoopback(*addr); err != nil {
		fmt.Fprintf(stderr, "plsgate-dev arm-emulator: --addr: %v\n", err)
		return cli.ExitUsage
	}
	if *pageSize <= 0 || *emptyPages < 0 {
		fmt.Fprintln(stderr, "plsgate-dev arm-emulator: --page-size must be > 0 and --empty-pages >= 0")
		return cli.ExitUsage
	}
	events := armemu.EventOptions{SinkURL: *sink, Schema: *schema, CrossSubscription: *cross}
	if err := armemu.ValidateEventOptions(events); err != nil {
		fmt.Fprintf(stderr, "plsgate-dev arm-emulator: %v\n", err)
		return cli.ExitUsage
	}
	if *seed != "" && *generate != "" {
		fmt.Fprintln(stderr, "plsgate-dev arm-emulator: --seed and --generate are exclusive")
		return cli.ExitUsage
	}
	world := armemu.World{}
	switch {
	case *seed != "":
		w, err := armemu.LoadWorld(*seed)
		if err != nil {
			fmt.Fprintf(stderr, "plsgate-dev arm-emulator: %v\n", err)
			return cli.ExitUsage
		}
		world = w
	case *generate != "":
		n, err := parseGenerate(*generate)
		if err != nil {
			fmt.Fprintf(stderr, "plsgate-dev arm-emulator: --generate: %v\n", err)
			return cli.ExitUsage
		}
		world = armemu.GenerateWorld(n[0], n[1], n[2], nil)
	}
	logger := slog.New(slog.NewTextHandler(stderr, nil))
	emu := armemu.New(armemu.Options{Addr: *addr, PageSize: *pageSize, EmptyPages: *emptyPages, Events: events, Logger: logger})
	if err := emu.Seed(world); err != nil {
		fmt.Fprintf(stderr, "plsgate-dev arm-emulator: %v\n", err)
		return cli.ExitUsage
	}
	url, err := emu.Start()
	if err != nil {
		fmt.Fprintf(stderr, "plsgate-dev arm-emulator: %v\n", err)
		return cli.ExitRuntime
	}
	defer emu.Close()
	fmt.Fprintln(stdout, url)
	logger.Info("arm emulator listening", "url", url, "control", url+"/_emulator/",
		"privateLinkServices", len(world.PrivateLinkServices), "webPubSubs", len(world.WebPubSubs), "eventsSink", *sink)
	<-ctx.Done()
	logger.Info("arm emulator stopping")
	return cli.ExitOK
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
