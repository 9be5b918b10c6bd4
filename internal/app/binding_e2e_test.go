package app_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/plsgate/plsgate/internal/app"
	"github.com/plsgate/plsgate/internal/armemu"
	"github.com/plsgate/plsgate/internal/testenv"
)

// verifiedBy: webPubSub against a squatter, end to end: host emulator →
// plsgate → ARM emulator → Azurite. The PLS is "visible to anyone", so any
// subscription can send a Pending request with the message Web PubSub sends;
// these tests use the docs' guessable "please approve" on purpose (the attack
// that approved the squatter before).

const squatterSub = "22222222-2222-2222-2222-222222222222" // not ours, not in scope

const bindingPolicy = `
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
`

const splName = "pls-pe"

var splResourceID = testenv.WebPubSubID + "/sharedPrivateLinkResources/" + splName

// squat opens a Pending request to our PLS from another subscription, with our message.
func squat(t *testing.T, env *testenv.Env, name string) string {
	t.Helper()
	pe, err := env.ARM.CreatePrivateEndpoint(armemu.PrivateEndpoint{SubscriptionID: squatterSub, ResourceGroup: "squat", Name: name, Location: "eastus",
		Links: []*armemu.PrivateEndpointLink{{Name: name, Manual: true, PrivateLinkServiceID: testenv.PLSID, RequestMessage: "please approve"}}})
	if err != nil {
		t.Fatal(err)
	}
	return pe.Links[0].ConnectionName
}

// createSharedLink is the Web PubSub owner's PUT; it returns the connection Web PubSub made on the PLS.
func createSharedLink(t *testing.T, env *testenv.Env) string {
	t.Helper()
	if err := env.ARM.CreateSharedPrivateLinkResource(testenv.WebPubSubID, splName, armemu.SharedPrivateLinkResource{
		PrivateLinkResourceID: testenv.PLSID, RequestMessage: "please approve", Fqdns: []string{"pls.contoso.com"}}); err != nil {
		t.Fatal(err)
	}
	s, ok := env.ARM.SharedPrivateLinkResource(splResourceID)
	if !ok || s.ConnectionName == "" {
		t.Fatalf("shared private link resource: %+v", s)
	}
	return s.ConnectionName
}

func status(t *testing.T, env *testenv.Env, conn string) string {
	t.Helper()
	c, ok := env.ARM.Connection(testenv.PLSID, conn)
	if !ok {
		t.Fatalf("no connection %s", conn)
	}
	return c.Status
}

// storedDecisions reads lastDecision of every stored connection through the API.
func storedDecisions(t *testing.T, env *testenv.Env) map[string]string {
	t.Helper()
	st, body := env.API(t, "GET", "/api/v1/connections?pls="+url.QueryEscape(testenv.PLSID), nil, nil)
	if st != 200 {
		t.Fatalf("connections: %d %s", st, body)
	}
	var r struct {
		Items []struct{ Name, LastDecision string }
	}
	if err := json.Unmarshal(body, &r); err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, c := range r.Items {
		out[c.Name] = c.LastDecision
	}
	return out
}

// wantBothAmbiguous: neither is approved, each is recorded once as ambiguous
// naming the other, and the API and status page show it.
func wantBothAmbiguous(t *testing.T, env *testenv.Env, wps, squatter string) {
	t.Helper()
	for _, c := range []string{wps, squatter} {
		if s := status(t, env, c); s != "Pending" {
			t.Errorf("%s is %s, want Pending", c, s)
		}
	}
	if n := env.ARM.Counters()[updateOp]; n != 0 {
		t.Fatalf("ARM writes = %d, want 0", n)
	}
	dec := storedDecisions(t, env)
	for c, other := range map[string]string{wps: squatter, squatter: wps} {
		if dec[c] != "ambiguous" { // the API says the decision in words (issue 17.7)
			t.Errorf("%s: lastDecision %q, want ambiguous", c, dec[c])
		}
		var amb []string
		for _, tr := range history(t, env, c) {
			if tr.Phase == "ambiguous" {
				amb = append(amb, tr.Reason)
			}
		}
		if len(amb) != 1 || !strings.Contains(amb[0], other) {
			t.Errorf("%s: ambiguous history rows %q, want one naming %s", c, amb, other)
		}
	}
	st, page := env.API(t, "GET", "/api/v1/status", nil, nil)
	if st != 200 || strings.Count(string(page), ">ambiguous<") < 2 {
		t.Errorf("status page (%d) does not show both as ambiguous", st)
	}
}

