package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/plsgate/plsgate/handler"
	"github.com/plsgate/plsgate/internal/app"
	"github.com/plsgate/plsgate/internal/config"
	"github.com/plsgate/plsgate/internal/redact"
)

// Serve runs plsgate as the Functions custom handler. Settings and the policy
// are validated before listening (exit 2 when invalid); the listener answers
// the host's readiness probe at once while Table storage is opened in the
// background, and invocations that arrive meanwhile wait for it.
//
// `serve --check` runs the same validation and exits (0 valid, 2 invalid)
// without listening: infra/deploy.sh runs it against the settings it is about
// to deploy, so a bad setting fails the deployment instead of a worker that the
// host restarts forever.
func Serve(ctx context.Context, env Env) int {
	check := len(env.Args) == 1 && (env.Args[0] == "--check" || env.Args[0] == "-check")
	if len(env.Args) > 0 && !check {
		fmt.Fprintf(env.Stderr, "plsgate serve: unexpected arguments %q (usage: plsgate serve [--check])\n", env.Args)
		return ExitUsage
	}
	cfg, err := config.Load(env.Getenv)
	if err != nil {
		fmt.Fprintf(env.Stderr, "plsgate: invalid configuration:\n%v\n", err)
		return ExitUsage
	}
	// Every log line is redacted at the root: no URL query (SAS sig=, function key code=) leaves.
	logger := slog.New(redact.NewHandler(slog.NewJSONHandler(env.Stderr, &slog.HandlerOptions{Level: cfg.LogLevel})))
	pol, err := app.LoadPolicy(cfg, logger)
	if err != nil {
		fmt.Fprintf(env.Stderr, "plsgate: %v\n", err)
		return ExitUsage
	}
	if err := checkVerifiers(cfg, pol); err != nil { // serve_verify.go
		fmt.Fprintf(env.Stderr, "plsgate: invalid configuration:\n%v\n", err)
		return ExitUsage
	}
	if check {
		fmt.Fprintf(env.Stdout, "plsgate serve --check: settings and policy are valid (dryRun=%v, driftMode=%s)\n", cfg.DryRun, cfg.DriftMode)
		return ExitOK
	}
	port := handler.Port()
	if v := env.Getenv("FUNCTIONS_CUSTOMHANDLER_PORT"); v != "" {
		port = v
	}
	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", port))
	if err != nil {
		fmt.Fprintf(env.Stderr, "plsgate: listen: %v\n", err)
		return ExitRuntime
	}
	srv := handler.New(handler.Options{Logger: logger})
	starting := app.NewStarting()
	starting.Register(srv, cfg)

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		a, err := app.New(ctx, cfg, logger, app.Deps{Policy: pol})
		if err != nil {
			logger.Error("start-up failed", "err", err)
			starting.Fail(err)
			cancel()
			return
		}
		starting.Set(a)
		logger.Info("plsgate ready", "port", port, "dryRun", cfg.DryRun, "driftMode", string(cfg.DriftMode))
	}()
	err = srv.Serve(ctx, ln)
	select {
	case <-starting.Done():
		if a, _ := starting.Result(); a != nil { // flush queued notifications
			flush, cancelFlush := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			_ = a.Close(flush)
			cancelFlush()
		}
	default:
	}
	if err != nil {
		fmt.Fprintf(env.Stderr, "plsgate: %v\n", err)
		return ExitRuntime
	}
	select {
	case <-starting.Done():
	default:
		return ExitOK // stopped before start-up finished
	}
	if _, err := starting.Result(); err != nil {
		var ce *app.ConfigError
		if errors.As(err, &ce) {
			return ExitUsage
		}
		return ExitRuntime
	}
	return ExitOK
}
