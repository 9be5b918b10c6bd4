// Package app wires plsgate together: it builds the store, the ARM client, the
// policy and the reconciler from a Config, and adapts the three Functions
// triggers (ResourceEvents, Reconcile, Api) to them. Triggers are thin: every
// one of them ends in reconcile; app holds no decision logic of its own.
package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	azpolicy "github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/plsgate/plsgate/handler"
	"github.com/plsgate/plsgate/internal/api"
	"github.com/plsgate/plsgate/internal/arm"
	"github.com/plsgate/plsgate/internal/auth"
	"github.com/plsgate/plsgate/internal/config"
	"github.com/plsgate/plsgate/internal/events"
	"github.com/plsgate/plsgate/internal/fault"
	"github.com/plsgate/plsgate/internal/notify"
	"github.com/plsgate/plsgate/internal/policy"
	"github.com/plsgate/plsgate/internal/reconcile"
	"github.com/plsgate/plsgate/internal/redact"
	"github.com/plsgate/plsgate/internal/resource"
	"github.com/plsgate/plsgate/internal/store"
)

// Function and binding names: they must equal functions/*/function.json.
const (
	FunctionEvents     = "ResourceEvents"
	FunctionTimer      = "Reconcile"
	FunctionAPI        = "Api"
	BindingEvent       = "event"
	BindingTimer       = "timer"
	BindingRequest     = "req"
	BindingResponse    = "res"
	EventTimeout       = 25 * time.Second  // below Event Grid's 30 s wait
	HTTPTimeout        = 225 * time.Second // the host caps an HTTP answer at 230 s
	scanBudgetFallback = 8 * time.Minute
)

// App is plsgate with its dependencies built.
type App struct {
	Config     *config.Config
	Store      *store.Store
	ARM        *arm.Client
	Policy     *policy.Policy
	Reconciler *reconcile.Reconciler
	Classifier *events.Classifier
	Logger     *slog.Logger
	// API serves the Api function's routes.
	API http.Handler

	publisher *notify.Publisher
}

// Close flushes queued notifications (bounded by ctx).
func (a *App) Close(ctx context.Context) error {
	if a.publisher == nil {
		return nil
	}
	return a.publisher.Close(ctx)
}

// Deps lets tests and the demo inject what New would otherwise build.
type Deps struct {
	Credential azcore.TokenCredential // default: StaticToken on loopback ARM, else managed identity / DefaultAzureCredential
	Notifier   reconcile.Notifier
	Policy     *policy.Policy // already loaded (serve validates it before listening)
	// TablesTransport, ARMTransport and NotifyTransport replace the HTTP clients
	// (tests count calls; the demo trusts its local topic's certificate).
	TablesTransport, ARMTransport, NotifyTransport azpolicy.Transporter
	// ARMRetry and TablesRetry override azcore's retry policy (tests shorten it).
	ARMRetry, TablesRetry *azpolicy.RetryOptions
	// Providers are added to the registered ones (arm.Providers), replacing one of
	// the same kind: a test serves a resource kind of its own from memory.
	Providers []resource.Provider
}

