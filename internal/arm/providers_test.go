package arm

import (
	"context"
	"errors"
	"iter"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	azfake "github.com/Azure/azure-sdk-for-go/sdk/azcore/fake"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/network/armnetwork/v7"
	netfake "github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/network/armnetwork/v7/fake"

	"github.com/plsgate/plsgate/internal/resource"
)

// plsServer answers the four PrivateLinkServices operations the provider uses.
func plsServer(t *testing.T) *netfake.ServerFactory {
	var body armnetwork.PrivateLinkService
	readJSON(t, "pls_get.json", &body)
	var conn armnetwork.PrivateEndpointConnection
	readJSON(t, "connection_update_response.json", &conn)
	return &netfake.ServerFactory{PrivateLinkServicesServer: netfake.PrivateLinkServicesServer{
		Get: func(context.Context, string, string, *armnetwork.PrivateLinkServicesClientGetOptions) (resp azfake.Responder[armnetwork.PrivateLinkServicesClientGetResponse], errResp azfake.ErrorResponder) {
			resp.SetResponse(http.StatusOK, armnetwork.PrivateLinkServicesClientGetResponse{PrivateLinkService: body}, nil)
			return
		},
		NewListBySubscriptionPager: func(*armnetwork.PrivateLinkServicesClientListBySubscriptionOptions) (resp azfake.PagerResponder[armnetwork.PrivateLinkServicesClientListBySubscriptionResponse]) {
			resp.AddPage(http.StatusOK, armnetwork.PrivateLinkServicesClientListBySubscriptionResponse{PrivateLinkServiceListResult: armnetwork.PrivateLinkServiceListResult{Value: []*armnetwork.PrivateLinkService{plsItem("a")}}}, nil)
			resp.AddPage(http.StatusOK, armnetwork.PrivateLinkServicesClientListBySubscriptionResponse{PrivateLinkServiceListResult: armnetwork.PrivateLinkServiceListResult{Value: []*armnetwork.PrivateLinkService{plsItem("b")}}}, nil)
			return
		},
		GetPrivateEndpointConnection: func(context.Context, string, string, string, *armnetwork.PrivateLinkServicesClientGetPrivateEndpointConnectionOptions) (resp azfake.Responder[armnetwork.PrivateLinkServicesClientGetPrivateEndpointConnectionResponse], errResp azfake.ErrorResponder) {
			resp.SetResponse(http.StatusOK, armnetwork.PrivateLinkServicesClientGetPrivateEndpointConnectionResponse{PrivateEndpointConnection: conn}, nil)
			return
		},
		UpdatePrivateEndpointConnection: func(context.Context, string, string, string, armnetwork.PrivateEndpointConnection, *armnetwork.PrivateLinkServicesClientUpdatePrivateEndpointConnectionOptions) (resp azfake.Responder[armnetwork.PrivateLinkServicesClientUpdatePrivateEndpointConnectionResponse], errResp azfake.ErrorResponder) {
			resp.SetResponse(http.StatusOK, armnetwork.PrivateLinkServicesClientUpdatePrivateEndpointConnectionResponse{PrivateEndpointConnection: conn}, nil)
			return
		},
	}}
}

