package reconcile

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/plsgate/plsgate/internal/arm"
	"github.com/plsgate/plsgate/internal/policy"
	"github.com/plsgate/plsgate/internal/resource"
	"github.com/plsgate/plsgate/internal/store"
)

// maxAttempts bounds the re-read loop after ETag conflicts on one connection.
const maxAttempts = 6

// converge brings one connection to what the policy decides, recording every
// change. It re-reads the stored row after a conflict and starts again: the
// fresh state always decides.
func (s *resourceRun) converge(ctx context.Context, c resource.Connection, row *store.Connection) Outcome {
	if row != nil {
		cp := *row // the store's verbs update the row in place; the caller's stays as read
		row = &cp
	}
	var last error
	for attempt := 0; attempt < maxAttempts; attempt++ {
		if attempt > 0 {
			var err error
			if row, err = s.reload(ctx, c.Name); err != nil {
				return s.outcome(c, Failed, err)
			}
		}
		o, err := s.step(ctx, &c, row)
		if errors.Is(err, store.ErrConflict) {
			last = err
			continue
		}
		if err != nil {
			o.Err = err
			if o.Result == "" {
				o.Result = Failed
			}
		}
		s.notify(ctx, o)
		return o
	}
	return s.outcome(c, Failed, retryable(fmt.Errorf("connection %s: still conflicting after %d attempts: %w", c.Name, maxAttempts, last)))
}

func (s *resourceRun) reload(ctx context.Context, name string) (*store.Connection, error) {
	row, err := s.r.Store.GetConnection(ctx, s.res.ID, name)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, storeErr("re-read connection "+name, err)
	}
	return row, nil
}

func (s *resourceRun) outcome(c resource.Connection, res Result, err error) Outcome {
	return Outcome{PLSID: s.res.ID, Connection: c.Name, ConnectionID: c.ID, From: c.Status, To: c.Status, Result: res, Description: c.Description, Err: err}
}

// step is one pass over a connection with a given stored row. A returned
// store.ErrConflict means "re-read and try again".
func (s *resourceRun) step(ctx context.Context, c *resource.Connection, row *store.Connection) (Outcome, error) {
	p, err := s.prepare(ctx, c, row)
	if err != nil || p.settled {
		return p.o, err
	}
	row = p.row

	// 3. Decide. Only Pending connections are acted upon; Approved ones are
	// checked for drift; Rejected is terminal.
	var o Outcome
	switch {
	case strings.EqualFold(c.Status, StatusPending):
		o, err = s.decidePending(ctx, c, row)
	case strings.EqualFold(c.Status, StatusApproved):
		o, err = s.checkApproved(ctx, c, row)
	default:
		o = s.outcome(*c, Unchanged, nil)
	}
	if p.observed {
		if err == nil && o.Result == Unchanged {
			return p.change, nil
		}
		o.AlsoObserved = true
	}
	return o, err
}

// prepared is where a decision starts (step and applyStep): the stored row
// once an earlier intent is settled and an outside change recorded.
type prepared struct {
	row *store.Connection
	// observed: this pass recorded a change made outside plsgate (change).
	observed bool
	change   Outcome
	// settled: nothing is left to decide — another invocation holds the
	// claim (held), or an earlier intent was finished (o says how).
	settled, held bool
	o             Outcome // the outcome when settled, or on an error
}

// prepare settles what came before a decision: an intent recorded earlier is
// finished or dropped, and a change made outside plsgate (or a first sighting)
// is recorded as observed.
func (s *resourceRun) prepare(ctx context.Context, c *resource.Connection, row *store.Connection) (prepared, error) {
	// 1. An intent recorded earlier is finished before anything else is decided.
	if row != nil && row.PendingAction != "" {
		if s.proto().Holder.HeldByOther(row) {
			return prepared{settled: true, held: true, o: s.outcome(*c, InProgress, nil)}, nil
		}
		o, done, err := s.resume(ctx, c, row)
		if err != nil || done {
			return prepared{settled: true, o: o}, err
		}
		// The claim was abandoned: the connection is decided afresh below.
		if row, err = s.reload(ctx, c.Name); err != nil {
			return prepared{o: o}, err
		}
	}
	// 2. A change made outside plsgate (or a first sighting) is recorded as observed.
	if err := s.refreshIfStale(ctx, c, row); err != nil {
		return prepared{o: s.outcome(*c, Failed, nil)}, err
	}
	p := prepared{row: row}
	if row == nil || !strings.EqualFold(row.Status, c.Status) {
		o, nrow, err := s.observe(ctx, *c, row)
		if err != nil {
			return prepared{o: o}, err
		}
		p.row, p.observed, p.change = nrow, true, o
	}
	return p, nil
}

