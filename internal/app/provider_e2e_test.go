package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/plsgate/plsgate/internal/app"
	"github.com/plsgate/plsgate/internal/resource"
	"github.com/plsgate/plsgate/internal/store"
	"github.com/plsgate/plsgate/internal/testenv"
)

// The proof that adding a resource type needs no Go edit outside its provider: this file
// alone registers a kind plsgate has never heard of and serves it from memory, and an Event
// Grid event for one of its connections is reconciled end to end — host emulator, handler,
// event classifier, reconcile, policy, the provider's UpdateConnection — with the decision
// recorded in Table storage (Azurite). A production provider is the same two things in
// internal/arm: arm.RegisterProvider(kind, factory) in its own file, plus the infra lists
// its Kind names (role-actions.json, eventgrid-filter.json), which infra's tests check.

var gadgetKind = resource.Kind{
	Type:            "Contoso.Widgets/gadgets",
	OperationPrefix: "Contoso.Widgets/gadgets/",
	Actions: []string{"Contoso.Widgets/gadgets/read", "Contoso.Widgets/gadgets/privateEndpointConnections/read",
		"Contoso.Widgets/gadgets/privateEndpointConnections/write"},
}

// gadgets is an in-memory provider of gadgetKind: reads return copies, writes are recorded.
type gadgets struct {
	mu     sync.Mutex
	items  []*resource.Resource
	writes []resource.ConnectionUpdate
}

func (g *gadgets) Kind() resource.Kind { return gadgetKind }

func (g *gadgets) find(id string) *resource.Resource {
	for _, r := range g.items {
		if resource.Same(r.ID, id) {
			return r
		}
	}
	return nil
}

func clone(r *resource.Resource) *resource.Resource {
	cp := *r
	cp.Connections = slices.Clone(r.Connections)
	return &cp
}

func (g *gadgets) Get(_ context.Context, id string) (*resource.Resource, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if r := g.find(id); r != nil {
		return clone(r), nil
	}
	return nil, fmt.Errorf("gadget %s: %w", id, errors.ErrUnsupported)
}

func (g *gadgets) List(_ context.Context, sub string) iter.Seq2[[]*resource.Resource, error] {
	return func(yield func([]*resource.Resource, error) bool) {
		g.mu.Lock()
		var page []*resource.Resource
		for _, r := range g.items {
			if strings.EqualFold(r.SubscriptionID, sub) {
				page = append(page, clone(r))
			}
		}
		g.mu.Unlock()
		if len(page) > 0 {
			yield(page, nil)
		}
	}
}

func (g *gadgets) conn(id, name string) *resource.Connection {
	if r := g.find(id); r != nil {
		for i := range r.Connections {
			if r.Connections[i].Name == name {
				return &r.Connections[i]
			}
		}
	}
	return nil
}

func (g *gadgets) GetConnection(_ context.Context, id, name string) (*resource.Connection, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if c := g.conn(id, name); c != nil {
		cp := *c
		return &cp, nil
	}
	return nil, fmt.Errorf("connection %s of gadget %s: %w", name, id, errors.ErrUnsupported)
}

func (g *gadgets) UpdateConnection(_ context.Context, id string, u resource.ConnectionUpdate) (*resource.Connection, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.writes = append(g.writes, u)
	c := g.conn(id, u.Name)
	if c == nil {
		return nil, fmt.Errorf("connection %s of gadget %s: %w", u.Name, id, errors.ErrUnsupported)
	}
	c.Status, c.Description = u.Status, u.Description
	cp := *c
	return &cp, nil
}

func (g *gadgets) status(id, name string) string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.conn(id, name).Status
}

func (g *gadgets) addConnection(id string, c resource.Connection) {
	g.mu.Lock()
	defer g.mu.Unlock()
	r := g.find(id)
	r.Connections = append(r.Connections, c)
}

// The first rule is written for private link services: it must not reject a gadget that
// carries the same tag.
const gadgetPolicy = `
version: 1
default: leave
rules:
  - name: tagged-private-link-services
    match:
      privateLinkService: { tags: { plsgate: enabled } }
    action: reject
  - name: gadgets
    match:
      resource: { types: [Contoso.Widgets/gadgets], tags: { plsgate: enabled } }
      requestMessage: "^gadget please$"
    action: approve
    message: "approved by plsgate rule {rule} on {resource}"
`

