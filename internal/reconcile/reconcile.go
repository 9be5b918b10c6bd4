package reconcile

import (
	"context"
	"fmt"
	"iter"
	"log/slog"
	"strings"
	"time"

	"github.com/plsgate/plsgate/internal/arm"
	"github.com/plsgate/plsgate/internal/fault"
	"github.com/plsgate/plsgate/internal/policy"
	"github.com/plsgate/plsgate/internal/resource"
	"github.com/plsgate/plsgate/internal/store"
)

// Connection status values: the resource package's (defined once there).
const (
	StatusPending      = resource.StatusPending
	StatusApproved     = resource.StatusApproved
	StatusRejected     = resource.StatusRejected
	StatusDisconnected = resource.StatusDisconnected
	StatusRemoved      = resource.StatusRemoved
)

// Phases of a transition row (the store's protocol writes them).
const (
	PhaseIntent   = store.PhaseIntent
	PhaseDone     = store.PhaseDone
	PhaseFailed   = store.PhaseFailed
	PhaseObserved = store.PhaseObserved
	PhaseDryRun   = store.PhaseDryRun
	PhaseDrift    = store.PhaseDrift
)

// Subjects of a transition row.
const (
	SubjectConnection        = "connection"
	SubjectSharedPrivateLink = "sharedPrivateLinkResource"
	SubjectDrift             = "drift"
	SubjectService           = "privateLinkService"
)

// Trigger says what started a reconcile; it is recorded with every transition.
type Trigger struct {
	Kind         string // event | timer | http | cli
	EventID      string
	InvocationID string
	Actor        string    // principal of a manual request ("principal:<upn/oid>")
	At           time.Time // event or tick time; zero = now
}

// Result names what happened to one connection.
type Result string

const (
	Approved    Result = "approved"
	Rejected    Result = "rejected"
	LeftPending Result = "left-pending"
	Observed    Result = "observed"
	Drift       Result = "drift"
	DryRun      Result = "dry-run"
	InProgress  Result = "in-progress" // another invocation holds the claim
	Unchanged   Result = "unchanged"
	Failed      Result = "failed"
)

// Outcome is what Reconcile did (or would do) for one connection.
type Outcome struct {
	PLSID        string // the connection's resource: a PLS, or of another registered kind
	Connection   string // connection name
	ConnectionID string
	From, To     string // status before and after
	Result       Result
	Action       policy.Action
	Rule         string
	Reason       string
	// AlsoObserved: this pass first recorded a change made outside plsgate
	// (Result then tells what followed, e.g. Drift).
	AlsoObserved bool
	// Category tells approvals apart that the policy does not back (overrides.go):
	// a person's override, drift of an approval made outside plsgate or by an
	// earlier policy, a revocation.
	Category Category
	// Actor is who made the decision reported (a forced approval's principal;
	// for drift, who approved the connection).
	Actor string
	// Description is the connection's description as read (a Pending
	// connection's request message).
	Description string `json:"-"`
	Err         error  `json:"-"`
}

// Store is the part of internal/store that reconcile uses: the rows its
// record-then-act protocol (store.Protocol) runs on, and the bindings.
type Store interface {
	store.Rows
	ListConnections(ctx context.Context, q store.ConnectionQuery) ([]store.Connection, string, error)
	// Bindings of Web PubSub shared private link resources (binding.go).
	GetBinding(ctx context.Context, splID, instance string) (*store.Binding, error)
	AddBinding(ctx context.Context, b *store.Binding) error
	SharedLinkSighting(ctx context.Context, splID string) (time.Time, error)
	SightSharedLink(ctx context.Context, splID string, at time.Time) (time.Time, error)
}

// PendingFinder finds candidate PLSs with a Pending connection (Azure Resource Graph).
type PendingFinder interface {
	PendingServices(ctx context.Context, subscriptions []string) iter.Seq2[[]string, error]
}

