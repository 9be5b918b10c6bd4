package reconcile

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/plsgate/plsgate/internal/arm"
	"github.com/plsgate/plsgate/internal/policy"
	"github.com/plsgate/plsgate/internal/store"
)

// ErrNotFound: the private link service or the connection does not exist.
var ErrNotFound = errors.New("not found")

// NotPendingError: only Pending connections can be decided by hand.
type NotPendingError struct{ Status string }

func (e *NotPendingError) Error() string {
	return fmt.Sprintf("the connection is %s, not Pending: only Pending connections can be approved or rejected", e.Status)
}

// PolicyError: the policy decides otherwise and force was not given.
type PolicyError struct{ Decision policy.Decision }

func (e *PolicyError) Error() string {
	rule := e.Decision.Rule
	if rule == "" {
		rule = "the default"
	}
	return fmt.Sprintf("the policy says %s (%s: %s); pass force to override", e.Decision.Action, rule, e.Decision.Reason)
}

// ManualRequest is an operator's approve or reject.
type ManualRequest struct {
	ConnectionID string
	Action       policy.Action // approve | reject
	Actor        string        // "principal:<upn/oid>"
	Reason       string
	Force        bool // override the policy (the caller checked the actor may)
}

// Apply approves or rejects one connection by hand through the same
// record-then-act path as the policy, with the actor and reason recorded.
func (r *Reconciler) Apply(ctx context.Context, req ManualRequest, t Trigger) (Outcome, error) {
	if req.Action != policy.Approve && req.Action != policy.Reject {
		return Outcome{}, fmt.Errorf("action %q: want approve or reject", req.Action)
	}
	plsID, name, err := arm.ParseConnectionID(req.ConnectionID)
	if err != nil {
		return Outcome{}, err
	}
	readAt := r.now()
	pls, err := r.ARM.GetPrivateLinkService(ctx, plsID)
	if err != nil {
		if arm.IsNotFound(err) {
			return Outcome{}, fmt.Errorf("private link service %s: %w", plsID, ErrNotFound)
		}
		return Outcome{}, armErrWrap("read private link service "+plsID, err)
	}
	idx := -1
	for i := range pls.Connections {
		if strings.EqualFold(pls.Connections[i].Name, name) {
			idx = i
		}
	}
	if idx < 0 {
		return Outcome{}, fmt.Errorf("connection %s on %s: %w", name, plsID, ErrNotFound)
	}
	c := pls.Connections[idx]
	run := &serviceRun{r: r, pls: pls, trig: t, readAt: readAt}
	row, err := run.reload(ctx, c.Name)
	if err != nil {
		return Outcome{}, err
	}
	for attempt := 0; attempt < maxAttempts; attempt++ {
		if attempt > 0 {
			if row, err = run.reload(ctx, c.Name); err != nil {
				return Outcome{}, err
			}
		}
		o, err := run.applyStep(ctx, &c, row, req)
		if errors.Is(err, store.ErrConflict) {
			continue
		}
		if err == nil && o.Err != nil {
			err = o.Err
		}
		if errors.Is(err, ErrRecordIncomplete) {
			// The caller's decision landed in ARM: it gets its success; the
			// next trigger completes the record.
			r.log().Warn("decision applied, record to be completed by the next trigger", "connection", req.ConnectionID, "err", err)
			err = nil
		}
		if err == nil {
			run.notify(ctx, o)
		}
		return o, err
	}
	return Outcome{}, ErrInProgress
}

func (s *serviceRun) applyStep(ctx context.Context, c *arm.Connection, row *store.Connection, req ManualRequest) (Outcome, error) {
	if row != nil && row.PendingAction != "" {
		if s.leaseHeldByOther(row) {
			return s.outcome(*c, InProgress, nil), ErrInProgress
		}
		o, done, err := s.resume(ctx, c, row)
		if err != nil {
			return o, err
		}
		if done {
			return o, &NotPendingError{Status: c.Status}
		}
		if row, err = s.reload(ctx, c.Name); err != nil {
			return o, err
		}
	}
	if err := s.refreshIfStale(ctx, c, row); err != nil {
		return Outcome{}, err
	}
	if row == nil || !strings.EqualFold(row.Status, c.Status) {
		_, nrow, err := s.observe(ctx, *c, row)
		if err != nil {
			return Outcome{}, err
		}
		row = nrow
	}
	if !strings.EqualFold(c.Status, StatusPending) {
		return s.outcome(*c, Unchanged, nil), &NotPendingError{Status: c.Status}
	}
	facts, v, err := s.verifiedFacts(ctx, *c, row)
	if err != nil {
		return Outcome{}, err
	}
	spl := v.spl
	if req.Action == policy.Approve {
		spl = v.chosen() // binding.go: a person approving one of several candidates
	}
	d := s.r.Policy.Evaluate(facts)
	if d.Action != req.Action && !req.Force {
		return s.outcome(*c, Unchanged, nil), &PolicyError{Decision: d}
	}
	reason := req.Reason
	if d.Action != req.Action {
		reason = fmt.Sprintf("%s (forced over policy: %s)", req.Reason, d.Reason)
	}
	rule := ""
	if d.Action == req.Action {
		rule = d.Rule
	}
	return s.act(ctx, c, row, actRequest{action: req.Action, rule: rule, actor: req.Actor, reason: reason, spl: spl})
}

// Evaluate reads a connection and its PLS from ARM and asks the policy what it
// would decide now, changing nothing (the stored request message is used, as
// Reconcile does, and Web PubSub verification is looked up when rules need it).
func (r *Reconciler) Evaluate(ctx context.Context, connectionID string) (policy.Facts, policy.Decision, error) {
	plsID, name, err := arm.ParseConnectionID(connectionID)
	if err != nil {
		return policy.Facts{}, policy.Decision{}, err
	}
	pls, err := r.ARM.GetPrivateLinkService(ctx, plsID)
	if err != nil {
		if arm.IsNotFound(err) {
			return policy.Facts{}, policy.Decision{}, fmt.Errorf("private link service %s: %w", plsID, ErrNotFound)
		}
		return policy.Facts{}, policy.Decision{}, armErrWrap("read private link service "+plsID, err)
	}
	for _, c := range pls.Connections {
		if !strings.EqualFold(c.Name, name) {
			continue
		}
		run := &serviceRun{r: r, pls: pls}
		row, err := run.reload(ctx, c.Name)
		if err != nil {
			return policy.Facts{}, policy.Decision{}, err
		}
		facts, _, err := run.facts(ctx, c, row)
		if err != nil {
			return policy.Facts{}, policy.Decision{}, err
		}
		return facts, r.Policy.Evaluate(facts), nil
	}
	return policy.Facts{}, policy.Decision{}, fmt.Errorf("connection %s on %s: %w", name, plsID, ErrNotFound)
}