// New builds plsgate from a validated Config. An invalid policy is a config
// error (the caller exits 2).
func New(ctx context.Context, cfg *config.Config, logger *slog.Logger, deps Deps) (*App, error) {
	logger = redact.Logger(logger) // no URL query (SAS sig=, ?code=) in any log line
	pol := deps.Policy
	if pol == nil {
		var err error
		if pol, err = LoadPolicy(cfg, logger); err != nil {
			return nil, err
		}
	}
	var err error
	cred := deps.Credential
	if cred == nil {
		if cfg.ARMOverLoopbackHTTP() {
			cred = arm.StaticToken("plsgate-emulator-token")
		} else if cred, err = arm.NewCredential(cfg.AzureClientID); err != nil {
			return nil, fmt.Errorf("credential: %w", err)
		}
	}
	armClient, err := arm.New(arm.Options{Endpoint: cfg.ARMEndpoint, Credential: cred, AllowHTTP: cfg.ARMOverLoopbackHTTP(), Transport: deps.ARMTransport, Retry: deps.ARMRetry})
	if err != nil {
		return nil, &ConfigError{Setting: "ARM_ENDPOINT", Err: err}
	}
	st, err := store.New(ctx, store.Options{ConnectionString: cfg.TablesConnection, Endpoint: cfg.TablesEndpoint, Credential: cred, TablePrefix: cfg.TablePrefix, Transport: deps.TablesTransport, Retry: deps.TablesRetry})
	if err != nil {
		return nil, fmt.Errorf("table storage: %w", err)
	}
	a := &App{
		Config: cfg, Store: st, ARM: armClient, Policy: pol, Logger: logger,
		Classifier: events.NewClassifier(events.Scope{Subscriptions: cfg.ScopeSubscriptions, PLSIDs: cfg.ScopePLSIDs, WebPubSubIDs: cfg.WebPubSubIDs}),
	}
	notifier := deps.Notifier
	if notifier == nil && cfg.NotifyTopicEndpoint != "" {
		p, err := notify.New(notify.Options{Endpoint: cfg.NotifyTopicEndpoint, Key: cfg.NotifyTopicKey, Credential: cred, Transport: deps.NotifyTransport, Logger: logger})
		if err != nil {
			return nil, &ConfigError{Setting: "NOTIFY_TOPIC_ENDPOINT", Err: err}
		}
		a.publisher, notifier = p, p
	}
	providers := arm.Providers(armClient) // every registered kind, on this client
	for _, p := range deps.Providers {
		providers.Add(p)
	}
	a.Reconciler = &reconcile.Reconciler{
		Providers: providers, Store: st, Policy: pol, Notifier: notifier,
		WebPubSubIDs: cfg.WebPubSubIDs, DryRun: cfg.DryRun, EnforceDrift: cfg.DriftMode == config.DriftEnforce,
		FailedRetryInterval: cfg.FailedRetryInterval,
		Logger:              logger,
	}
	a.Reconciler.Endpoints = armClient
	if len(cfg.WebPubSubIDs) > 0 {
		a.Reconciler.SharedLinks = armClient
	}
	if cfg.ScopeResourceGraph {
		a.Reconciler.Graph = armClient
	}
	// AUTH_MODE: entra verifies tokens itself (discovery on the first token, not at start-up).
	var tokens api.TokenVerifier
	if cfg.AuthMode == auth.ModeEntra {
		v, err := auth.NewEntraVerifier(auth.EntraOptions{TenantID: cfg.AuthTenantID, Audiences: cfg.AuthAudiences, AuthorityHost: cfg.AuthAuthorityHost})
		if err != nil {
			return nil, &ConfigError{Setting: "AUTH_MODE", Err: err}
		}
		tokens = v
	}
	logger.Info("API authorization", "mode", string(cfg.AuthMode), "approvers", cfg.Approvers.Strings(), "approversForce", cfg.ApproversForce.Strings())
	a.API = api.New(api.Options{
		Deciders: a.Reconciler, Store: st, Runs: st, Policy: pol,
		AuthMode: cfg.AuthMode, Approvers: cfg.Approvers, ApproversForce: cfg.ApproversForce,
		Tokens: tokens, AuthTenantID: cfg.AuthTenantID,
		Scope: a.Scope(), ScanConcurrency: cfg.ReconcileConcurrency, ScanBudget: cfg.ReconcileTimeBudget,
		BaseContext: ctx, Logger: logger,
	})
	return a, nil
}

// LoadPolicy compiles PLSGATE_POLICY; an invalid policy is a ConfigError.
func LoadPolicy(cfg *config.Config, logger *slog.Logger) (*policy.Policy, error) {
	pol, err := policy.Load(cfg.Policy)
	if err != nil {
		return nil, &ConfigError{Setting: "PLSGATE_POLICY", Err: err}
	}
	for _, w := range pol.Warnings() {
		logger.Warn("policy warning", "warning", w)
	}
	return pol, nil
}

// ConfigError is a configuration problem found while building (exit code 2).
type ConfigError struct {
	Setting string
	Err     error
}

func (e *ConfigError) Error() string { return fmt.Sprintf("setting %s: %v", e.Setting, e.Err) }
func (e *ConfigError) Unwrap() error { return e.Err }

func (a *App) scanBudget() time.Duration { return scanBudget(a.Config) }

// Scope is the configured scan scope.
func (a *App) Scope() reconcile.Scope {
	return reconcile.Scope{Subscriptions: a.Config.ScopeSubscriptions, PLSIDs: a.Config.ScopePLSIDs}
}