// refreshIfStale re-reads the connection from ARM whenever the stored row
// disagrees with our snapshot: another invocation may have acted after our
// read, and a stale snapshot must be neither recorded as an observed change
// nor acted upon. Row and read times come from different instances' clocks, so
// they are not compared (50 ms of skew once gave a second write); the cost is
// one GET per change made outside plsgate.
func (s *resourceRun) refreshIfStale(ctx context.Context, c *resource.Connection, row *store.Connection) error {
	if row == nil || strings.EqualFold(row.Status, c.Status) {
		return nil
	}
	fresh, err := s.prov.GetConnection(ctx, s.res.ID, c.Name)
	if err != nil {
		if arm.IsNotFound(err) {
			return nil
		}
		return armErrWrap("re-read connection "+c.Name, err)
	}
	*c = *fresh
	return nil
}

// proto is this call's side of the store's record-then-act protocol. Its
// holder respects another invocation's claim for the lease plus the skew
// margin: PendingSince is the holder's clock, now is ours, and this is the one
// place where two instances' clocks meet (the holder itself never writes after
// lease - writeBound).
func (s *resourceRun) proto() *store.Protocol {
	if s.protocol.Rows == nil {
		s.protocol = store.Protocol{
			Rows:   s.r.Store,
			Holder: store.Holder{ID: s.holder(), Now: s.r.Now, Respect: s.r.lease() + s.r.skewMargin()}, // nil Now: time.Now, as r.now
			Origin: store.Origin{Trigger: s.trig.Kind, EventID: s.trig.EventID, InvocationID: s.trig.InvocationID},
			Log:    s.r.log(),
		}
	}
	return &s.protocol
}

// recordErr: a conflict means "re-read and decide again" and passes as it is;
// any other store error is retryable.
func recordErr(what string, err error) error {
	if err == nil || errors.Is(err, store.ErrConflict) {
		return err
	}
	return storeErr(what, err)
}

func (s *resourceRun) holder() string {
	if s.holderID == "" {
		var b [8]byte
		_, _ = rand.Read(b[:])
		s.holderID = hex.EncodeToString(b[:])
	}
	return s.holderID
}

func (s *resourceRun) transition(c resource.Connection, subject, from, to, action, phase string) *store.Transition {
	return &store.Transition{
		PLSID: s.res.ID, Connection: c.Name, Subject: subject, From: from, To: to, Action: action, Phase: phase,
		Trigger: s.trig.Kind, EventID: s.trig.EventID, InvocationID: s.trig.InvocationID, At: s.r.now(),
	}
}

// observe records a status that plsgate did not cause: the row first (Add or
// If-Match, so concurrent observers collapse into one), then the history row.
func (s *resourceRun) observe(ctx context.Context, c resource.Connection, row *store.Connection) (Outcome, *store.Connection, error) {
	from := ""
	if row != nil {
		from = row.Status
	}
	seen := store.Seen{
		PLSID: s.res.ID, Name: c.Name, ConnectionID: c.ID, Status: c.Status, Description: c.Description,
		PrivateEndpointID: c.PrivateEndpointID, RequesterSubscription: subscriptionOf(c.PrivateEndpointID),
		LinkIdentifier: c.LinkIdentifier, ARMETag: c.ETag, Gone: c.Status == StatusRemoved,
	}
	if from == "" || strings.EqualFold(c.Status, StatusPending) {
		// The requester's message; approving overwrites the description, but
		// policy and verification keep judging the request as it was made.
		seen.RequestMessage = c.Description
	}
	// The transition is built (and timed) before the row is written, so it
	// sorts before anything another invocation does after it.
	tr := s.transition(c, SubjectConnection, from, c.Status, "observe", PhaseObserved)
	tr.Actor = "observed"
	tr.Cause = "observed|" + from + "|" + c.Status
	if from == "" {
		tr.Reason = "connection requested"
		if c.Description != "" {
			tr.Reason += ": " + truncate(c.Description, 256)
		}
	} else {
		tr.Reason = fmt.Sprintf("status changed outside plsgate from %s to %s", from, c.Status)
	}
	nrow, err := s.proto().Observe(ctx, row, seen, tr)
	if err != nil {
		return s.outcome(c, Failed, nil), nil, recordErr("record observed state of "+c.Name, err)
	}
	o := s.outcome(c, Observed, nil)
	o.From, o.Reason = from, tr.Reason
	return o, nrow, nil
}

