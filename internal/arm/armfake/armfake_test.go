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
	for page, err := range f.ListPrivateLinkServices(ctx, sub) {
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
// reachable through arm.Dispatch like a real provider.
func TestProvider(t *testing.T) {
	ctx := context.Background()
	f := New()
	if f.Kind().Type != resource.PrivateLinkService.Type {
		t.Fatalf("kind = %+v", f.Kind())
	}
	f.Add(&arm.PrivateLinkService{ID: pls, SubscriptionID: sub, Connections: []arm.Connection{{Name: "c", Status: arm.StatusPending}}})
	d := arm.Dispatch(resource.Providers{"microsoft.network/privatelinkservices": f})
	if r, err := d.GetPrivateLinkService(ctx, pls); err != nil || len(r.Connections) != 1 || f.Gets.Load() != 1 {
		t.Fatalf("Get through Dispatch: %+v %v (gets %d)", r, err, f.Gets.Load())
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
	g := New()
	g.ResourceKind = resource.Kind{Type: "Contoso.Fake/gadgets"}
	if g.Kind().Type != "Contoso.Fake/gadgets" {
		t.Errorf("kind = %+v", g.Kind())
	}
}
