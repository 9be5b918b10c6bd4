package app_test

import (
	"context"
	"testing"
	"time"

	"github.com/plsgate/plsgate/internal/store"
	"github.com/plsgate/plsgate/internal/testenv"
)

// Issue 13.4: an invocation crashed holding a claim (intent recorded, no ARM
// write). An event that meets the claim fails the invocation instead of
// acknowledging it, so Event Grid redelivers and the claim is finished soon
// after its lease expires — not at the next timer tick. On main the event
// was acknowledged and the connection stayed Pending (no timer runs here).
func TestEventRetriesAClaimLeftByACrashedInvocation(t *testing.T) {
	env := testenv.Start(t, testenv.Options{Policy: e2ePolicy, ARM: crossEvents(""),
		Settings: map[string]string{"SCOPE_SUBSCRIPTIONS": testenv.Subscription + "," + consumerSub}})
	env.App.Reconciler.Lease, env.App.Reconciler.SkewMargin = time.Second, 200*time.Millisecond
	env.ARM.PauseDeliveries()
	name := partnerEndpoint(t, env, "pe-crash")
	c, _ := env.ARM.Connection(testenv.PLSID, name)

	// The crashed invocation's records: its intent row and its claim.
	ctx := context.Background()
	now := time.Now().UTC()
	intent := &store.Transition{PLSID: testenv.PLSID, Connection: name, Subject: "connection", From: "Pending", To: "Approved",
		Action: "approve", Actor: "rule:partner", Rule: "partner", Phase: "intent", Trigger: "event", EventID: "crashed",
		Reason: "Rule \"partner\" matched", Cause: "act|approve|rule:partner", At: now}
	if _, err := env.App.Store.AppendTransition(ctx, intent); err != nil {
		t.Fatal(err)
	}
	claim := &store.Connection{PLSID: testenv.PLSID, Name: name, ConnectionID: testenv.PLSID + "/privateEndpointConnections/" + name,
		Status: "Pending", Description: c.Description, RequestMessage: c.Description, PendingAction: "approve", PendingTransition: intent.ID, PendingDescription: "approved",
		PendingSince: now, LeaseHolder: "crashed-instance", UpdatedAt: now}
	if err := env.App.Store.PutConnection(ctx, claim); err != nil {
		t.Fatal(err)
	}

	env.ARM.ResumeDeliveries()
	env.WaitEvents(t)
	if c, _ := env.ARM.Connection(testenv.PLSID, name); c.Status != "Approved" {
		t.Fatalf("after the deliveries the connection is %s: the crashed claim waits for the timer", c.Status)
	}
	if st := env.ARM.DeliveryStats(); st.Retried == 0 {
		t.Fatalf("no redelivery happened: %+v", st)
	}
	if n := env.ARM.Counters()[updateOp]; n != 1 {
		t.Fatalf("ARM writes = %d, want 1", n)
	}
	got := steps(history(t, env, name))
	if want := "connection:Pending>Approved:done:rule:partner"; got != want {
		t.Fatalf("history\n got %s\nwant %s", got, want)
	}
}