func TestNewResourceKindReconciledEndToEnd(t *testing.T) {
	resource.Register(gadgetKind) // before the app builds its event classifier

	gid := "/subscriptions/" + testenv.Subscription + "/resourceGroups/widgets/providers/Contoso.Widgets/gadgets/g1"
	pe := func(n string) string {
		return "/subscriptions/" + consumerSub + "/resourceGroups/consumer/providers/Microsoft.Network/privateEndpoints/" + n
	}
	pending := func(name, message string) resource.Connection {
		return resource.Connection{ID: resource.ConnectionID(gid, name), Name: name, Status: resource.StatusPending,
			Description: message, PrivateEndpointID: pe(name), ProvisioningState: "Succeeded"}
	}
	prov := &gadgets{items: []*resource.Resource{{
		ID: gid, Type: gadgetKind.Type, Name: "g1", SubscriptionID: testenv.Subscription, ResourceGroup: "widgets",
		Location: "eastus", Tags: map[string]string{"plsgate": "enabled"},
		Connections: []resource.Connection{pending("pe-1.abc", "gadget please"), pending("pe-2.def", "let me in")},
	}}}
	env := testenv.Start(t, testenv.Options{Policy: gadgetPolicy, NoEvents: true, Deps: app.Deps{Providers: []resource.Provider{prov}}})
	env.ARM.ResetCounters()

	// Event Grid delivers the connection write to the Functions host's webhook.
	conn := resource.ConnectionID(gid, "pe-1.abc")
	body, _ := json.Marshal([]map[string]any{{
		"id": "gadget-write-1", "eventType": "Microsoft.Resources.ResourceWriteSuccess", "subject": conn,
		"topic": "/subscriptions/" + testenv.Subscription, "eventTime": "2026-11-25T10:00:00Z", "dataVersion": "2", "metadataVersion": "1",
		"data": map[string]any{"operationName": gadgetKind.OperationPrefix + "privateEndpointConnections/write", "resourceUri": conn,
			"status": "Succeeded", "subscriptionId": testenv.Subscription},
	}})
	req, _ := http.NewRequest(http.MethodPost, env.HostURL+"/runtime/webhooks/eventgrid?functionName="+app.FunctionEvents, bytes.NewReader(body))
	req.Header.Set("aeg-event-type", "Notification")
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		t.Fatalf("delivery answered %d", resp.StatusCode)
	}

	wantWrite := resource.ConnectionUpdate{Name: "pe-1.abc", PrivateEndpointID: pe("pe-1.abc"), Status: resource.StatusApproved,
		Description: "approved by plsgate rule gadgets on g1"}
	if !slices.Equal(prov.writes, []resource.ConnectionUpdate{wantWrite}) {
		t.Fatalf("provider writes = %+v, want %+v", prov.writes, wantWrite)
	}
	if s := prov.status(gid, "pe-2.def"); s != resource.StatusPending {
		t.Errorf("the connection no rule approves is %s (the PLS rule must not reject a gadget)", s)
	}
	row, err := env.App.Store.GetConnection(context.Background(), gid, "pe-1.abc")
	if err != nil {
		t.Fatal(err)
	}
	if row.Status != resource.StatusApproved || row.LastRule != "gadgets" || row.RequestMessage != "gadget please" || row.PendingAction != "" {
		t.Errorf("stored row = %+v", row)
	}
	h, err := env.App.Store.ListTransitions(context.Background(), gid, "pe-1.abc", 10)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(h, func(tr store.Transition) bool {
		return tr.From == resource.StatusPending && tr.To == resource.StatusApproved && tr.Phase == "done" && tr.Actor == "rule:gadgets"
	}) {
		t.Errorf("no done transition Pending>Approved by rule:gadgets in %+v", h)
	}
	if n := env.ARMCalls(); n != 0 {
		t.Errorf("%d calls reached the ARM emulator: the gadget went to the wrong provider", n)
	}

	// The timer finds a new request through the provider's List (no event).
	prov.addConnection(gid, pending("pe-3.ghi", "gadget please"))
	env.Tick(t)
	if s := prov.status(gid, "pe-3.ghi"); s != resource.StatusApproved {
		t.Errorf("the timer left pe-3.ghi %s", s)
	}
	if n := len(prov.writes); n != 2 {
		t.Errorf("%d provider writes after the tick, want 2 (pe-2.def stays Pending)", n)
	}

	// The manual routes need no edit either: an operator approves the next request through the
	// Functions host (the API's ID checks, scope, reconcile's Apply, the provider's write), then
	// reads its history and reconciles the gadget by ID.
	env.ARM.ResetCounters() // the tick listed the PLSs
	prov.addConnection(gid, pending("pe-4.jkl", "gadget please"))
	connID := resource.ConnectionID(gid, "pe-4.jkl")
	st, body := env.API(t, http.MethodPost, "/api/v1/connections/approve", map[string]any{"connectionId": connID, "reason": "CHG-7: gadget onboarding"}, nil)
	var out struct{ PrivateLinkServiceID, ConnectionID, From, To, Result string }
	if err := json.Unmarshal(body, &out); st != http.StatusOK || err != nil || out.Result != "approved" || out.To != resource.StatusApproved ||
		!resource.Same(out.PrivateLinkServiceID, gid) || !resource.Same(out.ConnectionID, connID) {
		t.Fatalf("approve a gadget's connection: %d %s", st, body)
	}
	if s := prov.status(gid, "pe-4.jkl"); s != resource.StatusApproved || len(prov.writes) != 3 {
		t.Errorf("after the API approval: pe-4.jkl %s, %d provider writes (want Approved, 3)", s, len(prov.writes))
	}
	if st, body = env.API(t, http.MethodGet, "/api/v1/connections/history?connectionId="+url.QueryEscape(connID), nil, nil); st != http.StatusOK ||
		!strings.Contains(string(body), `"actor": "function-key"`) || !strings.Contains(string(body), "CHG-7: gadget onboarding") {
		t.Errorf("history of the gadget's connection: %d %s", st, body)
	}
	if st, body = env.API(t, http.MethodPost, "/api/v1/reconcile", map[string]any{"privateLinkServiceId": gid}, nil); st != http.StatusOK ||
		!strings.Contains(string(body), `"complete": true`) {
		t.Errorf("reconcile the gadget by ID: %d %s", st, body)
	}
	if n := env.ARMCalls(); n != 0 {
		t.Errorf("%d calls reached the ARM emulator from the manual routes", n)
	}
}
