package app

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/plsgate/plsgate/handler"
	"github.com/plsgate/plsgate/internal/config"
)

// Starting is an App still being built. serve registers the functions at
// once, so the listener answers the host's readiness probe while Table
// storage opens; invocations that arrive meanwhile wait for it within their
// deadline.
type Starting struct {
	ready chan struct{}
	once  sync.Once
	app   *App
	err   error
}

// NewStarting returns an App under construction: Set or Fail finishes it.
func NewStarting() *Starting { return &Starting{ready: make(chan struct{})} }

// Set makes a the app invocations use. Only the first Set or Fail counts.
func (s *Starting) Set(a *App) { s.once.Do(func() { s.app = a; close(s.ready) }) }

// Fail ends start-up with err: invocations from now on fail with it.
func (s *Starting) Fail(err error) { s.once.Do(func() { s.err = err; close(s.ready) }) }

// Done is closed once Set or Fail was called.
func (s *Starting) Done() <-chan struct{} { return s.ready }

// Result is what start-up ended with (call after Done).
func (s *Starting) Result() (*App, error) { return s.app, s.err }

// Get waits for start-up to end, at most until ctx is done.
func (s *Starting) Get(ctx context.Context) (*App, error) {
	select {
	case <-s.ready:
		if s.err != nil {
			return nil, s.err
		}
		return s.app, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("plsgate is still starting: %w", ctx.Err())
	}
}

// Register adds the three functions to the custom-handler server: the one
// registration production (serve) and the tests (testenv) share. Each
// invocation runs on the App that start-up produces; until then the API
// answers 503 Starting and event and timer invocations wait.
func (s *Starting) Register(srv *handler.Server, cfg *config.Config) {
	srv.HandleEvents(FunctionEvents, BindingEvent, EventTimeout, func(ctx context.Context, inv *handler.Invocation, ev json.RawMessage) error {
		a, err := s.Get(ctx)
		if err != nil {
			return err
		}
		return a.HandleEvent(ctx, inv, ev)
	})
	srv.HandleTimer(FunctionTimer, BindingTimer, scanBudget(cfg)+time.Minute, func(ctx context.Context, inv *handler.Invocation, info handler.TimerInfo) error {
		a, err := s.Get(ctx)
		if err != nil {
			return err
		}
		return a.HandleTimer(ctx, inv, info)
	})
	// The host caps an HTTP answer at 230 s; a synchronous reconcile of one PLS may use most of it.
	srv.HandleHTTP(FunctionAPI, BindingRequest, BindingResponse, HTTPTimeout, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a, err := s.Get(r.Context())
		if err != nil {
			handler.WriteError(w, &handler.Error{Status: http.StatusServiceUnavailable, Code: "Starting", Message: "plsgate is starting; retry shortly"})
			return
		}
		a.API.ServeHTTP(w, r)
	}))
}

// Register adds the three functions for an App already built (Starting.Register).
func (a *App) Register(srv *handler.Server) {
	s := NewStarting()
	s.Set(a)
	s.Register(srv, a.Config)
}

// scanBudget is one timer tick's scan budget (RECONCILE_TIME_BUDGET).
func scanBudget(cfg *config.Config) time.Duration {
	if cfg.ReconcileTimeBudget > 0 {
		return cfg.ReconcileTimeBudget
	}
	return scanBudgetFallback
}
