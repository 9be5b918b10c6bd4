package app_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/plsgate/plsgate/internal/app"
	"github.com/plsgate/plsgate/internal/armemu"
	"github.com/plsgate/plsgate/internal/testenv"
)

// A private endpoint's write event, through the host: one read of the
// endpoint, one of the PLS it targets, one write for its Pending connection
// (reconcile.ReconcileEndpoint) — and no ARM call at all for an endpoint
// where plsgate's role is not assigned (SCOPE_PLS_IDS only: the PLS's
// subscription is watched for events, but the role is on the service).
func TestPrivateEndpointEventARMCalls(t *testing.T) {
	peEvent := func(t *testing.T, env *testenv.Env, sub, name string) {
		t.Helper()
		pe, err := env.ARM.CreatePrivateEndpoint(armemu.PrivateEndpoint{SubscriptionID: sub, ResourceGroup: "cust", Name: name, Location: "eastus",
			Links: []*armemu.PrivateEndpointLink{{Name: name, Manual: true, PrivateLinkServiceID: testenv.PLSID, RequestMessage: "partner: " + name}}})
		if err != nil {
			t.Fatal(err)
		}
		env.ARM.ResetCounters()
		ev := egEvent("pe-"+name, "Microsoft.Resources.ResourceWriteSuccess", pe.ID, "Microsoft.Network/privateEndpoints/write")
		body, _ := json.Marshal([]any{ev})
		if status, err := env.Host.DeliverEvents(context.Background(), app.FunctionEvents, body); err != nil || status != 202 {
			t.Fatalf("delivery: %d %v", status, err)
		}
	}
	t.Run("role assigned", func(t *testing.T) {
		env := testenv.Start(t, testenv.Options{Policy: e2ePolicy, NoEvents: true,
			Settings: map[string]string{"SCOPE_SUBSCRIPTIONS": testenv.Subscription + "," + consumerSub}})
		peEvent(t, env, consumerSub, "pe-partner")
		want := map[string]int{"PrivateEndpoints_Get": 1, "PrivateLinkServices_Get": 1, updateOp: 1}
		if got := env.ARM.Counters(); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("ARM calls %v, want %v", got, want)
		}
		if c := onlyConnection(t, env); c.Status != "Approved" {
			t.Fatalf("connection %s, want Approved by rule partner", c.Status)
		}
	})
	t.Run("role not assigned", func(t *testing.T) {
		env := testenv.Start(t, testenv.Options{Policy: e2ePolicy, NoEvents: true,
			Settings: map[string]string{"SCOPE_SUBSCRIPTIONS": "", "SCOPE_PLS_IDS": testenv.PLSID}})
		peEvent(t, env, testenv.Subscription, "pe-same-sub")
		if n := env.ARMCalls(); n != 0 {
			t.Fatalf("%d ARM calls (%v), want none", n, env.ARM.Counters())
		}
		if c := onlyConnection(t, env); c.Status != "Pending" {
			t.Fatalf("connection %s, want Pending for the timer", c.Status)
		}
	})
}
