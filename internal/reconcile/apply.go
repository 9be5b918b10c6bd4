package reconcile

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/plsgate/plsgate/internal/arm"
	"github.com/plsgate/plsgate/internal/policy"
	"github.com/plsgate/plsgate/internal/resource"
	"github.com/plsgate/plsgate/internal/store"
)

// NotPendingError: only Pending connections can be decided by hand, except
// that an Approved one can be revoked (reject with force).
type NotPendingError struct {
	Status string
	// Revocable: the connection is Approved and the request was a reject
	// without force; with force it is revoked.
	Revocable bool
}

func (e *NotPendingError) Error() string {
	if e.Revocable {
		return fmt.Sprintf("the connection is %s, not Pending: set force to revoke it (%s → Rejected, terminal)", e.Status, e.Status)
	}
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
	// Force overrides the policy, and lets a reject revoke an Approved
	// connection (the caller checked the actor may).
	Force bool
}

// Apply approves or rejects one connection by hand through the same
// record-then-act path as the policy, with the actor and reason recorded.
func (r *Reconciler) Apply(ctx context.Context, req ManualRequest, t Trigger) (Outcome, error) {
	if req.Action != policy.Approve && req.Action != policy.Reject {
		return Outcome{}, fmt.Errorf("action %q: want approve or reject", req.Action)
	}
	p, resID, name, err := r.connectionProvider(req.ConnectionID)
	if err != nil {
		return Outcome{}, err
	}
	readAt := r.now()
	res, err := r.read(ctx, p, resID)
	if err != nil {
		return Outcome{}, err
	}
	idx := -1
	for i := range res.Connections {
		if strings.EqualFold(res.Connections[i].Name, name) {
			idx = i
		}
	}
	if idx < 0 {
		return Outcome{}, fmt.Errorf("connection %s on %s: %w", name, resID, ErrNotFound)
	}
	c := res.Connections[idx]
	run := &resourceRun{r: r, prov: p, res: res, trig: t, readAt: readAt}
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

func (s *resourceRun) applyStep(ctx context.Context, c *resource.Connection, row *store.Connection, req ManualRequest) (Outcome, error) {
	p, err := s.prepare(ctx, c, row)
	switch {
	case err != nil:
		return p.o, err
	case p.held:
		return p.o, ErrInProgress
	case p.settled: // an earlier intent was finished: the connection is no longer Pending
		return p.o, &NotPendingError{Status: c.Status}
	}
	row = p.row
	if !strings.EqualFold(c.Status, StatusPending) {
		if req.Action == policy.Reject && strings.EqualFold(c.Status, StatusApproved) {
			if !req.Force {
				return s.outcome(*c, Unchanged, nil), &NotPendingError{Status: c.Status, Revocable: true}
			}
			return s.revoke(ctx, c, row, req)
		}
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
	rule, reason, ov := manualDecision(req, d)
	o, err := s.act(ctx, c, row, actRequest{action: req.Action, rule: rule, actor: req.Actor, reason: reason, spl: spl, override: ov})
	o.Actor = req.Actor
	if ov != nil {
		o.Category = CategoryOverride
	}
	return o, err
}

// Evaluate reads a connection and its resource (a PLS, or another registered
// kind) from ARM and asks the policy what it would decide now, changing
// nothing (the stored request message is used, as Reconcile does, and Web
// PubSub verification is looked up when rules need it).
func (r *Reconciler) Evaluate(ctx context.Context, connectionID string) (policy.Facts, policy.Decision, error) {
	p, resID, name, err := r.connectionProvider(connectionID)
	if err != nil {
		return policy.Facts{}, policy.Decision{}, err
	}
	res, err := r.read(ctx, p, resID)
	if err != nil {
		return policy.Facts{}, policy.Decision{}, err
	}
	for _, c := range res.Connections {
		if !strings.EqualFold(c.Name, name) {
			continue
		}
		run := &resourceRun{r: r, prov: p, res: res}
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
	return policy.Facts{}, policy.Decision{}, fmt.Errorf("connection %s on %s: %w", name, resID, ErrNotFound)
}

// connectionProvider splits a private endpoint connection ID of any registered
// kind into its resource's provider, ID and the connection name. Anything
// else is bad input (terminal).
func (r *Reconciler) connectionProvider(connectionID string) (resource.Provider, string, string, error) {
	resID, name, err := resource.SplitConnectionID(connectionID)
	if err != nil {
		return nil, "", "", fmt.Errorf("%w: %v", arm.ErrInvalidArgument, err)
	}
	p, err := r.provider(resID)
	if err != nil {
		return nil, "", "", err
	}
	return p, resID, name, nil
}

// read reads a resource for a manual decision or an evaluation: a resource
// ARM does not know is ErrNotFound.
func (r *Reconciler) read(ctx context.Context, p resource.Provider, id string) (*resource.Resource, error) {
	res, err := p.Get(ctx, id)
	if err != nil {
		if arm.IsNotFound(err) {
			return nil, fmt.Errorf("%s %s: %w", noun(id), id, ErrNotFound)
		}
		return nil, armErrWrap("read "+noun(id)+" "+id, err)
	}
	return res, nil
}
