package reconcile

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/plsgate/plsgate/internal/arm"
	"github.com/plsgate/plsgate/internal/arm/armfake"
	"github.com/plsgate/plsgate/internal/fault"
	"github.com/plsgate/plsgate/internal/policy"
	"github.com/plsgate/plsgate/internal/resource"
)

// Reconcile over resource.Providers: a second kind, served by a fake of its
// own, is routed by its IDs, scanned with the PLSs, decided by hand and
// targeted by shared private link resources — with no PLS call for it. Before
// the providers, reconcile took arm.PrivateLinkServices (one PLS client).

// gadgetKind sorts before Microsoft.Network/privateLinkServices: scans list it first.
var gadgetKind = resource.Kind{Type: "Contoso.Test/gadgets", OperationPrefix: "Contoso.Test/gadgets/"}

func gadgetID(s string, i int) string {
	return fmt.Sprintf("/subscriptions/%s/resourceGroups/rg/providers/Contoso.Test/gadgets/g-%02d", s, i)
}

// withGadgets registers gadgetKind and gives the reconciler a provider for it
// next to the PLS fake.
func (e *env) withGadgets() *armfake.ARM {
	resource.Register(gadgetKind)
	g := armfake.New()
	g.ResourceKind, g.PageSize = gadgetKind, 2
	e.r.Providers = providers(e.arm, g)
	return g
}

// addGadgets adds n gadgets to subscription s, each with one Pending connection
// named c carrying message msg.
func addGadgets(g *armfake.ARM, s string, n int, msg, pe string) []string {
	var ids []string
	for i := range n {
		id := gadgetID(s, i)
		g.Add(&resource.Resource{ID: id, Type: gadgetKind.Type, Name: fmt.Sprintf("g-%02d", i), SubscriptionID: s, ResourceGroup: "rg",
			Connections: []resource.Connection{{ID: resource.ConnectionID(id, "c"), Name: "c", Status: StatusPending, Description: msg, PrivateEndpointID: pe}}})
		ids = append(ids, id)
	}
	return ids
}

// A subscription scan lists every kind, in type order, and each write goes to
// the provider of its resource's kind.
func TestScanListsEveryKind(t *testing.T) {
	e := newEnv(t, testPolicy)
	g := e.withGadgets()
	plss := e.addServices(sub, 3)
	gadgets := addGadgets(g, sub, 3, "please approve", peCust)
	sum, err := e.r.Scan(context.Background(), Scope{Subscriptions: []string{sub}}, e.store, timer, ScanOptions{Concurrency: 1})
	if err != nil {
		t.Fatal(err)
	}
	if !sum.Complete || sum.Scanned != 6 || sum.Approved != 6 {
		t.Fatalf("summary: %+v", sum)
	}
	if e.arm.Writes.Load() != 3 || g.Writes.Load() != 3 || e.arm.Gets.Load() != 0 || g.Gets.Load() != 0 {
		t.Fatalf("PLS fake: %d writes %d GETs; gadget fake: %d writes %d GETs; want 3/0 each",
			e.arm.Writes.Load(), e.arm.Gets.Load(), g.Writes.Load(), g.Gets.Load())
	}
	for i := range 3 {
		if g.Status(gadgets[i], "c") != StatusApproved || e.arm.Status(plss[i], "c") != StatusApproved {
			t.Fatalf("%d: gadget %s, PLS %s", i, g.Status(gadgets[i], "c"), e.arm.Status(plss[i], "c"))
		}
	}
	// One worker: outcomes in dispatch order, the gadgets (Contoso.Test) before the PLSs.
	if len(sum.Outcomes) != 6 || !resource.Same(sum.Outcomes[0].PLSID, gadgets[0]) || !resource.Same(sum.Outcomes[5].PLSID, plss[2]) {
		t.Fatalf("order: %+v", sum.Outcomes)
	}
}