// Notifier publishes outcomes after they are recorded; it must not block.
type Notifier interface {
	Notify(ctx context.Context, o Outcome)
}

// Reconciler holds the dependencies of the decision/act loop.
type Reconciler struct {
	// Providers read and write the resources plsgate manages, one per
	// registered kind (arm.Providers builds them on the ARM client): an ID goes
	// to the provider of its kind; a scan lists every provider per subscription.
	Providers   resource.Providers
	SharedLinks arm.SharedPrivateLinks // nil when no Web PubSub is configured
	Endpoints   arm.PrivateEndpoints   // private endpoint events (endpoint.go); nil: acknowledged unread
	Store       Store
	Policy      *policy.Policy
	Notifier    Notifier // optional
	// Graph, when set (SCOPE_RESOURCE_GRAPH), replaces listing every PLS of the
	// scope's subscriptions by a Resource Graph query for those with a Pending
	// connection: cheaper across many subscriptions, but such a scan sees no
	// drift or outside change on PLSs without a Pending connection.
	Graph        PendingFinder
	WebPubSubIDs []string
	DryRun       bool
	EnforceDrift bool
	// Lease is how long a claim protects an in-flight intent from other
	// invocations. The holder starts its ARM write only while more than
	// WriteBound of it remains (measured on its own monotonic clock), and the
	// write is cut at WriteBound. Default 45s.
	Lease time.Duration
	// SkewMargin is added to the lease before another instance may take a claim
	// over: the expiry is the only place where two instances' clocks are
	// compared, so it tolerates that much clock difference. Default 5s.
	SkewMargin time.Duration
	// FailedRetryInterval: after a permanent ARM refusal, the same decision on an
	// unchanged connection is not tried again before this passes (unless an
	// operator asks). Default 6h.
	FailedRetryInterval time.Duration
	Now                 func() time.Time
	Logger              *slog.Logger
}

func (r *Reconciler) now() time.Time {
	if r.Now != nil {
		return r.Now().UTC()
	}
	return time.Now().UTC()
}

func (r *Reconciler) lease() time.Duration {
	if r.Lease > 0 {
		return r.Lease
	}
	return 45 * time.Second
}

// writeBound is how long the ARM write may take; it starts only while more of
// the lease than this remains.
func (r *Reconciler) writeBound() time.Duration { return r.lease() * 2 / 3 }

func (r *Reconciler) skewMargin() time.Duration {
	if r.SkewMargin > 0 {
		return r.SkewMargin
	}
	return 5 * time.Second
}

func (r *Reconciler) failedRetryInterval() time.Duration {
	if r.FailedRetryInterval > 0 {
		return r.FailedRetryInterval
	}
	return 6 * time.Hour
}

// mono is this instance's clock for measuring its own lease: monotonic in
// production (r.now strips the monotonic reading), the test clock in tests.
func (r *Reconciler) mono() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

func (r *Reconciler) log() *slog.Logger {
	if r.Logger != nil {
		return r.Logger
	}
	return slog.Default()
}

// Errors speak internal/fault: the arm and store boundaries give them their
// code and class, and what reconcile adds keeps it. Retry is the default;
// terminal is what the boundaries (bad input, ARM's refusals, not found) or
// reconcile (ErrNotFound) mark so. The helpers below are thin forwards.

// ErrRetryable is a sentinel of the retry class (code Unavailable): wrap it to
// ask for a retry.
var ErrRetryable = fault.New(fault.Unavailable, "retryable")

// ErrNotFound: the private link service or the connection does not exist
// (terminal).
var ErrNotFound = fault.NewTerminal(fault.NotFound, "not found")

// ErrInProgress is returned by Apply when another invocation holds the claim
// (a Conflict: try again shortly).
var ErrInProgress = fault.New(fault.Conflict, "another decision on this connection is in progress")

// retryable marks err for a retry whatever its cause said (code Unavailable:
// e.g. a write not started for lack of lease, a record still incomplete).
func retryable(err error) error { return &fault.Error{Code: fault.Unavailable, Err: err} }

