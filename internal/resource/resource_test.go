package resource

import (
	"context"
	"errors"
	"iter"
	"testing"
)

const pls = "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/contoso/providers/Microsoft.Network/privateLinkServices/contoso-pls"

func TestParse(t *testing.T) {
	id, err := Parse("  /subscriptions/S/resourcegroups/RG/Providers/Microsoft.Network/privateLinkServices/p/privateEndpointConnections/c/ ")
	if err != nil {
		t.Fatal(err)
	}
	if id.Subscription != "S" || id.ResourceGroup != "RG" || id.Namespace != "Microsoft.Network" ||
		id.Type() != "Microsoft.Network/privateLinkServices/privateEndpointConnections" || id.Name() != "c" {
		t.Fatalf("parsed %+v (type %s)", id, id.Type())
	}
	if got := id.String(); got != "/subscriptions/S/resourceGroups/RG/providers/Microsoft.Network/privateLinkServices/p/privateEndpointConnections/c" {
		t.Fatalf("String %s", got)
	}
	p, ok := id.Parent()
	if !ok || p.Type() != "Microsoft.Network/privateLinkServices" || p.Name() != "p" {
		t.Fatalf("parent %+v %v", p, ok)
	}
	if _, ok := p.Parent(); ok {
		t.Fatal("a top-level resource has a parent")
	}
	for _, bad := range []string{"", "subscriptions/S/resourceGroups/RG/providers/M.N/t/n", "/subscriptions/S/resourceGroups/RG",
		"/subscriptions/S/resourceGroups/RG/providers/M.N/t", "/subscriptions/S/resourceGroups/RG/providers/MN/t/n",
		"/subscriptions/S/resourceGroups//providers/M.N/t/n", "/subscriptions/S/resourceGroups/RG/providers/M.N/t/n?x=1",
		"/tenants/T/resourceGroups/RG/providers/M.N/t/n"} {
		if _, err := Parse(bad); !errors.Is(err, ErrInvalidID) {
			t.Errorf("%q: want ErrInvalidID, got %v", bad, err)
		}
	}
}

func TestConnectionIDs(t *testing.T) {
	rid, name, err := SplitConnectionID(pls + "/privateendpointconnections/c1")
	if err != nil || !Same(rid, pls) || name != "c1" {
		t.Fatalf("%s %s %v", rid, name, err)
	}
	if _, _, err := SplitConnectionID(pls); err == nil {
		t.Fatal("a resource ID split as a connection")
	}
	if got := ConnectionID(pls+"/", "c1"); got != pls+"/privateEndpointConnections/c1" {
		t.Fatal(got)
	}
	if SubscriptionOf(pls) != "00000000-0000-0000-0000-000000000001" || SubscriptionOf("x") != "" {
		t.Fatal("SubscriptionOf")
	}
	if !Same(pls, " "+Normalize(pls)+"/") {
		t.Fatal("Same")
	}
}

type fakeProvider struct{ k Kind }

func (f fakeProvider) Kind() Kind                                               { return f.k }
func (fakeProvider) Get(context.Context, string) (*Resource, error)             { return nil, nil }
func (fakeProvider) List(context.Context, string) iter.Seq2[[]*Resource, error] { return nil }
func (fakeProvider) GetConnection(context.Context, string, string) (*Connection, error) {
	return nil, nil
}
func (fakeProvider) UpdateConnection(context.Context, string, ConnectionUpdate) (*Connection, error) {
	return nil, nil
}

func TestKindsAndProviders(t *testing.T) {
	if !IsPrivateLinkService(pls) || !IsPrivateLinkService(pls+"/privateEndpointConnections/c") {
		t.Fatal("the private link service kind is not registered")
	}
	widget := Kind{Type: "Contoso.Test/widgets", OperationPrefix: "Contoso.Test/widgets/"}
	wid := "/subscriptions/S/resourceGroups/RG/providers/Contoso.Test/widgets/w1"
	if _, ok := KindOf(wid); ok {
		t.Fatal("an unregistered kind was found")
	}
	Register(widget)
	defer func() { mu.Lock(); delete(kinds, "contoso.test/widgets"); mu.Unlock() }()
	if rid, k, ok := ResourceOf(wid + "/privateEndpointConnections/c"); !ok || k.Type != widget.Type || !Same(rid, wid) {
		t.Fatalf("ResourceOf: %s %+v %v", rid, k, ok)
	}
	ps := Providers{}
	ps.Add(fakeProvider{PrivateLinkService})
	if p, err := ps.For(pls); err != nil || p.Kind().Type != PrivateLinkService.Type {
		t.Fatalf("For(pls): %v", err)
	}
	if _, err := ps.For(wid); err == nil {
		t.Fatal("a kind without provider was served")
	}
	if _, err := ps.For("/subscriptions/S/resourceGroups/RG/providers/Other.NS/things/x"); err == nil {
		t.Fatal("an unregistered kind was served")
	}
	if n := len(Kinds()); n != 2 {
		t.Fatalf("%d kinds registered, want 2", n)
	}
}
