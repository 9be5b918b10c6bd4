package api

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/plsgate/plsgate/internal/reconcile"
	"github.com/plsgate/plsgate/internal/resource"
	"github.com/plsgate/plsgate/internal/store"
)

// keepFinishedScans is how many finished background scans are remembered in memory (their
// summary stays readable even when the runs table could not record it).
const keepFinishedScans = 16

// scanGrace lets PLSs already dispatched finish after the budget stops new ones.
const scanGrace = 2 * time.Minute

// Run statuses (as the reconciler records them in the runs table).
const (
	runRunning   = "running"
	runSucceeded = "succeeded"
	runPartial   = "partial"
	runFailed    = "failed"
)

// scanState is a background scan started by POST /reconcile {}; guarded by API.mu.
type scanState struct {
	id         string
	startedAt  time.Time
	finishedAt time.Time
	status     string
	sum        reconcile.RunSummary
}

type reconcileResponse struct {
	PrivateLinkServiceID string        `json:"privateLinkServiceId"`
	Complete             bool          `json:"complete"`
	Outcomes             []OutcomeJSON `json:"outcomes"`
}

type scanAccepted struct {
	RunID     string `json:"runId"`
	Status    string `json:"status"`
	StatusURL string `json:"statusUrl"`
}

// reconcile is POST /reconcile: one PLS synchronously, or {} = the whole scope in the background.
func (a *API) reconcile(w http.ResponseWriter, r *http.Request) {
	actor, _, err := a.authenticate(r)
	if err != nil {
		a.writeAuthError(w, r, err)
		return
	}
	data, err := readBody(w, r, a.o.MaxBodyBytes)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	req, err := parseReconcileRequest(data)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	if req.PrivateLinkServiceID == nil {
		a.startScan(w, r, actor)
		return
	}
	plsID := *req.PrivateLinkServiceID
	if err := a.checkScope(plsID); err != nil {
		a.writeError(w, r, err)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), a.o.SyncTimeout)
	defer cancel()
	outs, err := a.o.Deciders.Reconcile(ctx, plsID, a.trigger(r, actor))
	log := a.logger(r).With("pls", plsID, "actor", actor)
	if err != nil {
		// Partial results are still answered when what failed is terminal and per connection;
		// anything that may heal (or nothing done at all) is an error answer.
		if len(outs) == 0 || classify(err).status == http.StatusServiceUnavailable {
			a.writeError(w, r, err)
			return
		}
		log.Warn("reconcile finished with errors", "err", err)
	}
	resp := reconcileResponse{PrivateLinkServiceID: plsID, Complete: err == nil, Outcomes: make([]OutcomeJSON, 0, len(outs))}
	for _, o := range outs {
		resp.Outcomes = append(resp.Outcomes, NewOutcomeJSON(o))
	}
	log.Info("reconcile by api", "outcomes", len(outs), "complete", resp.Complete)
	writeJSON(w, log, http.StatusOK, resp)
}

// checkScope refuses (403 NotInScope) a resource (a private link service, or of another
// registered kind) outside the configured scope, SCOPE_SUBSCRIPTIONS ∪ SCOPE_PLS_IDS, as the
// event path decides it (no scope: every resource). A route that names a resource or a
// connection acts only on what plsgate manages.
func (a *API) checkScope(plsID string) error {
	s := a.o.Scope
	if len(s.Subscriptions) == 0 && len(s.PLSIDs) == 0 {
		return nil
	}
	n := resource.Normalize(plsID)
	if sub := resource.SubscriptionOf(n); sub != "" {
		for _, x := range s.Subscriptions {
			if strings.EqualFold(strings.TrimSpace(x), sub) {
				return nil
			}
		}
	}
	for _, id := range s.PLSIDs {
		if resource.Normalize(id) == n {
			return nil
		}
	}
	return newError(http.StatusForbidden, CodeNotInScope,
		"not in scope: plsgate manages only the private link services (and resources of its other kinds) of SCOPE_SUBSCRIPTIONS and SCOPE_PLS_IDS")
}

// checkConnectionScope is checkScope for a connection ID (already validated).
func (a *API) checkConnectionScope(connectionID string) error {
	plsID, _, err := resource.SplitConnectionID(connectionID)
	if err != nil {
		return err
	}
	return a.checkScope(plsID)
}

// startScan starts a scan of the whole scope in the background: at most one per process, on a
// context of its own (the HTTP answer must come within 230 s; a scan may take longer).
func (a *API) startScan(w http.ResponseWriter, r *http.Request, actor string) {
	if len(a.o.Scope.Subscriptions) == 0 && len(a.o.Scope.PLSIDs) == 0 {
		a.writeError(w, r, badRequest(CodeBadRequest, "no scope is configured (SCOPE_SUBSCRIPTIONS, SCOPE_PLS_IDS): give privateLinkServiceId"))
		return
	}
	now := a.now()
	id, err := store.NewRunID(now)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	a.mu.Lock()
	if a.scan != nil {
		running := a.scan.id
		a.mu.Unlock()
		e := newError(http.StatusConflict, CodeScanRunning, "a scan is already running; follow it at "+prefix+"reconcile/"+running)
		e.runID = running
		a.writeError(w, r, e)
		return
	}
	st := &scanState{id: id, startedAt: now, status: runRunning, sum: reconcile.RunSummary{RunID: id}}
	a.scan = st
	a.mu.Unlock()

	trig := a.trigger(r, actor)
	log := a.logger(r).With("runId", id, "actor", actor)
	go a.runScan(st, trig, log)

	log.Info("scan started by api")
	loc := prefix + "reconcile/" + id
	w.Header().Set("Location", loc)
	writeJSON(w, log, http.StatusAccepted, scanAccepted{RunID: id, Status: runRunning, StatusURL: loc})
}