// IsRetryable reports whether the trigger should be retried (the invocation
// fails so Event Grid redelivers): every error not marked terminal.
func IsRetryable(err error) bool { return fault.IsRetryable(err) }

// storeErr says what reconcile was doing; the code and class are the store's
// (an error from a fake that did not pass the boundary gets them here).
func storeErr(what string, err error) error { return store.Wrap(what, err) }

// armErrWrap says what reconcile was doing; the code and class are ARM's.
func armErrWrap(what string, err error) error { return arm.Wrap(what, err) }

// classifyARM gives err ARM's code and class (idempotent).
func classifyARM(err error) error { return arm.Wrap("", err) }

// provider is the provider of the resource (or connection) id. An ID of no
// registered kind, or of a kind nobody provides, is bad input (terminal: no
// retry makes plsgate manage it), and reaches no provider.
func (r *Reconciler) provider(id string) (resource.Provider, error) {
	p, err := r.Providers.For(id)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", arm.ErrInvalidArgument, err)
	}
	return p, nil
}

// noun names what an ID is in messages and logs: "private link service" for
// the first kind (the words operators know), "resource" for the others (the
// ID spells their type).
func noun(id string) string {
	if resource.IsPrivateLinkService(id) {
		return "private link service"
	}
	return "resource"
}

// Reconcile converges every connection of one resource (a private link
// service, or a resource of another registered kind): one read through its
// kind's provider, one Table query, then per connection the record-then-act path.
func (r *Reconciler) Reconcile(ctx context.Context, resourceID string, t Trigger) ([]Outcome, error) {
	p, err := r.provider(resourceID)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", resourceID, err)
	}
	readAt := r.now()
	res, err := p.Get(ctx, resourceID)
	if err != nil {
		if arm.IsNotFound(err) {
			return r.resourceGone(ctx, p, resourceID, t, err)
		}
		if arm.IsForbidden(err) {
			r.log().Warn(noun(resourceID)+" not readable: acknowledged, not retried", "pls", resourceID, "err", err)
			r.recordServiceFailure(ctx, resourceID, t, err)
			return nil, classifyARM(err) // terminal (Forbidden), also from a provider that returned it raw
		}
		return nil, armErrWrap("read "+noun(resourceID)+" "+resourceID, err)
	}
	return r.reconcileResource(ctx, p, res, t, readAt)
}

// ReconcileResource converges a resource already read (e.g. from a list
// page: no extra GET). readAt is when it was read: Web PubSub verification
// counts candidates only on a read newer than its resource list (binding.go).
func (r *Reconciler) ReconcileResource(ctx context.Context, res *resource.Resource, t Trigger, readAt time.Time) ([]Outcome, error) {
	p, err := r.provider(res.ID)
	if err != nil {
		return nil, fmt.Errorf("reconcile %s: %w", res.ID, err)
	}
	return r.reconcileResource(ctx, p, res, t, readAt)
}

func (r *Reconciler) reconcileResource(ctx context.Context, p resource.Provider, res *resource.Resource, t Trigger, readAt time.Time) ([]Outcome, error) {
	rows, err := r.storedRows(ctx, res.ID)
	if err != nil {
		return nil, err
	}
	run := &resourceRun{r: r, prov: p, res: res, trig: t, readAt: readAt}
	run.wps.rows = rows
	var outs []Outcome
	var errs []error
	seen := make(map[string]bool, len(res.Connections))
	for i := range res.Connections {
		c := res.Connections[i]
		seen[strings.ToLower(c.Name)] = true
		o := run.converge(ctx, c, rows[strings.ToLower(c.Name)])
		if o.Err != nil {
			errs = append(errs, o.Err)
		}
		outs = append(outs, o)
	}
	// Connections that plsgate knew but ARM no longer lists were removed outside plsgate.
	for name, row := range rows {
		if seen[name] || strings.EqualFold(row.Status, StatusRemoved) {
			continue
		}
		// Our list may predate a connection another instance recorded since:
		// confirm with ARM rather than compare the two instances' clocks.
		if gone, err := run.confirmGone(ctx, row.Name); err != nil || !gone {
			if err != nil {
				errs = append(errs, err)
			}
			continue
		}
		o := run.observeRemoved(ctx, row)
		if o.Err != nil {
			errs = append(errs, o.Err)
		}
		outs = append(outs, o)
	}
	return outs, joinErrs(errs)
}

