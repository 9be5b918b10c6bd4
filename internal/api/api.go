package api

import (
	"bytes"
	"context"
	"encoding/json"
	"html/template"
	"log/slog"
	"net/http"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/plsgate/plsgate/handler"
	"github.com/plsgate/plsgate/internal/auth"
	"github.com/plsgate/plsgate/internal/policy"
	"github.com/plsgate/plsgate/internal/reconcile"
	"github.com/plsgate/plsgate/internal/redact"
	"github.com/plsgate/plsgate/internal/store"
)

// Deciders is everything that decides or acts: *reconcile.Reconciler.
type Deciders interface {
	// Apply approves or rejects one connection by hand through the record-then-act path.
	Apply(ctx context.Context, req reconcile.ManualRequest, t reconcile.Trigger) (reconcile.Outcome, error)
	// Reconcile converges one private link service.
	Reconcile(ctx context.Context, plsID string, t reconcile.Trigger) ([]reconcile.Outcome, error)
	// Scan reconciles the whole scope.
	Scan(ctx context.Context, scope reconcile.Scope, runs reconcile.RunRecorder, t reconcile.Trigger, o reconcile.ScanOptions) (reconcile.RunSummary, error)
	// Evaluate reads a connection (and its PLS) from ARM and asks the policy, changing nothing.
	// reconcile.ErrNotFound when the PLS or the connection does not exist.
	Evaluate(ctx context.Context, connectionID string) (policy.Facts, policy.Decision, error)
}

var _ Deciders = (*reconcile.Reconciler)(nil)

// StoreReader is the part of internal/store the API reads.
type StoreReader interface {
	ListConnections(ctx context.Context, q store.ConnectionQuery) ([]store.Connection, string, error)
	ListTransitions(ctx context.Context, plsID, connection string, limit int) ([]store.Transition, error)
	RecentTransitions(ctx context.Context, limit int) ([]store.Transition, error)
	GetRun(ctx context.Context, id string) (*store.Run, error)
	LatestRun(ctx context.Context) (*store.Run, error)
}

// Defaults for Options.
const (
	DefaultMaxBodyBytes = 64 << 10
	// evaluateBodyBytes admits a pasted private link service with many connections.
	evaluateBodyBytes = 1 << 20
	// DefaultSyncTimeout keeps a synchronous reconcile below the 230 s cap on HTTP answers.
	DefaultSyncTimeout = 200 * time.Second
	// DefaultScanBudget bounds a background scan when Options.ScanBudget is zero.
	DefaultScanBudget = 8 * time.Minute
)

// Options are the API's dependencies, passed explicitly.
type Options struct {
	Deciders Deciders    // required
	Store    StoreReader // required
	// Runs records background scans and their positions (the store); nil = not recorded.
	Runs reconcile.RunRecorder
	// Policy answers the pure form of POST /evaluate (pasted ARM JSON); nil = that form is 503.
	Policy *policy.Policy

	// AuthMode (AUTH_MODE, default key) says how approve/reject, reconcile and force identify
	// callers; Approvers (APPROVERS) and ApproversForce (APPROVERS_FORCE) say who may.
	AuthMode                  auth.Mode
	Approvers, ApproversForce auth.List
	// Tokens verifies bearer tokens with AuthMode entra (*auth.EntraVerifier).
	Tokens TokenVerifier
	// AuthTenantID (AUTH_TENANT_ID), with AuthMode easyauth: the principal's tenant must match.
	AuthTenantID string

	// Scope, ScanConcurrency and ScanBudget configure POST /reconcile {} (the whole scope).
	Scope           reconcile.Scope
	ScanConcurrency int
	ScanBudget      time.Duration // default DefaultScanBudget

	SyncTimeout  time.Duration // synchronous reconcile of one PLS; default DefaultSyncTimeout
	MaxBodyBytes int64         // request body limit; default DefaultMaxBodyBytes

	// BaseContext is the parent of background scans: it ends at shutdown. Default Background.
	BaseContext context.Context
	Now         func() time.Time
	Logger      *slog.Logger
}

// API serves every route under /api/v1/.
type API struct {
	o      Options
	log    *slog.Logger
	routes []route
	auth   authorizer
	tmpl   *template.Template

	mu   sync.Mutex
	scan *scanState   // the running background scan, nil when none
	done []*scanState // recently finished background scans (newest last), bounded
}