// A kind that cannot be listed (e.g. a role without its list action) does not
// hide the other kinds of the subscription; the scan is incomplete and says
// which kind failed. Through one merged listing, the gadgets' failure ended
// the subscription before its PLSs.
func TestScanListFailureOfOneKind(t *testing.T) {
	e := newEnv(t, testPolicy)
	g := e.withGadgets()
	plss := e.addServices(sub, 2)
	addGadgets(g, sub, 2, "please approve", peCust)
	e.r.Providers = providers(e.arm, &scanARM{ARM: g, failList: map[string]error{sub: httpErr(403)}})
	sum, err := e.r.Scan(context.Background(), Scope{Subscriptions: []string{sub}}, e.store, timer, ScanOptions{})
	if err == nil || !strings.Contains(err.Error(), "list Contoso.Test/gadgets resources of subscription "+sub) || IsRetryable(err) {
		t.Fatalf("error: %v", err)
	}
	if sum.Complete || sum.Scanned != 2 || e.approvedCount(plss) != 2 || g.Writes.Load() != 0 {
		t.Fatalf("%+v (PLSs approved %d, gadget writes %d)", sum, e.approvedCount(plss), g.Writes.Load())
	}
}

// A stored position counts within one (subscription, kind) listing: "1:1" is
// the PLS listing (the gadgets' is 0) with its first PLS done.
func TestScanResumesWithinAKind(t *testing.T) {
	e := newEnv(t, testPolicy)
	g := e.withGadgets()
	plss := e.addServices(sub, 3)
	addGadgets(g, sub, 2, "please approve", peCust)
	scope := Scope{Subscriptions: []string{sub}}
	e.store.setCheckpoint(ScopeKey(scope), "1:1")
	sum, err := e.r.Scan(context.Background(), scope, e.store, timer, ScanOptions{Resume: true})
	if err != nil {
		t.Fatal(err)
	}
	if sum.ResumedAt != "1:1" || sum.Scanned != 2 || g.Writes.Load() != 0 ||
		e.arm.Status(plss[0], "c") != StatusPending || e.approvedCount(plss) != 2 {
		t.Fatalf("%+v (gadget writes %d, first PLS %s)", sum, g.Writes.Load(), e.arm.Status(plss[0], "c"))
	}
}

// An ID no provider serves is bad input: terminal, and no provider is called.
func TestUnknownKindIsTerminal(t *testing.T) {
	e := newEnv(t, testPolicy)
	other := "/subscriptions/" + sub + "/resourceGroups/rg/providers/Other.NS/things/x"
	_, err := e.r.Reconcile(context.Background(), other, ev)
	if !errors.Is(err, arm.ErrInvalidArgument) || IsRetryable(err) || fault.CodeOf(err) != fault.Invalid {
		t.Errorf("unknown kind: %v (code %s)", err, fault.CodeOf(err))
	}
	_, err = e.r.Apply(context.Background(), ManualRequest{ConnectionID: other + "/privateEndpointConnections/c", Action: policy.Approve, Actor: "principal:alice", Reason: "r"}, Trigger{Kind: "http"})
	if !errors.Is(err, arm.ErrInvalidArgument) || IsRetryable(err) {
		t.Errorf("Apply on an unknown kind: %v", err)
	}
	e.pls(conn("c1", StatusPending, "please approve", peCust))
	e.r.Providers = resource.Providers{} // the kind is registered, nobody provides it
	if _, err = e.r.Reconcile(context.Background(), plsID, ev); !errors.Is(err, arm.ErrInvalidArgument) || IsRetryable(err) {
		t.Errorf("registered kind without provider: %v", err)
	}
	if e.arm.Gets.Load() != 0 || e.arm.Writes.Load() != 0 {
		t.Errorf("the PLS fake was called: %d reads, %d writes", e.arm.Gets.Load(), e.arm.Writes.Load())
	}
}

