package store

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/plsgate/plsgate/internal/resource"
)

// The record-then-act protocol over the connections and transitions tables (issue 14.2).
//
// A decision is stored before it acts: the connection row is claimed with If-Match (PendingAction,
// PendingTransition, a lease: PendingSince + LeaseHolder), the intent transition row is written, and
// only then may the caller make its one write elsewhere; the outcome (done or failed) is recorded
// after it. A claim whose holder vanished is resumed from its stored intent (Renew), voided when the
// connection changed meanwhile (Void), or finished when the write had landed (Done).
//
// The verbs are written once, over Rows, so the Azurite store, the in-memory store and any wrapper
// (a what-if run's read-only view, a test's fault injector) share them; conformance_test.go runs the
// same suite (storetest) against each. Every verb takes the row as the caller read it and, on success,
// updates it in place (new ETag included); on failure the row is left as it was. ErrConflict from a
// verb means "the row changed since you read it: re-read and decide again"; the verbs that can settle
// a conflict without a new decision (Done, Fail, Release, ObserveSharedLink) do so themselves.

// Phases of a transition row.
const (
	PhaseIntent   = "intent"
	PhaseDone     = "done"
	PhaseFailed   = "failed"
	PhaseObserved = "observed"
	PhaseDryRun   = "dry-run"
	PhaseDrift    = "drift"
)

// approveAction is the claim action (policy.Approve) whose claim carries a person's override: an
// approval that does not land ends it. Every other status rule is the caller's.
const approveAction = "approve"

// maxFinishAttempts bounds Done's re-reads when others write the row meanwhile.
const maxFinishAttempts = 6

// Rows is the row-level API the protocol runs on: connection rows written with Add (ETag "") or
// Replace with If-Match (ErrConflict when stale), and transition rows under their deterministic keys.
// *Store and memstore implement it.
type Rows interface {
	GetConnection(ctx context.Context, plsID, name string) (*Connection, error)
	PutConnection(ctx context.Context, c *Connection) error
	AppendTransition(ctx context.Context, t *Transition) (bool, error)
	UpdateTransition(ctx context.Context, t *Transition) error
	GetTransition(ctx context.Context, plsID, id string) (*Transition, error)
}

// Holder is one invocation in the protocol: its lease holder ID and its wall clock.
type Holder struct {
	ID string
	// Now is the holder's wall clock (PendingSince, UpdatedAt, FailedAt, new history rows' At).
	Now func() time.Time
	// Respect is how long after its PendingSince another holder's claim is live: the lease plus a
	// margin for the clock skew between two instances (the only place their clocks meet).
	Respect time.Duration
}

func (h Holder) now() time.Time {
	if h.Now != nil {
		return h.Now().UTC()
	}
	return time.Now().UTC()
}

// HeldByOther reports whether another invocation may be acting on row now: its claim carries a
// lease (PendingSince not released) of another holder that has not run out.
func (h Holder) HeldByOther(row *Connection) bool {
	if row == nil || row.PendingSince.IsZero() || row.LeaseHolder == h.ID {
		return false
	}
	return h.now().Sub(row.PendingSince) < h.Respect
}

// Origin is what started the invocation; history rows the protocol adds itself carry it.
type Origin struct {
	Trigger, EventID, InvocationID string
}

// Protocol is the verbs of the record-then-act protocol for one invocation.
type Protocol struct {
	Rows   Rows
	Holder Holder
	Origin Origin
	// Log hears (Warn) of a history row not written after its connection row was: that row is
	// lost, never duplicated (the connection row already says what happened). nil: not reported.
	Log *slog.Logger
}

func (p *Protocol) history(ctx context.Context, t *Transition) {
	if t == nil {
		return
	}
	if _, err := p.Rows.AppendTransition(ctx, t); err != nil && p.Log != nil {
		p.Log.Warn("transition not recorded", "pls", t.PLSID, "connection", t.Connection, "subject", t.Subject, "phase", t.Phase, "err", err)
	}
}

