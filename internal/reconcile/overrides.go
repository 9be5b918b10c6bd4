package reconcile

import (
	"context"
	"fmt"
	"strings"

	"github.com/plsgate/plsgate/internal/policy"
	"github.com/plsgate/plsgate/internal/resource"
	"github.com/plsgate/plsgate/internal/store"
)

// Removed: the connection is gone from its PLS, or the PLS itself is gone.
const Removed Result = "removed"

// Category tells apart approvals the current policy does not back, and a
// person's revocation of an approval.
type Category string

const (
	// CategoryOverride: a person approved against the policy (approve with
	// force). It is recorded on the connection (who, why) and is not drift:
	// DRIFT_MODE=enforce never rejects it. It ends when the connection
	// leaves Approved.
	CategoryOverride Category = "override"
	// CategoryApprovedOutside: drift of an approval plsgate did not make (the
	// portal, the CLI, or before plsgate saw the connection).
	CategoryApprovedOutside Category = "approvedOutsidePlsgate"
	// CategoryPolicyChanged: drift of an approval plsgate made (a rule or a
	// person with the policy's backing) that the current policy no longer gives.
	CategoryPolicyChanged Category = "policyChanged"
	// CategoryRevoked: a person rejected an Approved connection (reject with force).
	CategoryRevoked Category = "revoked"
)

// ServiceNotFoundError: an operator named a private link service (or a
// resource of another registered kind) that ARM does not know and plsgate
// never recorded (a typo, another subscription).
type ServiceNotFoundError struct {
	PLSID string // the resource's ID
	cause error
}

func (e *ServiceNotFoundError) Error() string {
	return fmt.Sprintf("%s %s not found: Azure Resource Manager does not know it and plsgate has no record of it", e.Noun(), e.PLSID)
}

// Noun is what the ID names: "private link service", or "resource" for another kind.
func (e *ServiceNotFoundError) Noun() string { return noun(e.PLSID) }

func (e *ServiceNotFoundError) Unwrap() []error { return []error{ErrNotFound, e.cause} }

// goneReason says a resource is gone, in the words of its kind.
func goneReason(id string) string {
	return "the " + noun(id) + " no longer exists in Azure Resource Manager"
}

// goneOutcome lists a connection recorded as Removed before, for an operator
// who asks about its vanished PLS.
func goneOutcome(plsID string, row *store.Connection) Outcome {
	return Outcome{PLSID: plsID, Connection: row.Name, ConnectionID: row.ConnectionID, From: StatusRemoved, To: StatusRemoved,
		Result: Removed, Reason: goneReason(plsID)}
}

// PolicySays is the policy's decision in a few words: "leave by default",
// "reject by rule no-spam" (forced reasons quote it instead of the whole explanation).
func PolicySays(action policy.Action, rule string) string {
	if rule == "" {
		return string(action) + " by default"
	}
	return string(action) + " by rule " + rule
}

// IsOverride reports whether the row's approval is a person's override.
func IsOverride(row *store.Connection) bool {
	return row != nil && row.OverrideActor != "" && strings.EqualFold(row.Status, StatusApproved)
}

// DriftCategory says whose approval a drifted row holds: an actor on record
// other than "observed" means plsgate approved it (a rule, or a person with
// the policy's backing), so the policy changed since.
func DriftCategory(row *store.Connection) Category {
	if row.LastActor == "" || row.LastActor == "observed" {
		return CategoryApprovedOutside
	}
	return CategoryPolicyChanged
}

// DriftMarker is what Connection.Drift stores: "<action>:<rule>".
func DriftMarker(action policy.Action, rule string) string { return string(action) + ":" + rule }

// DescribeDrift is a drift finding as a sentence, from the stored marker
// ("<action>:<rule>") and who approved the connection.
func DescribeDrift(row *store.Connection) string {
	action, rule, _ := strings.Cut(row.Drift, ":")
	would := "not approve it"
	switch policy.Action(action) {
	case policy.Leave:
		would = "leave it Pending"
	case policy.Reject:
		would = "reject it"
	}
	by := "the default"
	if rule != "" {
		by = "rule " + rule
	}
	if DriftCategory(row) == CategoryApprovedOutside {
		return fmt.Sprintf("Approved outside plsgate, but the policy would %s (%s).", would, by)
	}
	return fmt.Sprintf("Approved by %s, but the policy has changed and would now %s (%s).", row.LastActor, would, by)
}

// DescribeOverride is an override as a sentence.
func DescribeOverride(row *store.Connection) string {
	s := "Approved by " + row.OverrideActor + " against the policy"
	if row.OverridePolicy != "" {
		s += " (" + row.OverridePolicy + ")"
	}
	if row.OverrideReason != "" {
		s += ": " + row.OverrideReason
	}
	return s
}

// overrideRecord is what a forced approval writes on its claim.
type overrideRecord struct {
	actor, reason, policy string
}

// manualDecision turns an operator's request and the policy's decision into
// what is recorded: the rule (only when the policy agrees), the reason (the
// person's own, plus a short note when forced) and, for an approval against
// the policy, the override to store on the connection.
func manualDecision(req ManualRequest, d policy.Decision) (rule, reason string, ov *overrideRecord) {
	if d.Action == req.Action {
		return d.Rule, req.Reason, nil
	}
	says := PolicySays(d.Action, d.Rule)
	reason = fmt.Sprintf("%s (forced over policy: %s)", req.Reason, says)
	if req.Action == policy.Approve {
		ov = &overrideRecord{actor: req.Actor, reason: req.Reason, policy: says}
	}
	return "", reason, ov
}

// revoke rejects an Approved connection at a person's request (reject with
// force): the same record-then-act path, Approved → Rejected. ARM accepts it:
// "The service provider can also change the connection state of private
// endpoint connection at a later time without consumer intervention"
// (https://learn.microsoft.com/azure/private-link/manage-private-endpoint);
// only Rejected is terminal (azure-facts.md). Whatever the policy says, the
// person decides; their reason is recorded as given.
func (s *resourceRun) revoke(ctx context.Context, c *resource.Connection, row *store.Connection, req ManualRequest) (Outcome, error) {
	why := req.Reason
	if IsOverride(row) {
		why += " (revokes the override by " + row.OverrideActor + ")"
	}
	o, err := s.act(ctx, c, row, actRequest{action: policy.Reject, actor: req.Actor, reason: why})
	o.Category, o.Actor = CategoryRevoked, req.Actor
	return o, err
}
