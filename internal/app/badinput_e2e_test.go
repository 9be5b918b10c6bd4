package app_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/plsgate/plsgate/internal/app"
	"github.com/plsgate/plsgate/internal/testenv"
)

// Events naming a resource whose ID cannot be a Table key (over 1 KiB once escaped) are
// acknowledged through the host (202) without an ARM or a Table call, and the ones around them
// are still handled. Before: the PLS read answered 404, the "service gone" bookkeeping hit the
// store's key limit, the error counted as retryable, the invocation failed and the host
// answered 500, so Event Grid would redeliver the batch for 24 hours.
func TestOverlongResourceIDEventsAcknowledged(t *testing.T) {
	env := testenv.Start(t, testenv.Options{Policy: e2ePolicy, NoEvents: true})
	sub := "/subscriptions/" + testenv.Subscription
	longPLS := sub + "/resourceGroups/" + testenv.ResourceGroup + "/providers/Microsoft.Network/privateLinkServices/pls" + strings.Repeat("%", 400)
	longPE := sub + "/resourceGroups/rg/providers/Microsoft.Network/privateEndpoints/pe" + strings.Repeat("%", 400)
	evs := []map[string]any{
		egEvent("long-pls", "Microsoft.Resources.ResourceWriteSuccess", longPLS, "Microsoft.Network/privateLinkServices/write"),
		egEvent("long-conn", "Microsoft.Resources.ResourceWriteSuccess", longPLS+"/privateEndpointConnections/pe1", "Microsoft.Network/privateLinkServices/privateEndpointConnections/write"),
		egEvent("long-pe", "Microsoft.Resources.ResourceWriteSuccess", longPE, "Microsoft.Network/privateEndpoints/write"),
	}
	for _, ev := range evs {
		body, _ := json.Marshal([]map[string]any{ev})
		before := env.Tables.Count()
		env.ARM.ResetCounters()
		status, err := env.Host.DeliverEvents(context.Background(), app.FunctionEvents, body)
		if err != nil || status != 202 {
			t.Fatalf("%s: delivery answered %d (%v), want 202: Event Grid would retry for 24 h", ev["id"], status, err)
		}
		if n := env.ARMCalls(); n != 0 {
			t.Errorf("%s: %d ARM calls", ev["id"], n)
		}
		if n := env.Tables.Count() - before; n != 0 {
			t.Errorf("%s: %d Table calls", ev["id"], n)
		}
	}
}