// put writes next (a modified copy of *row) with row's ETag and, on success, makes it the row.
func (p *Protocol) put(ctx context.Context, row, next *Connection) error {
	if err := p.Rows.PutConnection(ctx, next); err != nil {
		return err
	}
	*row = *next
	return nil
}

// row returns the next row for t (a new history row the protocol adds), stamped with the origin.
func (p *Protocol) row(from *Transition, phase, reason, cause string) *Transition {
	return &Transition{
		PLSID: from.PLSID, Connection: from.Connection, Subject: from.Subject, From: from.From, To: from.To,
		Action: from.Action, Actor: from.Actor, Rule: from.Rule, Phase: phase, Reason: reason, Cause: cause,
		Trigger: p.Origin.Trigger, EventID: p.Origin.EventID, InvocationID: p.Origin.InvocationID, At: p.Holder.now(),
	}
}

// Seen is a connection as the resource's owner API showed it, recorded by Observe.
type Seen struct {
	PLSID, Name                                          string
	ConnectionID, Status, Description, PrivateEndpointID string
	RequesterSubscription, LinkIdentifier, ARMETag       string
	// RequestMessage is recorded unless the row holds one already: the requester's message as
	// first seen (an approval overwrites Description).
	RequestMessage string
	// Gone: the connection left its resource; a claim on it is dropped with it.
	Gone bool
}

// Observe records a state plsgate did not cause (a first sighting, a change made elsewhere):
// the row (Add when row is nil, else If-Match), then t, the observed history row. A person's
// override ends with it. It returns the row written (row itself, updated, when not nil).
// t.At is the observation's time and the row's UpdatedAt.
func (p *Protocol) Observe(ctx context.Context, row *Connection, seen Seen, t *Transition) (*Connection, error) {
	next := &Connection{PLSID: seen.PLSID, Name: seen.Name}
	if row != nil {
		cp := *row
		next = &cp
	}
	next.ConnectionID, next.Status, next.Description = seen.ConnectionID, seen.Status, seen.Description
	if next.RequestMessage == "" {
		next.RequestMessage = seen.RequestMessage
	}
	next.PrivateEndpointID, next.RequesterSubscription = seen.PrivateEndpointID, seen.RequesterSubscription
	next.LinkIdentifier, next.ARMETag = seen.LinkIdentifier, seen.ARMETag
	next.LastActor, next.LastEventID = "observed", p.Origin.EventID
	clearOverride(next)
	if seen.Gone {
		clearClaim(next)
	}
	next.UpdatedAt = t.At
	if row == nil {
		if err := p.Rows.PutConnection(ctx, next); err != nil {
			return nil, err
		}
		row = next
	} else if err := p.put(ctx, row, next); err != nil {
		return nil, err
	}
	p.history(ctx, t)
	return row, nil
}

// Decide records a decision that does not act — leave it Pending, a dry run's would-be action,
// an ambiguous verification — as the row's LastDecision (so it is recorded and notified once),
// then t when not nil.
func (p *Protocol) Decide(ctx context.Context, row *Connection, decision, rule string, t *Transition) error {
	next := *row
	next.LastDecision, next.LastRule, next.UpdatedAt = decision, rule, p.Holder.now()
	if err := p.put(ctx, row, &next); err != nil {
		return err
	}
	p.history(ctx, t)
	return nil
}

// Drift records a drift finding (marker) on an approved connection, then t when not nil; an
// empty marker clears it.
func (p *Protocol) Drift(ctx context.Context, row *Connection, marker string, t *Transition) error {
	next := *row
	next.Drift, next.UpdatedAt = marker, p.Holder.now()
	if err := p.put(ctx, row, &next); err != nil {
		return err
	}
	if marker != "" {
		p.history(ctx, t)
	}
	return nil
}

// ObserveSharedLink records the status of the shared private link resource that vouched for the
// connection, then t. A conflict is left to the writer who won it (nil, row unchanged).
func (p *Protocol) ObserveSharedLink(ctx context.Context, row *Connection, status string, t *Transition) error {
	next := *row
	next.SharedPrivateLinkStatus, next.UpdatedAt = status, p.Holder.now()
	if err := p.put(ctx, row, &next); err != nil {
		if errors.Is(err, ErrConflict) {
			return nil
		}
		return err
	}
	p.history(ctx, t)
	return nil
}