// TestPLSProviderMakesTheSameCalls: the private link service provider, found in
// the registry by ID, reads, lists and writes with the same operations,
// api-version and golden PUT body as the Client methods it replaces.
func TestPLSProviderMakesTheSameCalls(t *testing.T) {
	c, rec := newFakeClient(t, plsServer(t), nil)
	ps := Providers(c)
	p, err := ps.For(plsIDOddCase + "privateEndpointConnections/" + pendingConn)
	if err != nil {
		t.Fatal(err)
	}
	if p.Kind().Type != resource.PrivateLinkService.Type || !slices.Equal(p.Kind().Actions, resource.PrivateLinkService.Actions) {
		t.Fatalf("kind = %+v", p.Kind())
	}
	ctx := context.Background()

	got, err := p.Get(ctx, plsIDOddCase)
	if err != nil {
		t.Fatal(err)
	}
	if want := wantPLS(); !reflect.DeepEqual(got, want) {
		t.Errorf("Get:\n got %+v\nwant %+v", got, want)
	}
	var listed []string
	for page, err := range p.List(ctx, subNet) {
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range page {
			listed = append(listed, r.Name+":"+r.Type)
		}
	}
	if want := []string{"a:" + resource.PrivateLinkService.Type, "b:" + resource.PrivateLinkService.Type}; !slices.Equal(listed, want) {
		t.Errorf("List = %v, want %v (one item per page, typed)", listed, want)
	}
	if _, err := p.GetConnection(ctx, plsID, pendingConn); err != nil {
		t.Fatal(err)
	}
	if _, err := p.UpdateConnection(ctx, plsID, resource.ConnectionUpdate{
		Name: pendingConn, PrivateEndpointID: wpsPE, Status: resource.StatusApproved,
		Description: "approved by plsgate rule webpubsub-shared-endpoints",
	}); err != nil {
		t.Fatal(err)
	}

	calls := rec.Calls()
	var apis []string
	for _, c := range calls {
		apis = append(apis, c.Method+" "+c.API)
		if u, _ := url.Parse(c.URL); u.Query().Get("api-version") != NetworkAPIVersion {
			t.Errorf("%s: api-version %q, want %s", c.API, u.Query().Get("api-version"), NetworkAPIVersion)
		}
	}
	want := []string{
		"GET PrivateLinkServicesClient.Get",
		"GET PrivateLinkServicesClient.NewListBySubscriptionPager", "GET PrivateLinkServicesClient.NewListBySubscriptionPager",
		"GET PrivateLinkServicesClient.GetPrivateEndpointConnection",
		"PUT PrivateLinkServicesClient.UpdatePrivateEndpointConnection",
	}
	if !slices.Equal(apis, want) {
		t.Errorf("calls:\n got %q\nwant %q", apis, want)
	}
	golden, err := os.ReadFile(filepath.Join("testdata", "connection_update_request.json"))
	if err != nil {
		t.Fatal(err)
	}
	sameJSON(t, calls[len(calls)-1].Body, golden)
}

// TestRegisteredKindsAreInOperations: every kind with a provider in arm lists
// only RBAC actions of Operations (the operations arm calls), so the role that
// infra derives from Operations grants what each provider needs.
func TestRegisteredKindsAreInOperations(t *testing.T) {
	kinds := ProviderKinds()
	if !slices.ContainsFunc(kinds, func(k resource.Kind) bool { return k.Type == resource.PrivateLinkService.Type }) {
		t.Fatalf("the private link service provider is not registered: %+v", kinds)
	}
	for _, k := range kinds {
		if len(k.Actions) == 0 || k.OperationPrefix == "" {
			t.Errorf("%s: a provider's kind names its RBAC actions and its event operation prefix", k.Type)
		}
		for _, a := range k.Actions {
			if !slices.Contains(Actions(), a) {
				t.Errorf("%s needs %s, which no Operations entry holds", k.Type, a)
			}
		}
	}
}

// gadgets is a provider registered by this test only, for the registry.
type gadgets struct {
	kind  resource.Kind
	items []*resource.Resource
	wrote []string
}

func (g *gadgets) Kind() resource.Kind { return g.kind }
func (g *gadgets) Get(_ context.Context, id string) (*resource.Resource, error) {
	for _, r := range g.items {
		if resource.Same(r.ID, id) {
			return r, nil
		}
	}
	return nil, errors.New("gadget not found")
}
func (g *gadgets) List(context.Context, string) iter.Seq2[[]*resource.Resource, error] {
	return func(yield func([]*resource.Resource, error) bool) {
		for _, r := range g.items {
			if !yield([]*resource.Resource{r}, nil) {
				return
			}
		}
	}
}
func (g *gadgets) GetConnection(_ context.Context, id, name string) (*resource.Connection, error) {
	return &resource.Connection{ID: resource.ConnectionID(id, name), Name: name}, nil
}
func (g *gadgets) UpdateConnection(_ context.Context, id string, u resource.ConnectionUpdate) (*resource.Connection, error) {
	g.wrote = append(g.wrote, id+" "+u.Name+" "+u.Status)
	return &resource.Connection{ID: resource.ConnectionID(id, u.Name), Name: u.Name, Status: u.Status}, nil
}

