package app_test

import (
	"strings"
	"testing"
	"time"

	"github.com/plsgate/plsgate/internal/armemu"
	"github.com/plsgate/plsgate/internal/testenv"
)

const splPolicy = `
version: 1
default: leave
rules:
  - name: webpubsub-shared-endpoints
    match:
      privateLinkService: { tags: { plsgate: enabled } }
      requestMessage: "^contoso-wps 7f3c9a2e$"
      verifiedBy: webPubSub
    action: approve
    message: "approved by plsgate rule {rule}"
`

// Issue 15: the seed's fast path. Web PubSub's managed private endpoint lives
// in another tenant, so Azure raises nothing in the PLS owner's subscription
// (the emulator's default, CrossNone); the Web PubSub owner's PUT of the
// shared private link resource raises ResourceWriteSuccess in its own
// subscription — at acceptance or at completion, undocumented, so both. plsgate
// reads the resource, fails the invocation while it is not Succeeded (Event
// Grid's redelivery is the requeue), then approves through the usual path
// with one ARM write. No timer runs in this test. Its delete reconciles the
// PLS plsgate's binding names.
func TestSharedLinkEventApprovesWithoutTheTimer(t *testing.T) {
	for _, at := range []string{armemu.SharedLinkAtAccepted, armemu.SharedLinkAtCompleted} {
		t.Run(at, func(t *testing.T) {
			env := testenv.Start(t, testenv.Options{Policy: splPolicy, ARM: armemu.Options{
				LRO:    armemu.LROOptions{MinDuration: 300 * time.Millisecond},
				Events: armemu.EventOptions{RetryScale: 0.001, SharedLinkWriteAt: at},
			}})
			splID := testenv.WebPubSubID + "/sharedPrivateLinkResources/pls-pe"
			if err := env.ARM.CreateSharedPrivateLinkResource(testenv.WebPubSubID, "pls-pe", armemu.SharedPrivateLinkResource{
				PrivateLinkResourceID: testenv.PLSID, RequestMessage: "contoso-wps 7f3c9a2e", Fqdns: []string{"pls.contoso.com"}}); err != nil {
				t.Fatal(err)
			}
			if at == armemu.SharedLinkAtCompleted {
				// The owner's poller reads the operation until it succeeds; the
				// event is raised then.
				deadline := time.Now().Add(10 * time.Second)
				for {
					s, _ := env.ARM.SharedPrivateLinkResource(splID)
					if s.ProvisioningState == "Succeeded" || time.Now().After(deadline) {
						break
					}
					time.Sleep(20 * time.Millisecond)
				}
			}
			env.WaitEvents(t)
			c := onlyConnection(t, env)
			if c.Status != "Approved" {
				t.Fatalf("connection %s is %s after the shared private link resource's event", c.Name, c.Status)
			}
			if n := env.ARM.Counters()[updateOp]; n != 1 {
				t.Fatalf("ARM writes = %d, want 1", n)
			}
			st := env.ARM.DeliveryStats()
			if at == armemu.SharedLinkAtAccepted && st.Retried == 0 {
				t.Fatalf("the event at acceptance found the resource Succeeded at once: the requeue was not exercised (%+v)", st)
			}
			got := steps(history(t, env, c.Name))
			if !strings.Contains(got, "connection:Pending>Approved:done:rule:webpubsub-shared-endpoints") {
				t.Fatalf("history: %s", got)
			}

			// The owner deletes the resource: its event reconciles the bound PLS.
			if err := env.ARM.DeleteSharedPrivateLinkResource(splID); err != nil {
				t.Fatal(err)
			}
			env.WaitEvents(t)
			if got := steps(history(t, env, c.Name)); !strings.Contains(got, "connection:Approved>Removed:observed:observed") {
				t.Fatalf("after the delete event: %s", got)
			}
		})
	}
}
