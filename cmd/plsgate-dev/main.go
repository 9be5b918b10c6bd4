// Command plsgate-dev is plsgate's development command: the demo and the
// local emulators. It is never deployed; the shipped plsgate binary links none
// of what it contains (main_test.go at the repository root checks that).
// Its help works like plsgate's (internal/cli.Program).
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/plsgate/plsgate/internal/cli"
)

var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, cli.Env{Args: os.Args[1:], Stdout: os.Stdout, Stderr: os.Stderr, Getenv: os.Getenv, Version: version})
	stop()
	os.Exit(code)
}

func program() cli.Program {
	return cli.Program{
		Name: "plsgate-dev",
		Commands: []cli.Command{
			{Name: "demo", Summary: "the whole story on emulators, with the shipped plsgate as the handler: [--plsgate PATH]", Run: demo},
			{Name: "arm-emulator", Summary: "run the local ARM + Event Grid emulator: [--addr A] [--seed FILE] [--generate N,M,P] [flags]", Run: armEmulator},
			cli.VersionCommand("plsgate-dev"),
		},
		Footer: "\"plsgate-dev <command> --help\" describes a command. The shipped binary is plsgate (plsgate --help).",
	}
}

func run(ctx context.Context, env cli.Env) int { return program().Main(ctx, env) }
