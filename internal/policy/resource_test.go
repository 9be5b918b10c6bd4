package policy

import (
	"reflect"
	"strings"
	"testing"

	"github.com/plsgate/plsgate/internal/resource"
)

// A resource of another kind than a private link service (registered below).
const (
	gadgetType = "Contoso.Policy/gadgets"
	gadgetID   = "/subscriptions/" + subPLS + "/resourceGroups/contoso/providers/" + gadgetType + "/gadget-1"
)

func init() {
	resource.Register(resource.Kind{Type: gadgetType, OperationPrefix: gadgetType + "/"})
}

// gadgetFacts is baseFacts on a gadget: same tags, location and connection.
func gadgetFacts() Facts {
	f := baseFacts()
	f.Resource = Resource{ID: gadgetID, Location: "westeurope", Tags: f.PLS.Tags}
	f.PLS = PLS{}
	f.Connection.ID = gadgetID + "/privateEndpointConnections/pls-web.1"
	return f
}

// TestResourceMatchers: `resource` speaks of any kind, `privateLinkService` only of private
// link services; the type and name come from the ID when not given.
func TestResourceMatchers(t *testing.T) {
	pls := baseFacts
	plsAsResource := func() Facts {
		f := baseFacts()
		f.Resource, f.PLS = f.PLS.asResource(""), PLS{}
		return f
	}
	tests := []struct {
		name   string
		facts  func() Facts
		rule   string
		want   Action
		reason string
	}{
		{"type of a gadget", gadgetFacts, "    match: {resource: {types: [" + strings.ToUpper(gadgetType) + "]}}\n", Approve, "resource.types held"},
		{"type of a PLS (PLS-only facts)", pls, "    match: {resource: {types: [Microsoft.Network/privateLinkServices]}}\n", Approve, ""},
		{"type of a PLS (resource facts)", plsAsResource, "    match: {resource: {types: [Microsoft.Network/privateLinkServices]}}\n", Approve, ""},
		{"type mismatch", pls, "    match: {resource: {types: [" + gadgetType + "]}}\n", Leave, `resource.types: the resource type is not "` + gadgetType + `"`},
		{"name derived from a gadget ID", gadgetFacts, "    match: {resource: {names: [gadget-*], resourceGroups: [contoso], subscriptions: ['" + subPLS + "']}}\n", Approve, ""},
		{"ids, location and tags of a gadget", gadgetFacts, "    match: {resource: {ids: ['/subscriptions/*/resourceGroups/*/providers/Contoso.Policy/gadgets/*'], locations: [West Europe], tags: {plsgate: enabled}}}\n", Approve, ""},
		{"resource tags named in the trace", gadgetFacts, "    match: {resource: {tags: {owner: '*'}}}\n", Leave, `resource.tags: the resource has no tag "owner"`},
		{"privateLinkService ids do not match a gadget", gadgetFacts, "    match: {privateLinkService: {ids: ['/subscriptions/*/resourceGroups/*/providers/*/*/*']}}\n", Leave, "privateLinkService.ids: the connection's resource is not a private link service"},
		{"privateLinkService tags do not match a gadget", gadgetFacts, "    match: {privateLinkService: {tags: {plsgate: enabled}}}\n", Leave, "privateLinkService.tags: the connection's resource is not a private link service"},
		{"empty privateLinkService is any PLS", pls, "    match: {privateLinkService: {}}\n", Approve, "privateLinkService held"},
		{"empty privateLinkService is no gadget", gadgetFacts, "    match: {privateLinkService: {}}\n", Leave, "privateLinkService: the connection's resource is not a private link service"},
		{"privateLinkService on resource facts of a PLS", plsAsResource, "    match: {privateLinkService: {names: [pls-web], tags: {plsgate: enabled}}}\n", Approve, ""},
		{"CEL resource of a gadget", gadgetFacts, "    when: 'resource.type == \"" + gadgetType + "\" && resource.name == \"gadget-1\" && resource.resourceGroup == \"contoso\" && resource.tags[\"plsgate\"] == \"enabled\"'\n", Approve, ""},
		{"CEL pls is empty for a gadget", gadgetFacts, "    when: 'pls.id == \"\" && pls.name == \"\" && !(\"plsgate\" in pls.tags)'\n", Approve, ""},
		{"CEL resource of PLS-only facts", pls, "    when: 'resource.type == \"Microsoft.Network/privateLinkServices\" && resource.id == pls.id && resource.name == \"pls-web\" && resource.location == pls.location'\n", Approve, ""},
		{"PLS-only facts with an odd ID stay a PLS", func() Facts { f := baseFacts(); f.PLS.ID = "pls-web"; return f }, "    match: {privateLinkService: {tags: {plsgate: enabled}}}\n", Approve, ""},
		{"PLS-only facts with another kind's ID are that kind", func() Facts { f := baseFacts(); f.PLS.ID = gadgetID; return f }, "    match: {privateLinkService: {tags: {plsgate: enabled}}}\n", Leave, "not a private link service"},
		{"resource facts of an unknown type are no PLS", func() Facts { f := gadgetFacts(); f.Resource.ID = "odd"; return f }, "    match: {privateLinkService: {tags: {plsgate: enabled}}}\n", Leave, "not a private link service"},
		{"CEL pls of resource facts", plsAsResource, "    when: 'pls.name == \"pls-web\" && pls.tags[\"plsgate\"] == \"enabled\" && pls.subscriptionId == \"" + subPLS + "\"'\n", Approve, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := mustParse(t, oneRule(tt.rule))
			d := p.Evaluate(tt.facts())
			if d.Action != tt.want || !strings.Contains(d.Trace[0].Reason, tt.reason) {
				t.Fatalf("action %s (want %s), trace %q (want it to contain %q)", d.Action, tt.want, d.Trace[0].Reason, tt.reason)
			}
			if p.NeedsVerification(tt.facts(), VerifiedWebPubSub) {
				t.Error("NeedsVerification without a verifiedBy rule")
			}
		})
	}
}