// New builds the API handler.
func New(o Options) http.Handler {
	if o.MaxBodyBytes <= 0 {
		o.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if o.SyncTimeout <= 0 {
		o.SyncTimeout = DefaultSyncTimeout
	}
	if o.ScanBudget <= 0 {
		o.ScanBudget = DefaultScanBudget
	}
	if o.BaseContext == nil {
		o.BaseContext = context.Background()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	a := &API{o: o, log: o.Logger, auth: newAuthorizer(o)}
	if a.log == nil {
		a.log = slog.Default()
	}
	a.log = redact.Logger(a.log)
	a.tmpl = newStatusTemplate(a.now)
	a.routes = []route{
		{path: "connections/approve", methods: map[string]http.HandlerFunc{http.MethodPost: a.approve}},
		{path: "connections/reject", methods: map[string]http.HandlerFunc{http.MethodPost: a.reject}},
		{path: "connections/history", methods: map[string]http.HandlerFunc{http.MethodGet: a.history}},
		{path: "connections", methods: map[string]http.HandlerFunc{http.MethodGet: a.listConnections}},
		{path: "reconcile", methods: map[string]http.HandlerFunc{http.MethodPost: a.reconcile}},
		{path: "reconcile/{runId}", methods: map[string]http.HandlerFunc{http.MethodGet: a.getRun}},
		{path: "evaluate", methods: map[string]http.HandlerFunc{http.MethodPost: a.evaluate}},
		{path: "status", methods: map[string]http.HandlerFunc{http.MethodGet: a.status}},
		{path: "openapi.json", methods: map[string]http.HandlerFunc{http.MethodGet: a.openAPI}},
	}
	for i := range a.routes {
		a.routes[i].segs = strings.Split(a.routes[i].path, "/")
	}
	return a
}

const prefix = "/api/v1/"

// route is one path under /api/v1/; "{name}" segments match any one non-empty segment.
type route struct {
	path    string
	segs    []string
	methods map[string]http.HandlerFunc
}

func (rt *route) match(segs []string) (map[string]string, bool) {
	if len(segs) != len(rt.segs) {
		return nil, false
	}
	var params map[string]string
	for i, s := range rt.segs {
		if strings.HasPrefix(s, "{") {
			if segs[i] == "" {
				return nil, false
			}
			if params == nil {
				params = map[string]string{}
			}
			params[strings.Trim(s, "{}")] = segs[i]
			continue
		}
		// Literal segments match case-insensitively, as the Functions host routes them.
		if !strings.EqualFold(s, segs[i]) {
			return nil, false
		}
	}
	return params, true
}

func (rt *route) allow() string {
	ms := make([]string, 0, len(rt.methods))
	for m := range rt.methods {
		ms = append(ms, m)
	}
	slices.Sort(ms)
	return strings.Join(ms, ", ")
}

// ServeHTTP routes a request. Unknown paths answer 404 and wrong methods 405 with Allow, both
// as JSON errors like every other refusal.
func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			a.logger(r).Error("api handler panicked", "panic", v, "stack", string(debug.Stack()))
			a.writeError(w, r, newError(http.StatusInternalServerError, CodeInternal, "internal error"))
		}
	}()
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Cache-Control", "no-store")
	p := r.URL.Path
	if len(p) < len(prefix) || !strings.EqualFold(p[:len(prefix)], prefix) {
		a.writeError(w, r, newError(http.StatusNotFound, CodeNotFound, "no such route"))
		return
	}
	rest := strings.TrimSuffix(p[len(prefix):], "/")
	segs := strings.Split(rest, "/")
	for i := range a.routes {
		rt := &a.routes[i]
		params, ok := rt.match(segs)
		if !ok {
			continue
		}
		h, ok := rt.methods[r.Method]
		if !ok {
			e := newError(http.StatusMethodNotAllowed, CodeMethodNotAllowed, r.Method+" is not allowed here; use "+rt.allow())
			e.allow = rt.allow()
			a.writeError(w, r, e)
			return
		}
		r2 := *r // shallow copy: set the pattern for logs and the path values
		r2.Pattern = r.Method + " " + prefix + rt.path
		for k, v := range params {
			r2.SetPathValue(k, v)
		}
		h(w, &r2)
		return
	}
	a.writeError(w, r, newError(http.StatusNotFound, CodeNotFound, "no such route"))
}

// logger returns the invocation's logger (it carries the invocation id) when the request came
// through the custom handler, else the API's.
func (a *API) logger(r *http.Request) *slog.Logger {
	if inv, ok := handler.FromContext(r.Context()); ok && inv.Logger != nil {
		return redact.Logger(inv.Logger) // errors may quote URLs (SAS sig=, ?code=)
	}
	return a.log
}

func (a *API) now() time.Time { return a.o.Now().UTC() }

// trigger describes an API request for the reconciler (recorded with every transition).
func (a *API) trigger(r *http.Request, actor string) reconcile.Trigger {
	t := reconcile.Trigger{Kind: "http", Actor: actor}
	if inv, ok := handler.FromContext(r.Context()); ok {
		t.InvocationID = inv.ID
	}
	return t
}

// writeJSON answers v as JSON.
func writeJSON(w http.ResponseWriter, log *slog.Logger, status int, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		log.Error("encode api answer", "err", err)
		buf.Reset()
		buf.WriteString(`{"error":{"code":"Internal","message":"internal error"}}` + "\n")
		status = http.StatusInternalServerError
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}