// Claim is what a claim records besides its lease.
type Claim struct {
	Action string // PendingAction: what the holder is about to do (approve, reject)
	// Decision identifies the decision for the refusal memory: a claim of the decision ARM refused
	// last (FailedDecision) reuses that failed row as its intent, so one refusal stays one row.
	Decision string
	// Description is what the action writes on the connection (PendingDescription).
	Description string
	Rule, Actor string // LastRule, LastActor
	// Override: a person approves against the policy; kept by the approval while it is Approved.
	// nil on an approval: the policy backs it, any earlier override ends.
	Override *Override
	// SharedPrivateLinkID/Status: the shared private link resource vouching for an approval.
	SharedPrivateLinkID, SharedPrivateLinkStatus string
}

// Override is a person's forced approval as the row keeps it.
type Override struct{ Actor, Reason, Policy string }

// Claim makes this holder the one actor on the row (If-Match): the action, its intent row's ID
// and a lease from now. intent is the intent row to record (its ID is set here); the returned
// transition is the one to pass to RecordIntent — intent itself, or the refused row it reuses.
// Nothing acts on a claim until RecordIntent succeeded.
func (p *Protocol) Claim(ctx context.Context, row *Connection, intent *Transition, c Claim) (*Transition, error) {
	if c.Action == "" || intent == nil {
		return nil, errors.New("store: claim: no action or intent")
	}
	tr := intent
	if row.FailedTransition != "" && row.FailedDecision == c.Decision {
		prev, err := p.Rows.GetTransition(ctx, row.PLSID, row.FailedTransition)
		switch {
		case err == nil && prev.Phase == PhaseFailed:
			prev.Phase, prev.Trigger, prev.EventID, prev.InvocationID = PhaseIntent, p.Origin.Trigger, p.Origin.EventID, p.Origin.InvocationID
			tr = prev
		case err != nil && !errors.Is(err, ErrNotFound):
			return nil, fmt.Errorf("store: read the refused decision %s: %w", row.FailedTransition, err)
		}
	}
	if tr == intent {
		id, err := TransitionRowKey(intent)
		if err != nil {
			return nil, err
		}
		intent.ID, intent.ETag = id, ""
	}
	next := *row
	next.PendingAction, next.PendingTransition, next.PendingDescription = c.Action, tr.ID, c.Description
	next.PendingSince, next.LeaseHolder = p.Holder.now(), p.Holder.ID
	next.LastRule, next.LastActor, next.LastEventID = c.Rule, c.Actor, p.Origin.EventID
	switch {
	case c.Override != nil:
		next.OverrideActor, next.OverrideReason, next.OverridePolicy = c.Override.Actor, c.Override.Reason, c.Override.Policy
		next.OverrideAt = p.Holder.now()
	case c.Action == approveAction:
		clearOverride(&next)
	}
	if c.SharedPrivateLinkID != "" {
		next.SharedPrivateLinkID, next.SharedPrivateLinkStatus = c.SharedPrivateLinkID, c.SharedPrivateLinkStatus
	}
	if err := p.put(ctx, row, &next); err != nil {
		return nil, err
	}
	return tr, nil
}

// RecordIntent writes the intent row t of the claim on row (a refused row that Claim reuses is
// updated, any other appended). Without it nothing may act: on failure the lease is released so
// the next delivery resumes the claim at once, and the error returned.
func (p *Protocol) RecordIntent(ctx context.Context, row *Connection, t *Transition) error {
	if err := owns(row, t); err != nil {
		return err
	}
	var err error
	if t.ETag != "" {
		err = p.Rows.UpdateTransition(ctx, t)
	} else {
		_, err = p.Rows.AppendTransition(ctx, t)
	}
	if err != nil {
		p.Release(ctx, row)
		return err
	}
	return nil
}