// TestPrivateLinkServiceRuleNeverApprovesAnotherKind: the example policies, written for
// PLSs, approve nothing on a gadget that carries the same tags, location and connection.
func TestPrivateLinkServiceRuleNeverApprovesAnotherKind(t *testing.T) {
	for _, name := range []string{"webpubsub.yaml", "frontdoor.yaml", "saas-allowlist.yaml", "reject-other-tenants.yaml"} {
		p, err := Load("../../examples/policies/" + name)
		if err != nil {
			t.Fatal(err)
		}
		f := gadgetFacts()
		f.Verified = map[string]bool{VerifiedWebPubSub: true}
		f.Requester.TenantID = "72f988bf-86f1-41af-91ab-2d7cd011db47"
		if d := p.Evaluate(f); d.Action == Approve {
			t.Errorf("%s approves a connection to a %s: %+v", name, gadgetType, d.Trace)
		}
	}
}

func TestResourceTypesLoad(t *testing.T) {
	_, err := Parse("p.yaml", []byte(oneRule("    match: {resource: {types: [privateLinkServices]}}\n")))
	if err == nil || !strings.Contains(err.Error(), `rules[0].match.resource.types[0]: "privateLinkServices" is not an ARM resource type`) {
		t.Errorf("err = %v", err)
	}
	p := mustParse(t, oneRule("    match: {resource: {types: [microsoft.network/PRIVATELINKSERVICES, Contoso.Unknown/things]}}\n"))
	if w := strings.Join(p.Warnings(), "\n"); !strings.Contains(w, `rules[0].match.resource.types[1]: "Contoso.Unknown/things" is not a resource type plsgate manages`) {
		t.Errorf("warnings: %s", w)
	}
	if got := p.Summary().Rules[0].Match; !reflect.DeepEqual(got, []string{"resource.types: Microsoft.Network/privateLinkServices, Contoso.Unknown/things"}) {
		t.Errorf("summary %q: the registered spelling is shown", got)
	}
}

func TestMessageResourcePlaceholder(t *testing.T) {
	p := mustParse(t, oneRule("    message: '{rule} on {resource} ({pls}) for {connection}'\n"))
	if d := p.Evaluate(gadgetFacts()); d.Message != "r on gadget-1 (gadget-1) for pls-web.1" {
		t.Errorf("message = %q", d.Message)
	}
}