// A person decides and evaluates a connection of another kind through the
// same Apply and Evaluate: its resource is read and written by its provider.
func TestApplyAndEvaluateRouteByKind(t *testing.T) {
	e := newEnv(t, testPolicy)
	g := e.withGadgets()
	id := addGadgets(g, sub, 1, "hello", peCust)[0]
	connID := resource.ConnectionID(id, "c")
	facts, d, err := e.r.Evaluate(context.Background(), connID)
	if err != nil || d.Action != policy.Leave || facts.Resource.Type != gadgetKind.Type || !resource.Same(facts.Resource.ID, id) {
		t.Fatalf("Evaluate: %v %+v %+v", err, d, facts.Resource)
	}
	o, err := e.r.Apply(context.Background(), ManualRequest{ConnectionID: connID, Action: policy.Approve, Actor: "principal:alice", Reason: "known customer", Force: true}, Trigger{Kind: "http"})
	if err != nil || o.Result != Approved || !resource.Same(o.PLSID, id) {
		t.Fatalf("Apply: %+v %v", o, err)
	}
	if g.Status(id, "c") != StatusApproved || g.Writes.Load() != 1 || e.arm.Gets.Load()+e.arm.Writes.Load() != 0 {
		t.Fatalf("gadget %s after %d writes; PLS fake %d reads %d writes", g.Status(id, "c"), g.Writes.Load(), e.arm.Gets.Load(), e.arm.Writes.Load())
	}
	var nf *ServiceNotFoundError
	if _, err := e.r.Reconcile(context.Background(), gadgetID(sub, 9), Trigger{Kind: "http"}); !errors.As(err, &nf) ||
		!strings.HasPrefix(err.Error(), "resource "+gadgetID(sub, 9)+" not found") || g.Gets.Load() != 3 {
		t.Fatalf("an unknown gadget asked for by an operator: %v (gadget reads %d)", err, g.Gets.Load())
	}
	if _, err := e.r.Apply(context.Background(), ManualRequest{ConnectionID: resource.ConnectionID(id, "nope"), Action: policy.Approve, Actor: "principal:alice", Reason: "r"}, Trigger{Kind: "http"}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown connection of a gadget: %v", err)
	}
}

// A shared private link resource targets whatever its privateLinkResourceId
// names: a resource of any registered kind is reconciled (and verified); one
// of no registered kind is acknowledged without a read.
func TestSharedLinkTargetsAnyRegisteredKind(t *testing.T) {
	e := newEnv(t, testPolicy)
	g := e.withGadgets()
	id := addGadgets(g, sub, 1, "wps approve", peSvc)[0]
	e.arm.AddSharedPrivateLinks(sharedLink(func(s *arm.SharedPrivateLinkResource) { s.PrivateLinkResourceID = id }))
	inScope := func(string) bool { return true }
	if _, err := e.r.ReconcileSharedLink(context.Background(), SharedLinkEvent{ID: splID, EventTime: e.clock}, inScope, ev); err != nil {
		t.Fatal(err)
	}
	if g.Status(id, "c") != StatusApproved || g.Writes.Load() != 1 {
		t.Fatalf("gadget %s after %d writes", g.Status(id, "c"), g.Writes.Load())
	}
	if row, err := e.store.GetConnection(context.Background(), id, "c"); err != nil || row.LastRule != "webpubsub" || !resource.Same(row.SharedPrivateLinkID, splID) {
		t.Fatalf("row %+v %v: want approved by rule webpubsub on the shared link's word", row, err)
	}

	e2 := newEnv(t, testPolicy)
	g2 := e2.withGadgets()
	other := "/subscriptions/" + sub + "/resourceGroups/rg/providers/Other.NS/things/x"
	e2.arm.AddSharedPrivateLinks(sharedLink(func(s *arm.SharedPrivateLinkResource) { s.PrivateLinkResourceID = other }))
	outs, err := e2.r.ReconcileSharedLink(context.Background(), SharedLinkEvent{ID: splID, EventTime: e2.clock}, inScope, ev)
	if err != nil || len(outs) != 0 || e2.arm.Gets.Load()+g2.Gets.Load() != 0 {
		t.Fatalf("unregistered target: %v %v, reads %d", outs, err, e2.arm.Gets.Load()+g2.Gets.Load())
	}
}
