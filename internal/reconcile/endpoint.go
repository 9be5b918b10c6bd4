package reconcile

import (
	"context"
	"slices"
	"strings"

	"github.com/plsgate/plsgate/internal/resource"
)

// ReconcileEndpoint reconciles the private link services a private endpoint
// asks to connect to, after an event said it was written (events'
// PrivateEndpointWritten): one ARM read of the endpoint, then the usual
// Reconcile of each target inScope accepts. scope is where plsgate's role is
// assigned: an endpoint outside it is not ours to read, and is acknowledged
// without a call (the timer covers its connection).
//
// A read failure is retried (Event Grid redelivers) unless it is terminal
// (internal/fault: 403, 404, another refusal, bad input), which is acknowledged.
func (r *Reconciler) ReconcileEndpoint(ctx context.Context, peID string, scope Scope, inScope func(string) bool, t Trigger) ([]Outcome, error) {
	if !roleCovers(scope, peID) {
		r.log().Info("private endpoint outside the subscriptions where plsgate's role is assigned: acknowledged without a read (the timer covers its connection)", "privateEndpoint", peID)
		return nil, nil
	}
	if r.Endpoints == nil {
		r.log().Info("no private endpoint reader configured: acknowledged (the timer covers its connection)", "privateEndpoint", peID)
		return nil, nil
	}
	pe, err := r.Endpoints.GetPrivateEndpoint(ctx, peID)
	if err != nil {
		if err = armErrWrap("read private endpoint "+peID, err); IsRetryable(err) { // fault's class: retry unless terminal
			return nil, err
		}
		r.log().Info("private endpoint not readable: acknowledged", "privateEndpoint", peID, "err", err)
		return nil, nil
	}
	var outs []Outcome
	var errs []error
	for _, pls := range pe.TargetIDs {
		if !inScope(pls) {
			continue
		}
		o, err := r.Reconcile(ctx, pls, t)
		outs = append(outs, o...)
		if err != nil {
			errs = append(errs, err)
		}
	}
	return outs, joinErrs(errs)
}

// roleCovers reports whether plsgate's role lets it read the private endpoint
// peID: infra/ assigns the role at each SCOPE_SUBSCRIPTIONS subscription, but
// only on the service itself for SCOPE_PLS_IDS, so a private endpoint
// elsewhere (another subscription or tenant) is not readable. With no scope
// configured (everything) the read is attempted.
func roleCovers(scope Scope, peID string) bool {
	if len(scope.Subscriptions) == 0 && len(scope.PLSIDs) == 0 {
		return true
	}
	sub := resource.SubscriptionOf(resource.Normalize(peID))
	return sub != "" && slices.ContainsFunc(scope.Subscriptions, func(s string) bool { return strings.EqualFold(strings.TrimSpace(s), sub) })
}