// Intent reads the intent row the claim on row names: nil when it never landed (then nothing
// acted on the claim, and Void drops it).
func (p *Protocol) Intent(ctx context.Context, row *Connection) (*Transition, error) {
	t, err := p.Rows.GetTransition(ctx, row.PLSID, row.PendingTransition)
	if errors.Is(err, ErrNotFound) {
		return nil, nil
	}
	return t, err
}

// Renew takes over a claim whose holder is gone (its lease ran out or was released) so that this
// holder acts on its recorded intent: a new lease from now, the same intent.
func (p *Protocol) Renew(ctx context.Context, row *Connection) error {
	next := *row
	next.PendingSince, next.LeaseHolder = p.Holder.now(), p.Holder.ID
	return p.put(ctx, row, &next)
}

// Release gives up the lease and keeps the intent, so another invocation may resume the claim at
// once rather than after the lease. Best effort (the lease runs out anyway), also after ctx ends.
func (p *Protocol) Release(ctx context.Context, row *Connection) {
	next := *row
	next.PendingSince, next.LeaseHolder = time.Time{}, ""
	_ = p.put(context.WithoutCancel(ctx), row, &next)
}

// Landed is the connection as the acting write left it.
type Landed struct {
	Status, Description, ARMETag string
	// AfterRefusal is the reason of the done row added when the write succeeds on a retry of a
	// decision ARM refused before (that refusal row stays a refusal).
	AfterRefusal string
}

// Done records that the claim's write landed: the intent row done (or, on a retry of a refused
// decision, a done row of its own), then the row with the new state, the claim, the refusal memory
// and any drift cleared; a person's override ends unless the connection is now Approved. A
// conflicting write meanwhile is re-read: while the row still holds this intent and no other live
// claim, Done records it there; otherwise its writer does, and Done returns (nil, nil). It returns
// the row written. On error the lease is released (when the intent row could not be updated).
func (p *Protocol) Done(ctx context.Context, row *Connection, t *Transition, l Landed) (*Connection, error) {
	if err := owns(row, t); err != nil {
		return nil, err
	}
	if row.FailedTransition != "" && row.FailedTransition == t.ID && t.Phase == PhaseIntent {
		t.Phase = PhaseFailed
		if err := p.Rows.UpdateTransition(ctx, t); err != nil && !errors.Is(err, ErrConflict) {
			p.Release(ctx, row)
			return nil, err
		}
		if _, err := p.Rows.AppendTransition(ctx, p.row(t, PhaseDone, l.AfterRefusal, "done|"+t.ID)); err != nil {
			p.Release(ctx, row)
			return nil, err
		}
	} else if t.Phase != PhaseDone {
		t.Phase = PhaseDone
		// A conflict: another holder resumed the intent and recorded it.
		if err := p.Rows.UpdateTransition(ctx, t); err != nil && !errors.Is(err, ErrConflict) {
			p.Release(ctx, row)
			return nil, err
		}
	}
	next := *row
	for attempt := 0; ; attempt++ {
		clearClaim(&next)
		if t.To != resource.StatusApproved {
			clearOverride(&next) // the connection left Approved
		}
		next.Status, next.Description, next.ARMETag = l.Status, l.Description, l.ARMETag
		next.LastDecision, next.Drift, next.UpdatedAt = t.Action, "", p.Holder.now()
		clearRefusal(&next)
		err := p.Rows.PutConnection(ctx, &next)
		if err == nil {
			*row = next
			return row, nil
		}
		if !errors.Is(err, ErrConflict) {
			return nil, err
		}
		fresh, err := p.Rows.GetConnection(ctx, row.PLSID, row.Name)
		if errors.Is(err, ErrNotFound) {
			return nil, nil
		}
		if err != nil {
			return nil, fmt.Errorf("store: re-read connection %s: %w", row.Name, err)
		}
		if fresh.PendingTransition != t.ID || p.Holder.HeldByOther(fresh) || attempt >= maxFinishAttempts {
			return nil, nil
		}
		next = *fresh
	}
}