// confirmGone asks ARM whether a connection missing from our snapshot is really gone.
func (s *resourceRun) confirmGone(ctx context.Context, name string) (bool, error) {
	_, err := s.prov.GetConnection(ctx, s.res.ID, name)
	switch {
	case err == nil:
		return false, nil
	case arm.IsNotFound(err):
		return true, nil
	default:
		return false, armErrWrap("re-read connection "+name, err)
	}
}

// observeRemoved records a connection that disappeared from its PLS (a claim
// on it is dropped with it).
func (s *resourceRun) observeRemoved(ctx context.Context, row *store.Connection) Outcome {
	c := resource.Connection{ID: row.ConnectionID, Name: row.Name, Status: StatusRemoved, PrivateEndpointID: row.PrivateEndpointID}
	for attempt := 0; attempt < maxAttempts; attempt++ {
		if row.PendingAction != "" && s.proto().Holder.HeldByOther(row) {
			return s.outcome(c, InProgress, nil)
		}
		cp := *row
		o, _, err := s.observe(ctx, c, &cp)
		if errors.Is(err, store.ErrConflict) {
			if row, err = s.reload(ctx, row.Name); err != nil || row == nil {
				return s.outcome(c, Failed, err)
			}
			continue
		}
		if err == nil {
			o.Result, o.AlsoObserved = Removed, true // scans count it as observed
		}
		o.Err = err
		s.notify(ctx, o)
		return o
	}
	return s.outcome(c, Failed, retryable(fmt.Errorf("connection %s: still conflicting", row.Name)))
}

// decidePending asks the policy about a Pending connection and acts on it.
func (s *resourceRun) decidePending(ctx context.Context, c *resource.Connection, row *store.Connection) (Outcome, error) {
	facts, v, err := s.verifiedFacts(ctx, *c, row)
	if err != nil {
		return s.outcome(*c, Failed, nil), err
	}
	d := s.r.Policy.Evaluate(facts)
	if v.spl == nil && len(v.ambiguous) > 0 {
		// A resource could vouch for this connection and others: if that
		// would change the decision, nobody is approved and a person decides.
		verified := facts
		verified.Verified = map[string]bool{VerifiedWebPubSub: true}
		if dv := s.r.Policy.Evaluate(verified); dv.Action != d.Action || dv.Rule != d.Rule {
			return s.recordAmbiguous(ctx, c, row, dv, v)
		}
	}
	switch d.Action {
	case policy.Approve, policy.Reject:
		req := actRequest{action: d.Action, rule: d.Rule, actor: "rule:" + d.Rule, reason: d.Reason, message: d.Message}
		if d.Action == policy.Approve {
			req.spl = v.spl // bound to this connection before the intent (act)
		}
		return s.act(ctx, c, row, req)
	}
	// Leave: record the decision once (not on every tick), so the status page
	// and notification say why it waits.
	o := s.outcome(*c, LeftPending, nil)
	o.Action, o.Rule, o.Reason = d.Action, d.Rule, d.Reason
	key := "leave:" + d.Rule
	if row.LastDecision == key {
		o.Result = Unchanged
		return o, nil
	}
	return o, recordErr("record decision for "+c.Name, s.proto().Decide(ctx, row, key, d.Rule, nil))
}

