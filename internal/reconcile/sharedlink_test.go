package reconcile

import (
	"context"
	"testing"
	"time"

	"github.com/plsgate/plsgate/internal/arm"
)

// Issue 15.1: a shared private link resource not yet Succeeded fails the
// invocation (Event Grid's redelivery is the requeue) until the event is
// older than SharedLinkRequeueLimit; then it is acknowledged for the timer.
func TestSharedLinkRequeueIsBounded(t *testing.T) {
	e := newEnv(t, testPolicy)
	e.pls()
	splID := wpsID + "/sharedPrivateLinkResources/spl1"
	e.arm.AddSharedPrivateLinks(arm.SharedPrivateLinkResource{ID: splID, Name: "spl1", WebPubSubID: wpsID,
		PrivateLinkResourceID: plsID, RequestMessage: "wps approve", Status: StatusPending, ProvisioningState: "Updating"})
	inScope := func(string) bool { return true }
	now := e.clock

	_, err := e.r.ReconcileSharedLink(context.Background(), SharedLinkEvent{ID: splID, EventTime: now.Add(-time.Minute)}, inScope, ev)
	if !IsRetryable(err) {
		t.Fatalf("a 1-minute-old event for an Updating resource: want retryable, got %v", err)
	}
	_, err = e.r.ReconcileSharedLink(context.Background(), SharedLinkEvent{ID: splID, EventTime: now.Add(-6 * time.Minute)}, inScope, ev)
	if err != nil {
		t.Fatalf("a 6-minute-old event: want it acknowledged for the timer, got %v", err)
	}
	// Out of scope: acknowledged after the one read, nothing reconciled.
	gets := e.arm.Gets.Load()
	_, err = e.r.ReconcileSharedLink(context.Background(), SharedLinkEvent{ID: splID, EventTime: now}, func(string) bool { return false }, ev)
	if err != nil || e.arm.Gets.Load() != gets {
		t.Fatalf("out of scope: err %v, PLS reads %d → %d", err, gets, e.arm.Gets.Load())
	}
	// Succeeded but its connection not on the PLS yet: requeued as well.
	e2 := newEnv(t, testPolicy)
	e2.pls()
	e2.arm.AddSharedPrivateLinks(arm.SharedPrivateLinkResource{ID: splID, Name: "spl1", WebPubSubID: wpsID,
		PrivateLinkResourceID: plsID, RequestMessage: "wps approve", Status: StatusPending, ProvisioningState: "Succeeded"})
	_, err = e2.r.ReconcileSharedLink(context.Background(), SharedLinkEvent{ID: splID, EventTime: e2.clock}, inScope, ev)
	if !IsRetryable(err) || e2.arm.Gets.Load() != 1 {
		t.Fatalf("connection not visible yet: want retryable after one PLS read, got %v (%d reads)", err, e2.arm.Gets.Load())
	}
	// Once it is there (Pending, same message), the usual path approves it.
	e2.pls(conn("wps-conn", StatusPending, "wps approve", peSvc))
	if _, err = e2.r.ReconcileSharedLink(context.Background(), SharedLinkEvent{ID: splID, EventTime: e2.clock}, inScope, ev); err != nil {
		t.Fatal(err)
	}
	if e2.arm.Status(plsID, "wps-conn") != StatusApproved || e2.arm.Writes.Load() != 1 {
		t.Fatalf("status %s, writes %d", e2.arm.Status(plsID, "wps-conn"), e2.arm.Writes.Load())
	}
	// A delete of a resource that vouched for nothing costs no ARM call.
	gets = e.arm.Gets.Load()
	if outs, err := e.r.ReconcileSharedLink(context.Background(), SharedLinkEvent{ID: splID, Deleted: true}, inScope, ev); err != nil || len(outs) != 0 || e.arm.Gets.Load() != gets {
		t.Fatalf("delete without binding: %v %v", outs, err)
	}
}