// Refusal is a terminal refusal of the claim's write.
type Refusal struct {
	Code string // the refusal's error code: one failed row per code, however often it recurs
	// Reason is the intent row's reason as a failed row (its first refusal); NewReason the reason
	// of a failed row of its own when a retry meets another code.
	Reason, NewReason string
	// State is the connection's state refused (FailedState); Decision the decision (FailedDecision).
	State, Decision string
}

// Fail records a terminal refusal of the claim's write: the intent row failed (a retry of the same
// decision: the same row, counted; another code: a row of its own), and the row with the claim
// cleared and the refusal remembered (code, decision, state, count, time) so it is not retried
// until the connection or the decision changes. A person's override ends with a refused approval.
// A conflicting row write is left to its writer (the failed row stands).
func (p *Protocol) Fail(ctx context.Context, row *Connection, t *Transition, r Refusal) error {
	if err := owns(row, t); err != nil {
		return err
	}
	next := *row
	clearClaim(&next)
	if t.To == resource.StatusApproved {
		clearOverride(&next) // the approval did not land
	}
	next.LastDecision = "failed:" + t.Action
	retried := row.FailedTransition != "" && row.FailedTransition == t.ID
	t.Phase = PhaseFailed
	if !retried {
		t.Reason = r.Reason
	}
	if err := p.Rows.UpdateTransition(ctx, t); err != nil {
		return err
	}
	switch {
	case retried && row.FailedCode == r.Code:
		next.FailedCount++ // the same refusal again: its row stands
	case retried:
		// Another refusal: the earlier row keeps its code, this one gets its own.
		nt := p.row(t, PhaseFailed, r.NewReason, "failed|"+t.Action+"|"+r.Code)
		if _, err := p.Rows.AppendTransition(ctx, nt); err != nil {
			return err
		}
		next.FailedTransition, next.FailedCount = nt.ID, 1
	default:
		next.FailedTransition, next.FailedCount = t.ID, 1
	}
	next.FailedCode, next.FailedDecision, next.FailedState = r.Code, r.Decision, r.State
	next.FailedAt, next.UpdatedAt = p.Holder.now(), p.Holder.now()
	if err := p.put(ctx, row, &next); err != nil && !errors.Is(err, ErrConflict) {
		return err
	}
	return nil
}

// Void drops a claim that will not act: its intent t never landed (nil: nothing was written for
// it), or the connection changed before it acted (t's intent row is marked failed with reason). A
// person's override ends with a dropped approval.
func (p *Protocol) Void(ctx context.Context, row *Connection, t *Transition, reason string) error {
	next := *row
	approve := row.PendingAction == approveAction
	if t != nil {
		if err := owns(row, t); err != nil {
			return err
		}
		approve = t.To == resource.StatusApproved
		if t.Phase == PhaseIntent {
			t.Phase, t.Reason = PhaseFailed, reason
			if err := p.Rows.UpdateTransition(ctx, t); err != nil {
				return err
			}
		}
	}
	if approve {
		clearOverride(&next) // the approval never landed
	}
	clearClaim(&next)
	return p.put(ctx, row, &next)
}

// owns checks that t is the intent the claim on row names.
func owns(row *Connection, t *Transition) error {
	if row == nil || t == nil || t.ID == "" || row.PendingTransition != t.ID {
		var have, want string
		if row != nil {
			have = row.PendingTransition
		}
		if t != nil {
			want = t.ID
		}
		return fmt.Errorf("store: the claim names intent %q, not %q", have, want)
	}
	return nil
}

func clearClaim(r *Connection) {
	r.PendingAction, r.PendingTransition, r.PendingDescription = "", "", ""
	r.PendingSince, r.LeaseHolder = time.Time{}, ""
}

func clearOverride(r *Connection) {
	r.OverrideActor, r.OverrideReason, r.OverridePolicy, r.OverrideAt = "", "", "", time.Time{}
}

func clearRefusal(r *Connection) {
	r.FailedCode, r.FailedTransition, r.FailedDecision, r.FailedState = "", "", "", ""
	r.FailedCount, r.FailedAt = 0, time.Time{}
}