// checkApproved reports (or, in enforce mode, corrects) drift and follows the
// Web PubSub side of an approval. A person's forced approval (an override) is
// not drift: it is reported as such and never enforced. Drift says whose
// approval the policy no longer backs (DriftCategory).
func (s *resourceRun) checkApproved(ctx context.Context, c *resource.Connection, row *store.Connection) (Outcome, error) {
	if row.SharedPrivateLinkID != "" && !strings.EqualFold(row.SharedPrivateLinkStatus, StatusApproved) {
		if err := s.followSharedLink(ctx, *c, row); err != nil {
			return s.outcome(*c, Failed, nil), err
		}
	}
	facts, _, err := s.facts(ctx, *c, row)
	if err != nil {
		return s.outcome(*c, Failed, nil), err
	}
	d := s.r.Policy.Evaluate(facts)
	o := s.outcome(*c, Unchanged, nil)
	o.Action, o.Rule, o.Reason = d.Action, d.Rule, d.Reason
	override := IsOverride(row)
	if override {
		o.Category, o.Actor, o.Reason = CategoryOverride, row.OverrideActor, DescribeOverride(row)
	}
	if d.Action == policy.Approve || override {
		if row.Drift == "" {
			return o, nil
		}
		// The policy approves it again (or a person decided): no drift.
		return o, recordErr("clear drift of "+c.Name, s.proto().Drift(ctx, row, "", nil))
	}
	key := DriftMarker(d.Action, d.Rule)
	drifted := *row
	drifted.Drift = key
	o.Category, o.Actor, o.Reason = DriftCategory(row), row.LastActor, DescribeDrift(&drifted)
	if s.r.EnforceDrift && !s.r.DryRun {
		reason := "drift enforced: " + o.Reason
		eo, err := s.act(ctx, c, row, actRequest{action: policy.Reject, rule: d.Rule, actor: "drift:" + ruleOrDefault(d.Rule), reason: reason, message: "rejected by plsgate: no rule approves this connection"})
		eo.Category, eo.Actor = o.Category, o.Actor
		return eo, err
	}
	o.Result = Drift
	if row.Drift == key {
		o.Result = Unchanged // already reported
		return o, nil
	}
	tr := s.transition(*c, SubjectDrift, c.Status, c.Status, string(d.Action), PhaseDrift)
	tr.Actor, tr.Rule, tr.Reason = "policy", d.Rule, o.Reason
	tr.Cause = "drift|" + key
	return o, recordErr("record drift of "+c.Name, s.proto().Drift(ctx, row, key, tr))
}

func ruleOrDefault(rule string) string {
	if rule == "" {
		return "default"
	}
	return rule
}

type actRequest struct {
	action  policy.Action
	rule    string
	actor   string
	reason  string
	message string // description written on the connection
	spl     *arm.SharedPrivateLinkResource
	// override: a person approves against the policy; stored on the claim
	// and kept by the approval (overrides.go).
	override *overrideRecord
}

func targetStatus(a policy.Action) string {
	if a == policy.Approve {
		return StatusApproved
	}
	return StatusRejected
}