// HandleEvent is the ResourceEvents function: decode, classify (no I/O for
// noise), and reconcile each private link service the event concerns.
// Every error goes through EventResult (results.go): retryable ones (the
// default) fail the invocation so Event Grid redelivers; terminal ones
// (malformed events, bad input, refusals) are logged and acknowledged.
func (a *App) HandleEvent(ctx context.Context, inv *handler.Invocation, raw json.RawMessage) error {
	evs, err := events.Decode(raw)
	if err != nil {
		return errors.Join(a.settle(inv, inv.Logger, "payload", nil, err, nil)...)
	}
	var errs []error
	for _, ev := range evs {
		h, err := a.Classifier.Classify(ev)
		log := inv.Logger.With("eventId", ev.ID, "eventType", ev.Type)
		if err != nil {
			errs = a.settle(inv, log, "event "+ev.ID, nil, err, errs)
			continue
		}
		if h.Kind == events.Irrelevant {
			log.Debug("event not relevant", "why", h.Why)
			continue
		}
		if h.HasPending != nil && !*h.HasPending {
			log.Debug("no Pending connection in the notification body: skipped", "pls", h.ResourceIDs)
			continue
		}
		at, _ := time.Parse(time.RFC3339Nano, ev.Time) // zero (= now) when absent or odd
		trig := reconcile.Trigger{Kind: "event", EventID: ev.ID, InvocationID: inv.ID, At: at}
		if h.Kind == events.SharedPrivateLinkWritten || h.Kind == events.SharedPrivateLinkDeleted {
			spl := reconcile.SharedLinkEvent{ID: h.SharedPrivateLinkID, Deleted: h.Kind == events.SharedPrivateLinkDeleted, EventTime: at}
			outs, err := a.Reconciler.ReconcileSharedLink(ctx, spl, a.Classifier.InScope, trig)
			errs = a.settle(inv, log, h.SharedPrivateLinkID, outs, err, errs)
			continue
		}
		if h.Kind == events.PrivateEndpointWritten {
			outs, err := a.Reconciler.ReconcileEndpoint(ctx, h.PrivateEndpointID, a.Scope(), a.Classifier.InScope, trig)
			errs = a.settle(inv, log, h.PrivateEndpointID, outs, err, errs)
			continue
		}
		for _, pls := range h.ResourceIDs {
			outs, err := a.Reconciler.Reconcile(ctx, pls, trig)
			errs = a.settle(inv, log, pls, outs, err, errs)
		}
	}
	return errors.Join(errs...)
}

// settle logs what one reconcile did and adds what must fail the invocation
// (so Event Grid redelivers) to errs.
func (a *App) settle(inv *handler.Invocation, log *slog.Logger, what string, outs []reconcile.Outcome, err error, errs []error) []error {
	a.logOutcomes(inv, log, outs)
	if held := inProgress(outs); len(held) > 0 {
		// Another invocation holds a claim; if it crashed, only the lease's
		// expiry frees it. Failing makes Event Grid redeliver (10 s, 30 s,
		// 1 min, …) so the claim is finished soon after, not at the next
		// timer tick; a live holder costs one extra delivery, never a write.
		errs = append(errs, fmt.Errorf("%s on %s: another invocation holds the claim; redelivery will finish it", strings.Join(held, ", "), what))
	}
	if r := EventResult(err); r.Fail {
		errs = append(errs, err)
	} else if err != nil {
		log.Log(context.Background(), r.Level, r.Say, "target", what, "code", string(fault.CodeOf(err)), "err", err)
		inv.Logf("%s acknowledged (%s): %v", what, fault.CodeOf(err), err)
	}
	return errs
}

// inProgress names the connections another invocation was acting on.
func inProgress(outs []reconcile.Outcome) []string {
	var held []string
	for _, o := range outs {
		if o.Result == reconcile.InProgress {
			held = append(held, o.Connection)
		}
	}
	return held
}

func (a *App) logOutcomes(inv *handler.Invocation, log *slog.Logger, outs []reconcile.Outcome) {
	for _, o := range outs {
		if o.Result == reconcile.Unchanged {
			continue
		}
		log.Info("connection "+string(o.Result), "pls", o.PLSID, "connection", o.Connection,
			"from", o.From, "to", o.To, "decision", string(o.Action), "rule", o.Rule, "reason", o.Reason)
		inv.Logf("%s %s on %s: %s→%s (decision %s, rule %q)", o.Result, o.Connection, o.PLSID, o.From, o.To, o.Action, o.Rule)
	}
}

// HandleTimer is the Reconcile function: one scan of the configured scope,
// resumed from where the previous tick ran out of time. The Functions timer
// is a singleton (one instance runs a tick), so scans do not overlap.
func (a *App) HandleTimer(ctx context.Context, inv *handler.Invocation, info handler.TimerInfo) error {
	if info.IsPastDue {
		inv.Logf("timer is past due: running the missed scan now")
	}
	sum, err := a.Reconciler.Scan(ctx, a.Scope(), a.Store, reconcile.Trigger{Kind: "timer", InvocationID: inv.ID},
		reconcile.ScanOptions{Concurrency: a.Config.ReconcileConcurrency, Budget: a.scanBudget(), Resume: true})
	inv.Logf("scan %s: %d private link services, %d connections, %d approved, %d rejected, %d observed, %d drift, %d failed, complete=%v",
		sum.RunID, sum.Scanned, sum.Connections, sum.Approved, sum.Rejected, sum.Observed, sum.Drift, sum.Failed, sum.Complete)
	for _, o := range sum.Outcomes {
		inv.Logger.Info("connection "+string(o.Result), "pls", o.PLSID, "connection", o.Connection, "from", o.From, "to", o.To, "rule", o.Rule)
	}
	if TimerResult(err).Fail {
		return fmt.Errorf("scan %s: %w", sum.RunID, err)
	}
	return nil
}
