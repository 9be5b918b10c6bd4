package app_test

import (
	"time"

	"context"
	"encoding/json"
	"fmt"
	azpolicy "github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"

	"github.com/plsgate/plsgate/internal/app"
	"github.com/plsgate/plsgate/internal/armemu"
	"github.com/plsgate/plsgate/internal/store"
	"github.com/plsgate/plsgate/internal/testenv"
	"github.com/plsgate/plsgate/internal/testutil/azurite"
)

func TestMain(m *testing.M) { azurite.Main(m) }

const (
	consumerSub = "11111111-1111-1111-1111-111111111111"
	updateOp    = "PrivateLinkServices_UpdatePrivateEndpointConnection"
)

// A policy with a plain approve rule, a reject rule and the Web PubSub rule.
const e2ePolicy = `
version: 1
default: leave
rules:
  - name: webpubsub-shared-endpoints
    match:
      privateLinkService: { tags: { plsgate: enabled } }
      requestMessage: "^please approve$"
      verifiedBy: webPubSub
    action: approve
    message: "approved by plsgate rule {rule}"
  - name: partner
    match:
      requester: { subscriptions: ["` + consumerSub + `"] }
      requestMessage: "^partner:"
    action: approve
  - name: no-spam
    match:
      requestMessage: "^spam"
    action: reject
`

func crossEvents(schema string) armemu.Options {
	return armemu.Options{Events: armemu.EventOptions{Schema: schema, CrossSubscription: armemu.CrossWriteSuccess, RetryScale: 0.001}}
}

