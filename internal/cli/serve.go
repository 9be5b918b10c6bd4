package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/plsgate/plsgate/handler"
	"github.com/plsgate/plsgate/internal/app"
	"github.com/plsgate/plsgate/internal/config"
	"github.com/plsgate/plsgate/internal/devenv"
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
	deps := app.Deps{Policy: pol}
	if f := env.Getenv(devenv.NotifyTopicCAFile); f != "" { // `plsgate dev demo`'s local topic only
		c, err := devenv.LoopbackTLSClient(cfg.NotifyTopicEndpoint, f)
		if err != nil {
			fmt.Fprintf(env.Stderr, "plsgate: invalid configuration:\n%v\n", err)
			return ExitUsage
		}
		deps.NotifyTransport = c
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
	lz := &lazyApp{ready: make(chan struct{})}
	lz.register(srv, cfg.ReconcileTimeBudget+time.Minute)

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		a, err := app.New(ctx, cfg, logger, deps)
		if err != nil {
			logger.Error("start-up failed", "err", err)
			lz.fail(err)
			cancel()
			return
		}
		lz.set(a)
		logger.Info("plsgate ready", "port", port, "dryRun", cfg.DryRun, "driftMode", string(cfg.DriftMode))
	}()
	err = srv.Serve(ctx, ln)
	select {
	case <-lz.ready:
		if lz.app != nil { // flush queued notifications
			flush, cancelFlush := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			_ = lz.app.Close(flush)
			cancelFlush()
		}
	default:
	}
	if err != nil {
		fmt.Fprintf(env.Stderr, "plsgate: %v\n", err)
		return ExitRuntime
	}
	select {
	case <-lz.ready:
	default:
		return ExitOK // stopped before start-up finished
	}
	if err := lz.err; err != nil {
		var ce *app.ConfigError
		if errors.As(err, &ce) {
			return ExitUsage
		}
		return ExitRuntime
	}
	return ExitOK
}

// lazyApp registers the functions at once and lets invocations wait (within
// their deadline) until the app is built.
type lazyApp struct {
	ready chan struct{}
	once  sync.Once
	app   *app.App
	err   error
}

func (l *lazyApp) set(a *app.App) { l.app = a; l.once.Do(func() { close(l.ready) }) }
func (l *lazyApp) fail(err error) { l.err = err; l.once.Do(func() { close(l.ready) }) }

func (l *lazyApp) get(ctx context.Context) (*app.App, error) {
	select {
	case <-l.ready:
		if l.err != nil {
			return nil, l.err
		}
		return l.app, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("plsgate is still starting: %w", ctx.Err())
	}
}

func (l *lazyApp) register(s *handler.Server, timerTimeout time.Duration) {
	s.HandleEvents(app.FunctionEvents, app.BindingEvent, app.EventTimeout, func(ctx context.Context, inv *handler.Invocation, ev json.RawMessage) error {
		a, err := l.get(ctx)
		if err != nil {
			return err
		}
		return a.HandleEvent(ctx, inv, ev)
	})
	s.HandleTimer(app.FunctionTimer, app.BindingTimer, timerTimeout, func(ctx context.Context, inv *handler.Invocation, info handler.TimerInfo) error {
		a, err := l.get(ctx)
		if err != nil {
			return err
		}
		return a.HandleTimer(ctx, inv, info)
	})
	s.HandleHTTP(app.FunctionAPI, app.BindingRequest, app.BindingResponse, app.HTTPTimeout, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a, err := l.get(r.Context())
		if err != nil {
			handler.WriteError(w, &handler.Error{Status: http.StatusServiceUnavailable, Code: "Starting", Message: "plsgate is starting; retry shortly"})
			return
		}
		a.API.ServeHTTP(w, r)
	}))
}