// act is the record-then-act path: claim the row, store the intent, make the
// one ARM write, store the outcome.
func (s *resourceRun) act(ctx context.Context, c *resource.Connection, row *store.Connection, req actRequest) (Outcome, error) {
	target := targetStatus(req.action)
	o := s.outcome(*c, Failed, nil)
	o.Action, o.Rule, o.Reason = req.action, req.rule, req.reason

	tr := s.transition(*c, SubjectConnection, c.Status, target, string(req.action), PhaseIntent)
	tr.Actor, tr.Rule, tr.Reason = req.actor, req.rule, req.reason
	tr.Cause = "act|" + string(req.action) + "|" + req.actor

	if s.r.DryRun {
		key := "dry-run:" + string(req.action) + ":" + req.rule
		o.Result = DryRun
		if row.LastDecision == key {
			o.Result = Unchanged
			return o, nil
		}
		tr.Phase, tr.To = PhaseDryRun, c.Status
		tr.Reason = "dry run: would " + string(req.action) + ": " + req.reason
		return o, recordErr("record dry-run decision for "+c.Name, s.proto().Decide(ctx, row, key, req.rule, tr))
	}

	description := describe(req, target)
	decision := decisionKey(tr, description)
	if why, held := s.heldAfterRefusal(*c, row, decision); held {
		o.Result, o.Reason = Unchanged, why
		return o, nil
	}

	// 0. A shared private link resource that vouches for this approval is
	// bound to this connection first (Add, never freed): it vouches for one
	// connection ever, and nothing is recorded or written on its word unless
	// the binding is ours.
	if req.spl != nil && req.action == policy.Approve {
		if err := s.bind(ctx, *c, req); err != nil {
			return o, err
		}
	}

	// 1. Claim the row: the If-Match makes exactly one invocation the actor.
	// A retry of a decision ARM refused reuses its failed row as the intent,
	// so one refusal stays one history row however often it is retried.
	claim := store.Claim{Action: string(req.action), Decision: decision, Description: description, Rule: req.rule, Actor: req.actor}
	if ov := req.override; ov != nil {
		claim.Override = &store.Override{Actor: ov.actor, Reason: ov.reason, Policy: ov.policy}
	}
	if req.spl != nil {
		claim.SharedPrivateLinkID, claim.SharedPrivateLinkStatus = req.spl.ID, req.spl.Status
	}
	// The lease is measured from before the claim is sent: the holder's view
	// of it can only be shorter than the row says.
	claimedAt := s.r.mono()
	tr, err := s.proto().Claim(ctx, row, tr, claim)
	if err != nil {
		return o, recordErr("claim connection "+c.Name+" before "+string(req.action), err)
	}
	// 2. The intent row: without it no ARM write happens.
	if err := s.proto().RecordIntent(ctx, row, tr); err != nil {
		return o, storeErr("record intent to "+string(req.action)+" "+c.Name, err)
	}
	return s.write(ctx, c, row, tr, claimedAt)
}

// decisionKey identifies a decision for the refusal memory: the same action,
// target, actor, rule and description. A policy change that changes any of
// them is a new decision and is tried at once; one that does not would meet
// the same refusal.
func decisionKey(tr *store.Transition, description string) string {
	return strings.Join([]string{tr.Action, tr.To, tr.Actor, tr.Rule, description}, "|")
}

// connState is what "the connection changed" means for the refusal memory.
func connState(c resource.Connection) string {
	return strings.Join([]string{c.Status, c.ETag, c.Description, c.PrivateEndpointID}, "|")
}

// operatorAsked: an operator's request (API or CLI) retries a refused decision at once.
func (t Trigger) operatorAsked() bool { return t.Kind == "http" || t.Kind == "cli" }

// heldAfterRefusal reports whether a decision ARM refused for good must wait:
// same decision, unchanged connection, no operator asking, and the retry
// interval not yet passed since the last refusal.
func (s *resourceRun) heldAfterRefusal(c resource.Connection, row *store.Connection, decision string) (string, bool) {
	if row.FailedCode == "" || row.FailedDecision != decision || row.FailedState != connState(c) || s.trig.operatorAsked() {
		return "", false
	}
	retryAt := row.FailedAt.Add(s.r.failedRetryInterval())
	if !s.r.now().Before(retryAt) {
		return "", false
	}
	return fmt.Sprintf("not tried again: ARM refused this decision with %s (%d times, last at %s); plsgate retries when the connection or the decision changes, when an operator asks (POST /api/v1/reconcile), or after %s",
		row.FailedCode, row.FailedCount, row.FailedAt.Format(time.RFC3339), retryAt.Format(time.RFC3339)), true
}

func describe(req actRequest, target string) string {
	if req.message != "" {
		return req.message
	}
	if strings.HasPrefix(req.actor, "rule:") {
		return fmt.Sprintf("%s by plsgate rule %s", target, req.rule)
	}
	return truncate(fmt.Sprintf("%s by %s: %s", target, req.actor, req.reason), 140)
}

// ErrRecordIncomplete marks an error that came after the ARM write landed:
// the decision took effect, and recording its outcome is left to the next
// trigger (it resumes the intent and finds the target status).
var ErrRecordIncomplete = errors.New("the decision was applied in ARM; recording its outcome did not complete")

type incompleteError struct{ err error }

func (e incompleteError) Error() string   { return e.err.Error() }
func (e incompleteError) Unwrap() []error { return []error{e.err, ErrRecordIncomplete} }