// joinErrs joins errs; the whole is retried when any part is (fault.Join).
func joinErrs(errs []error) error { return fault.Join(errs...) }

// storedRows loads the stored state of every connection of a PLS in one query.
func (r *Reconciler) storedRows(ctx context.Context, plsID string) (map[string]*store.Connection, error) {
	rows := map[string]*store.Connection{}
	q := store.ConnectionQuery{PLSID: plsID}
	for {
		items, next, err := r.Store.ListConnections(ctx, q)
		if err != nil {
			return nil, storeErr("load stored connections of "+plsID, err)
		}
		for i := range items {
			rows[strings.ToLower(items[i].Name)] = &items[i]
		}
		if next == "" {
			return rows, nil
		}
		q.Continuation = next
	}
}

// resourceGone records that a resource disappeared: its known connections are
// Removed. An operator who names it (API, CLI) is told: a resource plsgate
// never recorded is ServiceNotFoundError, and every connection it had is
// listed as removed, also those recorded before.
func (r *Reconciler) resourceGone(ctx context.Context, p resource.Provider, plsID string, t Trigger, cause error) ([]Outcome, error) {
	rows, err := r.storedRows(ctx, plsID)
	if err != nil {
		return nil, err
	}
	if len(rows) == 0 && t.operatorAsked() {
		return nil, &ServiceNotFoundError{PLSID: plsID, cause: cause}
	}
	run := &resourceRun{r: r, prov: p, res: &resource.Resource{ID: plsID}, trig: t}
	var outs []Outcome
	var errs []error
	for _, row := range rows {
		if strings.EqualFold(row.Status, StatusRemoved) {
			if t.operatorAsked() {
				outs = append(outs, goneOutcome(plsID, row))
			}
			continue
		}
		o := run.observeRemoved(ctx, row)
		if o.Err != nil {
			errs = append(errs, o.Err)
		}
		o.Reason = goneReason(plsID)
		outs = append(outs, o)
	}
	r.log().Info(noun(plsID)+" not found: known connections marked removed", "pls", plsID, "connections", len(outs))
	return outs, joinErrs(errs)
}

// recordServiceFailure writes one row per (event, error) so a permanent
// failure is visible in the history without piling up on redeliveries.
func (r *Reconciler) recordServiceFailure(ctx context.Context, plsID string, t Trigger, cause error) {
	at := t.At
	if at.IsZero() {
		at = r.now()
	}
	tr := &store.Transition{
		PLSID: plsID, Subject: SubjectService, Action: "read", Actor: "plsgate", Phase: PhaseFailed,
		Reason: truncate(cause.Error(), 512), Trigger: t.Kind, EventID: t.EventID, InvocationID: t.InvocationID,
		Cause: "failure|" + t.Kind + "|" + t.EventID, At: at,
	}
	if _, err := r.Store.AppendTransition(ctx, tr); err != nil {
		r.log().Warn("could not record failure", "pls", plsID, "err", err)
	}
}

// resourceRun carries per-resource, per-call state (the Web PubSub lookups
// are done at most once per call).
type resourceRun struct {
	r      *Reconciler
	prov   resource.Provider // the provider of res's kind
	res    *resource.Resource
	trig   Trigger
	readAt time.Time // when res was read from ARM

	holderID string         // identifies this call's claims (lease holder)
	protocol store.Protocol // the store's verbs for this call (proto)

	wps wpsState // Web PubSub verification (binding.go)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