func history(t *testing.T, env *testenv.Env, conn string) []store.Transition {
	t.Helper()
	h, err := env.App.Store.ListTransitions(context.Background(), testenv.PLSID, conn, 100)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func steps(h []store.Transition) string {
	var out []string
	for i := len(h) - 1; i >= 0; i-- { // oldest first
		out = append(out, fmt.Sprintf("%s:%s>%s:%s:%s", h[i].Subject, h[i].From, h[i].To, h[i].Phase, h[i].Actor))
	}
	return strings.Join(out, " | ")
}

func onlyConnection(t *testing.T, env *testenv.Env) armemu.Connection {
	t.Helper()
	p, ok := env.ARM.PLS(testenv.PLSID)
	if !ok || len(p.Connections) != 1 {
		t.Fatalf("want one connection on the PLS, got %+v", p)
	}
	return *p.Connections[0]
}

// The seed: Web PubSub creates a shared private link resource, the event
// reaches plsgate, the policy approves, the shared private link resource
// follows to Approved, and the history shows every step.
func TestSeedScenarioThroughEvents(t *testing.T) {
	for _, schema := range []string{armemu.SchemaEventGrid, armemu.SchemaCloudEvents} {
		t.Run(schema, func(t *testing.T) {
			env := testenv.Start(t, testenv.Options{Policy: e2ePolicy, ARM: crossEvents(schema)})
			err := env.ARM.CreateSharedPrivateLinkResource(testenv.WebPubSubID, "pls-pe", armemu.SharedPrivateLinkResource{
				PrivateLinkResourceID: testenv.PLSID, RequestMessage: "please approve", Fqdns: []string{"pls.contoso.com"},
			})
			if err != nil {
				t.Fatal(err)
			}
			env.WaitEvents(t)
			c := onlyConnection(t, env)
			if c.Status != "Approved" {
				t.Fatalf("connection %s is %s, want Approved", c.Name, c.Status)
			}
			spl, ok := env.ARM.SharedPrivateLinkResource(testenv.WebPubSubID + "/sharedPrivateLinkResources/pls-pe")
			if !ok || spl.Status != "Approved" {
				t.Fatalf("shared private link resource: %+v", spl)
			}
			if n := env.ARM.Counters()[updateOp]; n != 1 {
				t.Fatalf("ARM writes = %d, want 1", n)
			}
			h := history(t, env, c.Name)
			want := "connection:>Pending:observed:observed | connection:Pending>Approved:done:rule:webpubsub-shared-endpoints | sharedPrivateLinkResource:Pending>Approved:observed:observed"
			if got := steps(h); got != want {
				t.Fatalf("history\n got %s\nwant %s", got, want)
			}
			approval := h[1]
			if approval.Rule != "webpubsub-shared-endpoints" || approval.EventID == "" || approval.Trigger != "event" {
				t.Fatalf("approval row: %+v", approval)
			}
		})
	}
}

// A consumer in our own subscriptions: its private endpoint write is the event.
func TestUnmatchedLeftPendingRejectRuleAndRejectedTerminal(t *testing.T) {
	env := testenv.Start(t, testenv.Options{Policy: e2ePolicy, ARM: crossEvents(""),
		Settings: map[string]string{"SCOPE_SUBSCRIPTIONS": testenv.Subscription + "," + consumerSub}})
	mk := func(name, msg string) armemu.Connection {
		pe, err := env.ARM.CreatePrivateEndpoint(armemu.PrivateEndpoint{SubscriptionID: consumerSub, ResourceGroup: "cust", Name: name, Location: "eastus",
			Links: []*armemu.PrivateEndpointLink{{Name: name, Manual: true, PrivateLinkServiceID: testenv.PLSID, RequestMessage: msg}}})
		if err != nil {
			t.Fatal(err)
		}
		env.WaitEvents(t)
		c, ok := env.ARM.Connection(testenv.PLSID, pe.Links[0].ConnectionName)
		if !ok {
			t.Fatalf("no connection for %s", name)
		}
		return c
	}
	if c := mk("pe-unknown", "hello"); c.Status != "Pending" {
		t.Fatalf("unmatched connection is %s, want Pending", c.Status)
	}
	if n := env.ARM.Counters()[updateOp]; n != 0 {
		t.Fatalf("unmatched request caused %d ARM writes", n)
	}
	if c := mk("pe-spam", "spam offer"); c.Status != "Rejected" {
		t.Fatalf("spam connection is %s, want Rejected", c.Status)
	}
	if c := mk("pe-partner", "partner: acme"); c.Status != "Approved" {
		t.Fatalf("partner connection is %s, want Approved", c.Status)
	}
	// A Rejected connection is never approved again, even when a later event comes.
	if n := env.ARM.Counters()[updateOp]; n != 2 {
		t.Fatalf("ARM writes = %d, want 2", n)
	}
	env.Tick(t)
	if n := env.ARM.Counters()[updateOp]; n != 2 {
		t.Fatalf("a scan wrote again: %d writes", n)
	}
}

// Events that do not concern a PLS cost nothing: no ARM and no Table call.
func TestIrrelevantEventsCostNothing(t *testing.T) {
	env := testenv.Start(t, testenv.Options{Policy: e2ePolicy, NoEvents: true})
	before := env.Tables.Count()
	env.ARM.ResetCounters()
	sub := "/subscriptions/" + testenv.Subscription
	evs := []map[string]any{
		egEvent("e1", "Microsoft.Resources.ResourceWriteSuccess", sub+"/resourceGroups/x/providers/Microsoft.Storage/storageAccounts/s1", "Microsoft.Storage/storageAccounts/write"),
		egEvent("e2", "Microsoft.Resources.ResourceWriteFailure", testenv.PLSID, "Microsoft.Network/privateLinkServices/write"),
		egEvent("e3", "Microsoft.Resources.ResourceWriteSuccess", sub+"/resourceGroups/x/providers/Microsoft.Network/virtualNetworks/v", "Microsoft.Network/virtualNetworks/write"),
		egEvent("e4", "Microsoft.Storage.BlobCreated", "/blobServices/default/containers/c/blobs/b", ""),
	}
	body, _ := json.Marshal(evs)
	status, err := env.Host.DeliverEvents(context.Background(), app.FunctionEvents, body)
	if err != nil || status != 202 {
		t.Fatalf("delivery: %d %v", status, err)
	}
	if n := env.ARMCalls(); n != 0 {
		t.Fatalf("irrelevant events made %d ARM calls", n)
	}
	if n := env.Tables.Count() - before; n != 0 {
		t.Fatalf("irrelevant events made %d Table calls", n)
	}
}

func egEvent(id, typ, subject, op string) map[string]any {
	return map[string]any{
		"id": id, "eventType": typ, "subject": subject, "topic": "/subscriptions/" + testenv.Subscription,
		"eventTime": "2026-11-25T10:00:00Z", "dataVersion": "2", "metadataVersion": "1",
		"data": map[string]any{"operationName": op, "resourceUri": subject, "status": "Succeeded", "subscriptionId": testenv.Subscription},
	}
}

// The same event 10 times, shuffled among others, and 8 concurrent
// invocations: one ARM write, one history row per transition.
func TestDuplicateAndConcurrentDeliveries(t *testing.T) {
	env := testenv.Start(t, testenv.Options{Policy: e2ePolicy, NoEvents: true, ARM: crossEvents("")})
	if err := env.ARM.CreateSharedPrivateLinkResource(testenv.WebPubSubID, "pls-pe", armemu.SharedPrivateLinkResource{
		PrivateLinkResourceID: testenv.PLSID, RequestMessage: "please approve", Fqdns: []string{"pls.contoso.com"}}); err != nil {
		t.Fatal(err)
	}
	c := onlyConnection(t, env)
	relevant := egEvent("write-1", "Microsoft.Resources.ResourceWriteSuccess", testenv.PLSID+"/privateEndpointConnections/"+c.Name, "Microsoft.Network/privateLinkServices/privateEndpointConnections/write")
	var batch []map[string]any
	for i := 0; i < 10; i++ {
		batch = append(batch, relevant, egEvent(fmt.Sprint("noise-", i), "Microsoft.Resources.ResourceWriteSuccess",
			"/subscriptions/"+testenv.Subscription+"/resourceGroups/x/providers/Microsoft.Web/sites/s", "Microsoft.Web/sites/write"))
	}
	rand.Shuffle(len(batch), func(i, j int) { batch[i], batch[j] = batch[j], batch[i] })
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ { // 8 deliveries at once, each with 10 copies of the event
		wg.Add(1)
		go func() {
			defer wg.Done()
			body, _ := json.Marshal(batch)
			// A delivery that meets another's claim in flight fails (issue 13.4) and
			// is redelivered, as Event Grid does; it costs a delivery, never a write.
			for try := 0; ; try++ {
				status, err := env.Host.DeliverEvents(context.Background(), app.FunctionEvents, body)
				if err == nil && status == 202 {
					return
				}
				if status != 500 || try == 10 { // 500 = a failed invocation (err says which)
					t.Errorf("delivery %d: %d %v", try, status, err)
					return
				}
				time.Sleep(10 * time.Millisecond)
			}
		}()
	}
	wg.Wait()
	if n := env.ARM.Counters()[updateOp]; n != 1 {
		t.Fatalf("ARM writes = %d, want exactly 1", n)
	}
	h := history(t, env, c.Name)
	want := "connection:>Pending:observed:observed | connection:Pending>Approved:done:rule:webpubsub-shared-endpoints | sharedPrivateLinkResource:Pending>Approved:observed:observed"
	if got := steps(h); got != want {
		t.Fatalf("history\n got %s\nwant %s", got, want)
	}
}

func partnerEndpoint(t *testing.T, env *testenv.Env, name string) string {
	t.Helper()
	pe, err := env.ARM.CreatePrivateEndpoint(armemu.PrivateEndpoint{SubscriptionID: consumerSub, ResourceGroup: "cust", Name: name, Location: "eastus",
		Links: []*armemu.PrivateEndpointLink{{Name: name, Manual: true, PrivateLinkServiceID: testenv.PLSID, RequestMessage: "partner: " + name}}})
	if err != nil {
		t.Fatal(err)
	}
	return pe.Links[0].ConnectionName
}

func shortRetry() *azpolicy.RetryOptions {
	return &azpolicy.RetryOptions{MaxRetries: 2, RetryDelay: 5 * time.Millisecond, MaxRetryDelay: 2 * time.Second}
}

// 30 % of ARM calls fail with 429 (Retry-After) or 5xx: Event Grid-style
// redelivery approves every eligible connection, none twice.
func TestARMFaultsConvergeThroughRedelivery(t *testing.T) {
	env := testenv.Start(t, testenv.Options{Policy: e2ePolicy, ARM: crossEvents(""),
		Settings: map[string]string{"SCOPE_SUBSCRIPTIONS": testenv.Subscription + "," + consumerSub},
		Deps:     app.Deps{ARMRetry: shortRetry()}})
	var faults []armemu.FaultRule
	for _, op := range []string{"PrivateLinkServices_Get", "PrivateEndpoints_Get", updateOp} {
		faults = append(faults, armemu.FaultRule{Operation: op, Rate429: 0.1, Rate500: 0.1, Rate503: 0.1, RetryAfter: 1})
	}
	if err := env.ARM.SetFaults(armemu.Faults{Seed: 7, Rules: faults}); err != nil {
		t.Fatal(err)
	}
	var names []string
	for i := 0; i < 6; i++ {
		names = append(names, partnerEndpoint(t, env, fmt.Sprintf("pe-%d", i)))
	}
	env.WaitEvents(t)
	if env.ARM.FaultCounters()[updateOp]+env.ARM.FaultCounters()["PrivateLinkServices_Get"] == 0 {
		t.Fatal("no fault was injected: the test proves nothing")
	}
	for _, n := range names {
		c, _ := env.ARM.Connection(testenv.PLSID, n)
		if c.Status != "Approved" {
			t.Errorf("%s is %s", n, c.Status)
		}
		done := 0
		for _, tr := range history(t, env, n) {
			if tr.Phase == "done" {
				done++
			}
		}
		if done != 1 {
			t.Errorf("%s: %d done transitions, want 1", n, done)
		}
	}
	if ok := env.ARM.Counters()[updateOp] - env.ARM.FaultCounters()[updateOp]; ok != len(names) {
		t.Fatalf("successful ARM writes = %d, want %d", ok, len(names))
	}
}

// Table storage down: no ARM write happens without its intent row, the
// invocation fails (Event Grid redelivers), and after the restart the
// redelivery converges to one approval.
func TestTableOutageNoWriteWithoutIntent(t *testing.T) {
	env := testenv.Start(t, testenv.Options{Policy: e2ePolicy, ARM: crossEvents(""),
		Settings: map[string]string{"SCOPE_SUBSCRIPTIONS": testenv.Subscription + "," + consumerSub},
		Deps:     app.Deps{TablesRetry: shortRetry()}})
	azurite.Stop()
	restarted := false
	defer func() {
		if !restarted {
			azurite.Restart(t)
		}
	}()
	name := partnerEndpoint(t, env, "pe-outage")
	deadline := time.Now().Add(30 * time.Second)
	for env.ARM.DeliveryStats().Retried == 0 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if env.ARM.DeliveryStats().Retried == 0 {
		t.Fatal("the delivery did not fail while Table storage was down")
	}
	if n := env.ARM.Counters()[updateOp]; n != 0 {
		t.Fatalf("%d ARM writes while Table storage was down", n)
	}
	azurite.Restart(t)
	restarted = true
	env.WaitEvents(t)
	if c, _ := env.ARM.Connection(testenv.PLSID, name); c.Status != "Approved" {
		t.Fatalf("after restart the connection is %s", c.Status)
	}
	if n := env.ARM.Counters()[updateOp]; n != 1 {
		t.Fatalf("ARM writes = %d, want 1", n)
	}
	got := steps(history(t, env, name))
	if want := "connection:>Pending:observed:observed | connection:Pending>Approved:done:rule:partner"; got != want {
		t.Fatalf("history\n got %s\nwant %s", got, want)
	}
}

// One relevant event: one ARM read of the PLS, then one write per Pending
// connection the policy decides — nothing else.
func TestARMCallsPerPendingConnection(t *testing.T) {
	env := testenv.Start(t, testenv.Options{Policy: e2ePolicy, NoEvents: true})
	for i := 0; i < 3; i++ {
		partnerEndpoint(t, env, fmt.Sprintf("pe-%d", i))
	}
	env.ARM.ResetCounters()
	ev := egEvent("w1", "Microsoft.Resources.ResourceWriteSuccess", testenv.PLSID, "Microsoft.Network/privateLinkServices/write")
	body, _ := json.Marshal([]any{ev})
	if status, err := env.Host.DeliverEvents(context.Background(), app.FunctionEvents, body); err != nil || status != 202 {
		t.Fatalf("delivery: %d %v", status, err)
	}
	want := map[string]int{"PrivateLinkServices_Get": 1, updateOp: 3}
	if got := env.ARM.Counters(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("ARM calls %v, want %v", got, want)
	}
}