// (a) The squatter connects before the shared private link resource exists.
// Before: approved as soon as the resource appeared (and the real connection
// left Pending). Now: neither is approved while both are candidates.
func TestSquatterBeforeSharedLinkIsNeverApproved(t *testing.T) {
	env := testenv.Start(t, testenv.Options{Policy: bindingPolicy, ARM: crossEvents("")})
	squatter := squat(t, env, "pe-squat")
	env.WaitEvents(t)
	env.Tick(t)
	if s := status(t, env, squatter); s != "Pending" {
		t.Fatalf("squatter is %s before the resource exists", s)
	}
	wps := createSharedLink(t, env) // its write event reaches plsgate at once
	env.WaitEvents(t)
	env.Tick(t)
	env.Tick(t) // repeated ticks record nothing new
	wantBothAmbiguous(t, env, wps, squatter)
}

// (b) The squatter connects after the resource exists, before plsgate acts
// (no events: the next timer tick is plsgate's first look).
func TestSquatterAfterSharedLinkBeforePlsgateActs(t *testing.T) {
	env := testenv.Start(t, testenv.Options{Policy: bindingPolicy, NoEvents: true})
	wps := createSharedLink(t, env)
	squatter := squat(t, env, "pe-squat")
	env.Tick(t)
	env.Tick(t)
	wantBothAmbiguous(t, env, wps, squatter)
}

// (c) The honest single candidate is approved with exactly one ARM write. Reads:
// the PLS, the configured resources' shared private link resources, the PLS
// once more (candidates are counted on a read newer than the list, so a
// rival that appeared in between is seen), then the one resource, to follow
// its status.
func TestHonestSharedLinkOneWrite(t *testing.T) {
	env := testenv.Start(t, testenv.Options{Policy: bindingPolicy, NoEvents: true})
	wps := createSharedLink(t, env)
	env.ARM.ResetCounters()
	ev := egEvent("w1", "Microsoft.Resources.ResourceWriteSuccess", testenv.PLSID, "Microsoft.Network/privateLinkServices/write")
	body, _ := json.Marshal([]any{ev})
	if st, err := env.Host.DeliverEvents(context.Background(), app.FunctionEvents, body); err != nil || st != 202 {
		t.Fatalf("delivery: %d %v", st, err)
	}
	want := map[string]int{armemu.OpPLSGet: 2, armemu.OpSharedLinkList: 1, updateOp: 1, armemu.OpSharedLinkGet: 1}
	if got := env.ARM.Counters(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("ARM calls %v, want %v", got, want)
	}
	if s := status(t, env, wps); s != "Approved" {
		t.Fatalf("Web PubSub's connection is %s", s)
	}
	bs, err := env.App.Store.ListBindings(context.Background(), splResourceID)
	if err != nil || len(bs) != 1 || bs[0].Connection != wps || bs[0].FirstSighting || bs[0].CreatedAt.IsZero() {
		t.Fatalf("bindings %+v %v", bs, err)
	}
}

// (d) A binding outlives its connection: once the bound connection is removed,
// a squatter is not vouched for by the same resource (whose status still says
// Pending: Web PubSub lags), and a re-created resource (new createdAt) binds anew.
func TestBindingNotReusedAfterRemovalButRecreatedResourceBinds(t *testing.T) {
	env := testenv.Start(t, testenv.Options{Policy: bindingPolicy, NoEvents: true})
	// Web PubSub's view lags (minutes in Azure; an hour here): the resource
	// keeps saying Pending after its connection is approved and removed.
	env.ARM.SetSharedLinkStatusDelay(time.Hour)
	wps := createSharedLink(t, env)
	env.Tick(t)
	if s := status(t, env, wps); s != "Approved" {
		t.Fatalf("Web PubSub's connection is %s", s)
	}
	if err := env.ARM.DeleteConnection(testenv.PLSID, wps); err != nil {
		t.Fatal(err)
	}
	env.Tick(t) // plsgate records the removal
	squatter := squat(t, env, "pe-squat")
	env.Tick(t)
	env.Tick(t)
	if s := status(t, env, squatter); s != "Pending" {
		t.Fatalf("squatter is %s: the removed connection's resource vouched for it", s)
	}
	if n := env.ARM.Counters()[updateOp]; n != 1 {
		t.Fatalf("ARM writes = %d, want 1 (the first approval)", n)
	}
	// The squatter gives up; the Web PubSub owner deletes and re-creates the resource.
	if err := env.ARM.DeletePrivateEndpoint("/subscriptions/" + squatterSub + "/resourceGroups/squat/providers/Microsoft.Network/privateEndpoints/pe-squat"); err != nil {
		t.Fatal(err)
	}
	if err := env.ARM.DeleteSharedPrivateLinkResource(splResourceID); err != nil {
		t.Fatal(err)
	}
	wps2 := createSharedLink(t, env)
	env.Tick(t)
	if s := status(t, env, wps2); s != "Approved" {
		t.Fatalf("the re-created resource's connection is %s", s)
	}
	bs, err := env.App.Store.ListBindings(context.Background(), splResourceID)
	if err != nil || len(bs) != 2 || bs[0].Connection != wps || bs[1].Connection != wps2 || !bs[0].CreatedAt.Before(bs[1].CreatedAt) {
		t.Fatalf("bindings %+v %v", bs, err)
	}
}
