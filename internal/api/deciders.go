package api

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/plsgate/plsgate/internal/arm"
	"github.com/plsgate/plsgate/internal/policy"
	"github.com/plsgate/plsgate/internal/reconcile"
	"github.com/plsgate/plsgate/internal/store"
)

// ReconcilerDeciders adapts a *reconcile.Reconciler to Deciders: Apply, Reconcile and Scan are
// the reconciler's own; Evaluate (which the reconciler does not offer) reads the connection
// through the reconciler's ARM client and asks its policy, writing nothing.
type ReconcilerDeciders struct{ *reconcile.Reconciler }

var _ Deciders = ReconcilerDeciders{}

// Evaluate builds the facts the reconciler would build for the connection — the request
// message as made (the stored row keeps it once an approval overwrote the description) and the
// Web PubSub verification when the policy uses it — and evaluates the policy.
func (d ReconcilerDeciders) Evaluate(ctx context.Context, connectionID string) (policy.Facts, policy.Decision, error) {
	r := d.Reconciler
	plsID, name, err := arm.ParseConnectionID(connectionID)
	if err != nil {
		return policy.Facts{}, policy.Decision{}, fmt.Errorf("evaluate %s: %w: %w", connectionID, arm.ErrInvalidArgument, err)
	}
	pls, err := r.ARM.GetPrivateLinkService(ctx, plsID)
	if err != nil {
		if arm.IsNotFound(err) {
			return policy.Facts{}, policy.Decision{}, fmt.Errorf("evaluate: private link service %s: %w", plsID, reconcile.ErrNotFound)
		}
		return policy.Facts{}, policy.Decision{}, fmt.Errorf("evaluate: read private link service %s: %w", plsID, err)
	}
	i := slices.IndexFunc(pls.Connections, func(c arm.Connection) bool { return strings.EqualFold(c.Name, name) })
	if i < 0 {
		return policy.Facts{}, policy.Decision{}, fmt.Errorf("evaluate: connection %s on %s: %w", name, plsID, reconcile.ErrNotFound)
	}
	c := pls.Connections[i]
	facts := reconcile.Facts(pls, c)
	row, err := r.Store.GetConnection(ctx, pls.ID, c.Name)
	switch {
	case err == nil && row.RequestMessage != "":
		facts.Connection.Description = row.RequestMessage
	case err != nil && !errors.Is(err, store.ErrNotFound):
		return policy.Facts{}, policy.Decision{}, fmt.Errorf("evaluate: read stored state of %s: %w", c.Name, err)
	}
	if slices.Contains(r.Policy.Verifications(), reconcile.VerifiedWebPubSub) && r.SharedLinks != nil && len(r.WebPubSubIDs) > 0 {
		accepted := []string{reconcile.StatusPending}
		if strings.EqualFold(c.Status, reconcile.StatusApproved) {
			accepted = append(accepted, reconcile.StatusApproved)
		}
		facts.Verified = map[string]bool{reconcile.VerifiedWebPubSub: false}
	lookup:
		for _, id := range r.WebPubSubIDs {
			spls, err := r.SharedLinks.ListSharedPrivateLinkResources(ctx, id)
			if err != nil {
				return policy.Facts{}, policy.Decision{}, fmt.Errorf("evaluate: list shared private link resources of %s: %w", id, err)
			}
			for _, s := range spls {
				if arm.SameID(s.PrivateLinkResourceID, pls.ID) && s.RequestMessage == facts.Connection.Description &&
					slices.ContainsFunc(accepted, func(st string) bool { return strings.EqualFold(st, s.Status) }) {
					facts.Verified[reconcile.VerifiedWebPubSub] = true
					break lookup
				}
			}
		}
	}
	now := time.Now
	if r.Now != nil {
		now = r.Now
	}
	facts.Now = now().UTC()
	return facts, r.Policy.Evaluate(facts), nil
}