// TestFactsOf: a provider's resource and connection become Facts; a PLS fills pls too, and
// decides exactly as the PLS-only facts reconcile built before.
func TestFactsOf(t *testing.T) {
	conn := resource.Connection{ID: plsID + "/privateEndpointConnections/c", Name: "c", Status: "Pending", Description: "please approve",
		LinkIdentifier: "7", PrivateEndpointID: "/subscriptions/" + subCust + "/resourceGroups/Net-RG/providers/Microsoft.Network/privateEndpoints/pe1",
		PrivateEndpointLocation: "westeurope", ProvisioningState: "Succeeded", ETag: "e"}
	r := &resource.Resource{ID: plsID, Type: resource.PrivateLinkService.Type, Name: "pls-web", SubscriptionID: subPLS, ResourceGroup: "contoso",
		Location: "westeurope", Tags: map[string]string{"plsgate": "enabled"}, Alias: "a", Visibility: []string{"*"}, Fqdns: []string{"x"}}
	f := FactsOf(r, conn)
	wantPLS := PLS{ID: plsID, Name: "pls-web", SubscriptionID: subPLS, ResourceGroup: "contoso", Location: "westeurope",
		Alias: "a", Tags: r.Tags, Visibility: []string{"*"}, Fqdns: []string{"x"}}
	if !reflect.DeepEqual(f.PLS, wantPLS) || f.Resource.asPLS().ID != plsID || f.Resource.Type != plsType {
		t.Errorf("facts = %+v", f)
	}
	if f.Connection != (Connection{ID: conn.ID, Name: "c", Status: "Pending", Description: "please approve", LinkIdentifier: "7",
		PrivateEndpointID: conn.PrivateEndpointID, PrivateEndpointLocation: "westeurope"}) ||
		f.Requester != (Requester{SubscriptionID: subCust, ResourceGroup: "Net-RG"}) {
		t.Errorf("connection %+v requester %+v", f.Connection, f.Requester)
	}
	p := benchPolicy(t, true, true)
	legacy := f
	legacy.Resource = Resource{}
	if d, dl := p.Evaluate(f), p.Evaluate(legacy); !reflect.DeepEqual(d, dl) {
		t.Errorf("resource facts and PLS-only facts decide differently:\n%+v\n%+v", d, dl)
	}

	g := FactsOf(&resource.Resource{ID: gadgetID}, resource.Connection{Name: "c"})
	if g.Resource.Type != gadgetType || g.Resource.Name != "gadget-1" || g.PLS.ID != "" {
		t.Errorf("gadget facts: %+v", g)
	}
}

// TestFactsFromARMOtherKind: a connection to a storage account (with or without the
// account's JSON) is about that resource, and not about a PLS.
func TestFactsFromARMOtherKind(t *testing.T) {
	sa := "/subscriptions/" + subPLS + "/resourceGroups/data/providers/Microsoft.Storage/storageAccounts/contosodata"
	conn := []byte(`{"id": "` + sa + `/privateEndpointConnections/pe1.1", "properties": {"privateEndpoint": {"id": "/subscriptions/` + subCust +
		`/resourceGroups/net/providers/Microsoft.Network/privateEndpoints/pe1"}, "privateLinkServiceConnectionState": {"status": "Pending", "description": "hi"}}}`)
	f, err := FactsFromARM(conn, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := Resource{Type: "Microsoft.Storage/storageAccounts", ID: sa, Name: "contosodata", SubscriptionID: subPLS, ResourceGroup: "data"}
	if !reflect.DeepEqual(f.Resource, want) || f.PLS.ID != "" || f.Requester.SubscriptionID != subCust {
		t.Errorf("facts = %+v", f)
	}
	account := []byte(`{"id": "` + sa + `", "name": "contosodata", "type": "Microsoft.Storage/storageAccounts", "location": "westeurope",
		"tags": {"plsgate": "enabled"}, "properties": {"privateEndpointConnections": [` + string(conn) + `]}}`)
	f, err = FactsFromARM(nil, account)
	if err != nil {
		t.Fatal(err)
	}
	want.Location, want.Tags = "westeurope", map[string]string{"plsgate": "enabled"}
	if !reflect.DeepEqual(f.Resource, want) || f.PLS.ID != "" || f.Connection.Name != "pe1.1" {
		t.Errorf("facts = %+v", f)
	}
}