// write makes the ARM call for a claimed intent and records its outcome.
// claimedAt is when this invocation sent its claim, on its own clock.
func (s *resourceRun) write(ctx context.Context, c *resource.Connection, row *store.Connection, tr *store.Transition, claimedAt time.Time) (Outcome, error) {
	target := tr.To
	o := s.outcome(*c, Failed, nil)
	o.Action, o.Rule, o.Reason = policy.Action(tr.Action), tr.Rule, tr.Reason
	// Fencing: the write starts only if it can end inside the lease, so no
	// other instance (which waits for lease + skew margin) can resume this
	// intent while the write may still be in flight. A slow claim or intent
	// (Table storage) therefore fails the invocation without writing.
	bound := s.r.writeBound()
	if left := s.r.lease() - s.r.mono().Sub(claimedAt); left <= bound {
		s.proto().Release(ctx, row)
		return o, retryable(fmt.Errorf("%s connection %s on %s: not written: %v of the claim's lease left, the write may take %v (slow Table storage?); the intent stays for the next delivery",
			tr.Action, c.Name, s.res.ID, left.Round(time.Millisecond), bound))
	}
	wctx, cancel := context.WithTimeout(ctx, bound)
	updated, err := s.prov.UpdateConnection(wctx, s.res.ID, resource.ConnectionUpdate{
		Name: c.Name, PrivateEndpointID: c.PrivateEndpointID, Status: target, Description: row.PendingDescription,
	})
	cancel()
	if err != nil {
		err = armErrWrap(fmt.Sprintf("%s connection %s on %s", tr.Action, c.Name, s.res.ID), err)
		if IsRetryable(err) {
			// The intent stays; releasing the lease lets the redelivery resume it at once.
			s.proto().Release(ctx, row)
			return o, err
		}
		return s.refused(ctx, c, row, tr, err)
	}
	return s.finish(ctx, c, row, tr, updated)
}

// refused records a terminal ARM refusal (e.g. 403, or the connection may not
// be changed) and acknowledges it: one failed row per distinct error code,
// counted and timed on the connection's row.
func (s *resourceRun) refused(ctx context.Context, c *resource.Connection, row *store.Connection, tr *store.Transition, cause error) (Outcome, error) {
	o := s.outcome(*c, Failed, cause)
	o.Action, o.Rule, o.Reason = policy.Action(tr.Action), tr.Rule, tr.Reason
	code := refusalCode(cause)
	msg := "ARM refused (" + code + "): " + cause.Error()
	if err := s.proto().Fail(ctx, row, tr, store.Refusal{
		Code: code, Reason: truncate(tr.Reason+"; "+msg, 1024), NewReason: truncate(msg, 1024),
		State: connState(*c), Decision: decisionKey(tr, row.PendingDescription),
	}); err != nil {
		return o, storeErr("record failed "+tr.Action, err)
	}
	return o, nil
}

// refusalCode is ARM's error code, or the HTTP status when the answer had none.
func refusalCode(err error) string {
	if code := arm.ErrorCode(err); code != "" {
		return code
	}
	if sc := arm.StatusCode(err); sc != 0 {
		return fmt.Sprintf("HTTP%d", sc)
	}
	return "error"
}

// finish records a successful write: transition done, row updated and released.
// The write has landed, so the caller gets its success whatever happens to the
// recording; what is not recorded now, the next trigger completes (it resumes
// the intent and finds the target status) — ErrRecordIncomplete says so.
func (s *resourceRun) finish(ctx context.Context, c *resource.Connection, row *store.Connection, tr *store.Transition, updated *resource.Connection) (Outcome, error) {
	from := tr.From
	if updated != nil {
		*c = *updated
	} else {
		c.Status = tr.To
	}
	if !strings.EqualFold(c.Status, tr.To) {
		return s.outcome(*c, Failed, nil), retryable(fmt.Errorf("connection %s: ARM answered status %s after %s", c.Name, c.Status, tr.Action))
	}
	o := s.outcome(*c, Approved, nil)
	if tr.To == StatusRejected {
		o.Result = Rejected
	}
	o.From, o.To, o.Action, o.Rule, o.Reason = from, tr.To, policy.Action(tr.Action), tr.Rule, tr.Reason
	landed := store.Landed{Status: c.Status, Description: c.Description, ARMETag: c.ETag}
	if row.FailedTransition != "" && row.FailedTransition == tr.ID {
		// A retry of a refused decision succeeded: the refusal row stays a
		// refusal, and the success gets a row of its own.
		landed.AfterRefusal = fmt.Sprintf("%s on a later try, after ARM refused it %d time(s) with %s", tr.To, row.FailedCount, row.FailedCode)
	}
	nrow, err := s.proto().Done(ctx, row, tr, landed)
	if err != nil {
		return o, retryable(incompleteError{storeErr("record the outcome of "+tr.Action+" "+c.Name, err)})
	}
	// nil: another invocation recorded it.
	if nrow != nil && nrow.SharedPrivateLinkID != "" && tr.To == StatusApproved {
		if err := s.followSharedLink(ctx, *c, nrow); err != nil {
			s.r.log().Warn("shared private link resource not followed", "connection", c.Name, "err", err)
		}
	}
	return o, nil
}

