package armfake

import (
	"context"
	"errors"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/plsgate/plsgate/internal/arm"
	"github.com/plsgate/plsgate/internal/resource"
)

const (
	sub = "00000000-0000-0000-0000-000000000001"
	pls = "/subscriptions/" + sub + "/resourceGroups/rg/providers/Microsoft.Network/privateLinkServices/p"
	wps = "/subscriptions/" + sub + "/resourceGroups/rg/providers/Microsoft.SignalRService/webPubSub/w"
)

func status(err error) int {
	var re *azcore.ResponseError
	if errors.As(err, &re) {
		return re.StatusCode
	}
	return 0
}

func TestARM(t *testing.T) {
	ctx := context.Background()
	f := New()
	f.PageSize = 1
	f.Add(&arm.PrivateLinkService{ID: pls, SubscriptionID: sub, Connections: []arm.Connection{
		{Name: "svc", Status: arm.StatusPending, PrivateEndpointID: ServicePrefix + "0/pe"},
		{Name: "c", Status: arm.StatusPending, PrivateEndpointID: "/subscriptions/x/pe"},
	}})
	f.Add(&arm.PrivateLinkService{ID: pls + "2", SubscriptionID: sub})
	f.AddSharedPrivateLinks(arm.SharedPrivateLinkResource{ID: wps + "/sharedPrivateLinkResources/s", WebPubSubID: wps, PrivateLinkResourceID: pls, Status: arm.StatusPending})

	pages := 0
	for page, err := range f.List(ctx, sub) {
		if err != nil || len(page) != 1 {
			t.Fatalf("page %v %v", page, err)
		}
		pages++
	}
	if pages != 2 || f.Lists.Load() != 2 {
		t.Fatalf("pages %d, lists %d", pages, f.Lists.Load())
	}
	if _, err := f.GetConnection(ctx, pls+"x", "c"); status(err) != 404 {
		t.Fatalf("missing PLS: %v", err)
	}

	f.FailWrites.Store(1)
	if _, err := f.UpdateConnection(ctx, pls, arm.ConnectionUpdate{Name: "c", Status: arm.StatusRejected}); status(err) != 503 {
		t.Fatalf("failed write: %v", err)
	}
	if _, err := f.UpdateConnection(ctx, pls, arm.ConnectionUpdate{Name: "c", Status: arm.StatusRejected}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.UpdateConnection(ctx, pls, arm.ConnectionUpdate{Name: "c", Status: arm.StatusApproved}); status(err) != 400 || f.Status(pls, "c") != arm.StatusRejected {
		t.Fatalf("Rejected is terminal: %v %s", err, f.Status(pls, "c"))
	}
	if s, _ := f.GetSharedPrivateLinkResource(ctx, wps+"/sharedPrivateLinkResources/s"); s.Status != arm.StatusPending {
		t.Fatalf("a customer's connection moved the shared private link: %s", s.Status)
	}

	gate := make(chan struct{})
	f.WriteGate = gate
	done := make(chan error)
	go func() {
		_, err := f.UpdateConnection(ctx, pls, arm.ConnectionUpdate{Name: "svc", Status: arm.StatusApproved})
		done <- err
	}()
	gate <- struct{}{}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if spls, _ := f.ListSharedPrivateLinkResources(ctx, wps); len(spls) != 1 || spls[0].Status != arm.StatusApproved {
		t.Fatalf("shared private link did not follow: %+v", spls)
	}
	if f.Writes.Load() != 4 {
		t.Fatalf("writes %d", f.Writes.Load())
	}
}

// TestProvider: the fake is a resource.Provider of the PLS kind, or of the kind it is told,
// found in resource.Providers by the kind of an ID like a real provider.
func TestProvider(t *testing.T) {
	ctx := context.Background()
	f := New()
	if f.Kind().Type != resource.PrivateLinkService.Type {
		t.Fatalf("kind = %+v", f.Kind())
	}
	f.Add(&arm.PrivateLinkService{ID: pls, SubscriptionID: sub, Connections: []arm.Connection{{Name: "c", Status: arm.StatusPending}}})
	g := New()
	g.ResourceKind = resource.Kind{Type: "Contoso.Fake/gadgets"}
	resource.Register(g.ResourceKind)
	gid := "/subscriptions/" + sub + "/resourceGroups/rg/providers/Contoso.Fake/gadgets/g"
	g.Add(&resource.Resource{ID: gid, SubscriptionID: sub})
	ps := resource.Providers{}
	ps.Add(f)
	ps.Add(g)

	p, err := ps.For(pls + "/privateEndpointConnections/c")
	if err != nil || p != f {
		t.Fatalf("For(PLS connection) = %v, %v; want the PLS fake", p, err)
	}
	if r, err := p.Get(ctx, pls); err != nil || len(r.Connections) != 1 || f.Gets.Load() != 1 {
		t.Fatalf("Get through Providers: %+v %v (gets %d)", r, err, f.Gets.Load())
	}
	if p, err := ps.For(gid); err != nil || p != g || g.Kind().Type != "Contoso.Fake/gadgets" {
		t.Fatalf("For(gadget) = %v, %v; want the gadget fake", p, err)
	}
	if _, err := g.Get(ctx, gid); err != nil || f.Gets.Load() != 1 {
		t.Fatalf("gadget read: %v (PLS fake gets %d)", err, f.Gets.Load())
	}
	n := 0
	for page, err := range f.List(ctx, sub) {
		if err != nil {
			t.Fatal(err)
		}
		n += len(page)
	}
	if n != 1 {
		t.Errorf("List = %d resources", n)
	}
}
