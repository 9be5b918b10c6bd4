// Command plsgate approves Azure Private Link Service connections by policy.
// It is an Azure Functions custom handler (subcommand serve, what host.json
// starts) and a CLI for the same operations; see README.md.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/plsgate/plsgate/internal/cli"
)

// version is stamped by `make package` (-ldflags "-X main.version=…").
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Main(ctx, cli.Env{Args: os.Args[1:], Stdout: os.Stdout, Stderr: os.Stderr, Getenv: os.Getenv, Version: version})
	stop()
	os.Exit(code)
}