// resume finishes or abandons an intent recorded by an earlier invocation.
// done=false means the claim was abandoned and the connection must be decided afresh.
func (s *resourceRun) resume(ctx context.Context, c *resource.Connection, row *store.Connection) (Outcome, bool, error) {
	o := s.outcome(*c, Failed, nil)
	tr, err := s.proto().Intent(ctx, row)
	switch {
	case err != nil:
		return o, false, storeErr("read intent of "+c.Name, err)
	case tr == nil:
		// The intent never landed, so no ARM write was made for it: drop the claim.
		return o, false, recordErr("drop unrecorded claim of "+c.Name, s.proto().Void(ctx, row, nil, ""))
	}
	switch {
	case strings.EqualFold(c.Status, tr.To):
		// The write happened (by us, before a crash): record it.
		o, err := s.finish(ctx, c, row, tr, nil)
		return o, true, err
	case strings.EqualFold(c.Status, tr.From) && tr.Phase == PhaseIntent:
		// Still as decided upon (Pending, or Approved for a revocation or
		// enforced drift) and the intent is on record: make the write now.
		claimedAt := s.r.mono()
		if err := s.proto().Renew(ctx, row); err != nil {
			return o, false, recordErr("re-claim connection "+c.Name, err)
		}
		o, err := s.write(ctx, c, row, tr, claimedAt)
		return o, true, err
	default:
		// Someone else changed the connection meanwhile: the intent is void.
		why := truncate(fmt.Sprintf("%s; superseded: the connection became %s before plsgate acted", tr.Reason, c.Status), 1024)
		return o, false, recordErr("drop void claim of "+c.Name, s.proto().Void(ctx, row, tr, why))
	}
}

// followSharedLink records the Web PubSub side of the journey: the shared
// private link resource's status as Web PubSub reports it.
func (s *resourceRun) followSharedLink(ctx context.Context, c resource.Connection, row *store.Connection) error {
	if s.r.SharedLinks == nil {
		return nil
	}
	spl, err := s.r.SharedLinks.GetSharedPrivateLinkResource(ctx, row.SharedPrivateLinkID)
	if err != nil {
		return armErrWrap("read shared private link resource "+row.SharedPrivateLinkID, err)
	}
	if strings.EqualFold(spl.Status, row.SharedPrivateLinkStatus) {
		return nil
	}
	from := row.SharedPrivateLinkStatus
	tr := s.transition(c, SubjectSharedPrivateLink, from, spl.Status, "observe", PhaseObserved)
	tr.Actor = "observed"
	tr.Reason = fmt.Sprintf("Web PubSub shared private link resource %s is %s (provisioning %s)", spl.Name, spl.Status, spl.ProvisioningState)
	tr.Cause = "spl|" + spl.ID + "|" + from + "|" + spl.Status
	// A conflict is left to the invocation that wrote the row.
	if err := s.proto().ObserveSharedLink(ctx, row, spl.Status, tr); err != nil {
		return storeErr("record shared private link status", err)
	}
	return nil
}

func (s *resourceRun) notify(ctx context.Context, o Outcome) {
	if s.r.Notifier == nil {
		return
	}
	switch o.Result {
	case Approved, Rejected, LeftPending, Ambiguous, Drift, Failed:
		s.r.Notifier.Notify(ctx, o)
	}
}