func (a *API) runScan(st *scanState, trig reconcile.Trigger, log *slog.Logger) {
	ctx, cancel := context.WithTimeout(a.o.BaseContext, a.o.ScanBudget+scanGrace)
	defer cancel()
	var (
		sum reconcile.RunSummary
		err error
	)
	func() {
		defer func() {
			if v := recover(); v != nil {
				err = errors.New("scan panicked")
				log.Error("background scan panicked", "panic", v)
			}
		}()
		sum, err = a.o.Deciders.Scan(ctx, a.o.Scope, a.o.Runs, trig, reconcile.ScanOptions{
			Concurrency: a.o.ScanConcurrency,
			Budget:      a.o.ScanBudget,
			RunID:       st.id,
			Progress: func(s reconcile.RunSummary) {
				a.mu.Lock()
				st.sum = s
				a.mu.Unlock()
			},
		})
	}()
	status := runSucceeded
	switch {
	case err != nil:
		status = runFailed
	case !sum.Complete:
		status = runPartial
	}
	if err != nil {
		log.Error("background scan failed", "err", err, "scanned", sum.Scanned)
	} else {
		log.Info("background scan finished", "status", status, "scanned", sum.Scanned, "acted", sum.Acted())
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	sum.RunID = st.id
	st.sum, st.status, st.finishedAt = sum, status, a.now()
	a.scan = nil
	a.done = append(a.done, st)
	if len(a.done) > keepFinishedScans {
		a.done = a.done[len(a.done)-keepFinishedScans:]
	}
}

// runJSON is a run on the wire; the counters the store does not keep are omitted for runs
// read from it.
type runJSON struct {
	RunID      string     `json:"runId"`
	Trigger    string     `json:"trigger,omitempty"`
	Status     string     `json:"status"`
	StartedAt  time.Time  `json:"startedAt"`
	FinishedAt *time.Time `json:"finishedAt,omitempty"`
	Scanned    int        `json:"scanned"`
	Total      int        `json:"total"`
	Acted      int        `json:"acted"`
	Approved   *int       `json:"approved,omitempty"`
	Rejected   *int       `json:"rejected,omitempty"`
	Observed   int        `json:"observed"`
	Drift      int        `json:"drift"`
	Failed     int        `json:"failed"`
	Resumable  bool       `json:"resumable"` // a later scan continues where this one stopped
	HasErrors  bool       `json:"hasErrors"` // details are in plsgate's logs
}

func (st *scanState) json() runJSON {
	s := st.sum
	j := runJSON{
		RunID: st.id, Trigger: "http", Status: st.status, StartedAt: st.startedAt,
		Scanned: s.Scanned, Total: s.Listed, Acted: s.Acted(), Observed: s.Observed, Drift: s.Drift, Failed: s.Failed,
		Approved: &s.Approved, Rejected: &s.Rejected,
		Resumable: st.status == runPartial, HasErrors: st.status == runFailed || s.Failed > 0,
	}
	if !st.finishedAt.IsZero() {
		t := st.finishedAt
		j.FinishedAt = &t
	}
	return j
}

func storedRunJSON(r *store.Run) runJSON {
	j := runJSON{
		RunID: r.ID, Trigger: r.Trigger, Status: r.Status, StartedAt: r.StartedAt,
		Scanned: r.Scanned, Total: r.Total, Acted: r.Acted, Observed: r.Observed, Drift: r.Drift, Failed: r.Failed,
		Resumable: r.Continuation != "", HasErrors: r.Error != "" || r.Failed > 0,
	}
	if !r.FinishedAt.IsZero() {
		t := r.FinishedAt
		j.FinishedAt = &t
	}
	return j
}

// runIDPattern: what store.NewRunID and the timer produce, and nothing a table key forbids.
var runIDPattern = regexp.MustCompile(`^[A-Za-z0-9._:-]{1,128}$`)

// getRun is GET /reconcile/{runId}.
func (a *API) getRun(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("runId")
	if !runIDPattern.MatchString(id) {
		a.writeError(w, r, badRequest(CodeBadRequest, "invalid run id"))
		return
	}
	if j, ok := a.memoryRun(id); ok {
		writeJSON(w, a.logger(r), http.StatusOK, j)
		return
	}
	run, err := a.o.Store.GetRun(r.Context(), id)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			a.writeError(w, r, newError(http.StatusNotFound, CodeNotFound, "no such run"))
			return
		}
		a.writeError(w, r, err)
		return
	}
	writeJSON(w, a.logger(r), http.StatusOK, storedRunJSON(run))
}

func (a *API) memoryRun(id string) (runJSON, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.scan != nil && a.scan.id == id {
		return a.scan.json(), true
	}
	for _, st := range a.done {
		if st.id == id {
			return st.json(), true
		}
	}
	return runJSON{}, false
}

// runningScan returns the running background scan's view, if any (for the status page).
func (a *API) runningScan() (runJSON, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.scan == nil {
		return runJSON{}, false
	}
	return a.scan.json(), true
}