// TestRegisterProvider: a provider registered by its kind alone is built by
// Providers next to the PLS provider, its kind is known to resource, and the
// built set routes each ID (resource or connection) to its kind's provider.
func TestRegisterProvider(t *testing.T) {
	kind := resource.Kind{Type: "Contoso.ArmTest/gadgets", OperationPrefix: "Contoso.ArmTest/gadgets/",
		Actions: []string{"Contoso.ArmTest/gadgets/read"}}
	gid := "/subscriptions/" + subNet + "/resourceGroups/rg-net/providers/Contoso.ArmTest/gadgets/g1"
	g := &gadgets{kind: kind, items: []*resource.Resource{{ID: gid, Type: kind.Type, Name: "g1", ResourceGroup: "rg-net"}}}
	RegisterProvider(kind, func(*Client) resource.Provider { return g })
	defer func() { // keep the registry as other tests expect it
		providersMu.Lock()
		delete(factories, strings.ToLower(kind.Type))
		providersMu.Unlock()
	}()
	if _, ok := resource.KindOf(gid + "/privateEndpointConnections/c"); !ok {
		t.Fatal("RegisterProvider did not register the kind with resource")
	}
	got := ProviderKinds()
	gi := slices.IndexFunc(got, func(k resource.Kind) bool { return k.Type == kind.Type })
	pi := slices.IndexFunc(got, func(k resource.Kind) bool { return k.Type == resource.PrivateLinkService.Type })
	if gi < 0 || pi < gi {
		t.Errorf("ProviderKinds = %+v, want the gadget and then the PLS (type order)", got)
	}

	c, rec := newFakeClient(t, plsServer(t), nil)
	ps := Providers(c)
	ctx := context.Background()
	p, err := ps.For(gid + "/privateEndpointConnections/c")
	if err != nil || p != g {
		t.Fatalf("gadget connection: provider %v, %v", p, err)
	}
	if _, err := p.UpdateConnection(ctx, gid, resource.ConnectionUpdate{Name: "c", Status: resource.StatusApproved}); err != nil {
		t.Fatal(err)
	}
	if want := []string{gid + " c Approved"}; !slices.Equal(g.wrote, want) {
		t.Errorf("gadget writes = %q, want %q", g.wrote, want)
	}
	if len(rec.Calls()) != 0 {
		t.Errorf("a gadget call reached ARM: %v", rec.Calls())
	}
	p, err = ps.For(plsID)
	if err != nil {
		t.Fatal(err)
	}
	if r, err := p.Get(ctx, plsID); err != nil || r.Name != "pls-chat" {
		t.Fatalf("PLS read: %+v %v", r, err)
	}
	if _, err := ps.For("/subscriptions/" + subNet + "/resourceGroups/rg/providers/Other.NS/things/x"); err == nil {
		t.Error("an ID of no registered kind found a provider")
	}
}

// TestProvidersPanicOnAMismatchedFactory: a factory whose provider serves another kind than
// it was registered for is a programming error, caught when the providers are built.
func TestProvidersPanicOnAMismatchedFactory(t *testing.T) {
	kind := resource.Kind{Type: "Contoso.ArmTest/liars", OperationPrefix: "Contoso.ArmTest/liars/"}
	RegisterProvider(kind, func(c *Client) resource.Provider { return NewPLSProvider(c) })
	defer func() {
		providersMu.Lock()
		delete(factories, strings.ToLower(kind.Type))
		providersMu.Unlock()
	}()
	defer func() {
		if recover() == nil {
			t.Error("Providers built a provider registered for another kind")
		}
	}()
	c, _ := newFakeClient(t, plsServer(t), nil)
	Providers(c)
}
