package reconcile

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/plsgate/plsgate/internal/arm"
	"github.com/plsgate/plsgate/internal/resource"
	"github.com/plsgate/plsgate/internal/store"
)

// SharedLinkEvent is what an Event Grid event said about a Web PubSub shared
// private link resource: the owner's own PUT or DELETE (issue 15). Azure
// raises no event in the PLS owner's subscription when Web PubSub's managed
// private endpoint (another tenant) requests the connection, but it does
// raise this one in the Web PubSub resource's subscription.
type SharedLinkEvent struct {
	ID        string // the shared private link resource
	Deleted   bool
	EventTime time.Time // zero when the event had none
}

// SharedLinkRequeueLimit bounds the requeue: while the resource is not yet
// Succeeded, or its connection is not yet on the PLS, the invocation fails so
// Event Grid redelivers on its schedule (10 s, 30 s, 1 min, 5 min, …); an
// event older than this is acknowledged and left to the timer (Event Grid may
// skip retries to an endpoint that keeps failing — delivery-and-retry.md).
const SharedLinkRequeueLimit = 5 * time.Minute

// BindingLister answers which private link service a shared private link
// resource vouched on, without a scan (one partition query).
type BindingLister interface {
	ListBindings(ctx context.Context, splID string) ([]store.Binding, error)
}

// ReconcileSharedLink reconciles the resource a shared private link resource
// targets (its privateLinkResourceId: a private link service, or a resource of
// another registered kind): on a write, one ARM read of the shared private
// link resource, then the usual Reconcile of its target (the binding rules
// apply); on a delete, the resource plsgate's binding names, if any. inScope
// tells the resources plsgate manages.
func (r *Reconciler) ReconcileSharedLink(ctx context.Context, ev SharedLinkEvent, inScope func(string) bool, t Trigger) ([]Outcome, error) {
	if ev.Deleted {
		return r.sharedLinkDeleted(ctx, ev, inScope, t)
	}
	if r.SharedLinks == nil {
		return nil, nil // no Web PubSub configured: the classifier lets none through
	}
	spl, err := r.SharedLinks.GetSharedPrivateLinkResource(ctx, ev.ID)
	switch {
	case err == nil:
	case arm.IsNotFound(err):
		r.log().Info("shared private link resource gone before plsgate read it: acknowledged", "sharedPrivateLinkResource", ev.ID)
		return r.sharedLinkDeleted(ctx, ev, inScope, t)
	case arm.IsForbidden(err):
		r.log().Warn("shared private link resource not readable: acknowledged (the timer covers its connection)", "sharedPrivateLinkResource", ev.ID, "err", err)
		return nil, nil
	default:
		return nil, armErrWrap("read shared private link resource "+ev.ID, err)
	}
	// The target is whatever privateLinkResourceId names, of any registered
	// kind (a PLS usually); an ID no provider serves is not plsgate's.
	plsID := spl.PrivateLinkResourceID
	if !r.serves(plsID) || !inScope(plsID) {
		r.log().Info("shared private link resource targets no resource in scope that plsgate manages: acknowledged", "sharedPrivateLinkResource", ev.ID, "target", plsID)
		return nil, nil
	}
	if !strings.EqualFold(spl.ProvisioningState, "Succeeded") {
		return nil, r.requeue(ev, fmt.Sprintf("shared private link resource %s is %s, not yet Succeeded", spl.ID, spl.ProvisioningState))
	}
	outs, err := r.Reconcile(ctx, plsID, t)
	if err != nil {
		return outs, err
	}
	if !strings.EqualFold(spl.Status, StatusPending) {
		return outs, nil // Approved, Rejected, …: nothing for plsgate to wait for
	}
	for _, o := range outs {
		if strings.EqualFold(o.To, StatusPending) && o.Description == spl.RequestMessage {
			return outs, nil // its connection is there and was decided (left, ambiguous, in progress)
		}
	}
	if bound, err := r.boundConnection(ctx, spl); err != nil || bound != "" {
		return outs, err // vouched for a connection: approved now or earlier
	}
	return outs, r.requeue(ev, fmt.Sprintf("the connection of shared private link resource %s is not on %s yet", spl.ID, plsID))
}

// boundConnection names the connection this instance of the resource vouched for ("" if none).
func (r *Reconciler) boundConnection(ctx context.Context, spl *arm.SharedPrivateLinkResource) (string, error) {
	bl, ok := r.Store.(BindingLister)
	if !ok {
		return "", nil
	}
	bs, err := bl.ListBindings(ctx, spl.ID)
	if err != nil {
		return "", storeErr("read the bindings of "+spl.ID, err)
	}
	for _, b := range bs {
		if spl.CreatedAt.IsZero() || b.Instance() == store.BindingInstance(spl.CreatedAt, false) {
			return b.Connection, nil
		}
	}
	return "", nil
}

// requeue fails the invocation so Event Grid redelivers, until the event is
// older than SharedLinkRequeueLimit: then it is acknowledged for the timer.
func (r *Reconciler) requeue(ev SharedLinkEvent, why string) error {
	if !ev.EventTime.IsZero() && r.now().Sub(ev.EventTime) > SharedLinkRequeueLimit {
		r.log().Info("acknowledged, left to the timer: "+why, "sharedPrivateLinkResource", ev.ID, "eventAge", r.now().Sub(ev.EventTime).Round(time.Second))
		return nil
	}
	return retryable(fmt.Errorf("%s: failing so Event Grid redelivers (requeue up to %v after the event)", why, SharedLinkRequeueLimit))
}

// sharedLinkDeleted reconciles the PLS the deleted resource vouched on (its
// connection is removed or disconnected there); no binding, nothing to do.
func (r *Reconciler) sharedLinkDeleted(ctx context.Context, ev SharedLinkEvent, inScope func(string) bool, t Trigger) ([]Outcome, error) {
	bl, ok := r.Store.(BindingLister)
	if !ok {
		return nil, nil
	}
	bs, err := bl.ListBindings(ctx, ev.ID)
	if err != nil {
		return nil, storeErr("read the bindings of "+ev.ID, err)
	}
	seen := map[string]bool{}
	var outs []Outcome
	var errs []error
	for _, b := range bs {
		id := resource.Normalize(b.PLSID)
		if seen[id] || !inScope(b.PLSID) {
			continue
		}
		seen[id] = true
		o, err := r.Reconcile(ctx, b.PLSID, t)
		outs = append(outs, o...)
		if err != nil {
			errs = append(errs, err)
		}
	}
	if len(seen) == 0 {
		r.log().Debug("deleted shared private link resource vouched for nothing: acknowledged", "sharedPrivateLinkResource", ev.ID)
	}
	return outs, joinErrs(errs)
}

// serves reports whether id names a resource (not one of its connections) of
// a kind one of the providers serves.
func (r *Reconciler) serves(id string) bool {
	rid, _, ok := resource.ResourceOf(id)
	if !ok || !resource.Same(rid, id) {
		return false
	}
	_, err := r.Providers.For(id)
	return err == nil
}
