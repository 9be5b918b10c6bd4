package infra_test

import (
	"net/http"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/plsgate/plsgate/internal/app"
	"github.com/plsgate/plsgate/internal/arm"
	"github.com/plsgate/plsgate/internal/armemu"
	"github.com/plsgate/plsgate/internal/testenv"
)

// plsgate never needs rights it was not granted (issue 16.2). For each scope mode the whole of
// plsgate runs (host emulator → handler → real ARM client → ARM emulator, Azurite) through an
// event-driven and a timer-driven reconcile, and every ARM request it sends must be
//   - an operation of arm.Operations whose RBAC action the custom role holds in that mode
//     (role-actions.json: actions, plus resourceGraphActions only with SCOPE_RESOURCE_GRAPH), and
//   - aimed inside a scope where main.bicep assigns the role in that mode: each SCOPE_SUBSCRIPTIONS
//     subscription, each SCOPE_PLS_IDS service, each WEBPUBSUB_IDS resource.

// armRecorder is the ARM transport: it records each request's method and path.
type armRecorder struct {
	mu    sync.Mutex
	calls []string
}

func (r *armRecorder) Do(req *http.Request) (*http.Response, error) {
	r.mu.Lock()
	r.calls = append(r.calls, req.Method+" "+req.URL.Path)
	r.mu.Unlock()
	return http.DefaultTransport.RoundTrip(req)
}

func (r *armRecorder) snapshot() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.calls)
}

// operationOf maps a request to its arm.Operations entry by method and path template.
func operationOf(method, path string) (arm.Operation, bool) {
	for _, op := range arm.Operations {
		re := "(?i)^" + regexp.MustCompile(`\\\{[^}]+\\\}`).ReplaceAllString(regexp.QuoteMeta(op.Path), `[^/]+`) + "$"
		if op.Method == method && regexp.MustCompile(re).MatchString(path) {
			return op, true
		}
	}
	return arm.Operation{}, false
}

// within reports whether path lies at or under scope (case-insensitive ARM IDs).
func within(path, scope string) bool {
	p, s := strings.ToLower(strings.TrimRight(path, "/")), strings.ToLower(strings.TrimRight(scope, "/"))
	return p == s || strings.HasPrefix(p, s+"/")
}

func TestRoleCoversEveryCallPerScopeMode(t *testing.T) {
	// main.bicep assigns the role exactly as the modes below assume.
	main := loadBicep(t, "main.bicep")
	for _, re := range []string{
		`(?s)module subscriptionAssignments 'modules/assign-subscription\.bicep' = \[\s*for \(sub, i\) in scopeSubscriptionIds: \{\s*name: [^\n]*\n\s*scope: subscription\(sub\)`,
		`(?s)module plsAssignments 'modules/assign-pls\.bicep' = \[\s*for \(id, i\) in scopePlsIds: `,
		`(?s)module webPubSubAssignments 'modules/assign-webpubsub\.bicep' = \[\s*for \(id, i\) in webPubSubIds: `,
	} {
		if !regexp.MustCompile(re).MatchString(main.src) {
			t.Fatalf("main.bicep does not assign the role as this test assumes (%s)", re)
		}
	}
	var role roleActions
	readJSON(t, "role-actions.json", &role)

	subScope := "/subscriptions/" + testenv.Subscription
	modes := []struct {
		name     string
		settings map[string]string
		assigned []string // where the role is assigned in this mode
		graph    bool
		peReads  bool // a private endpoint in the watched subscription is readable
	}{
		{"SCOPE_SUBSCRIPTIONS", map[string]string{"SCOPE_SUBSCRIPTIONS": testenv.Subscription, "WEBPUBSUB_IDS": testenv.WebPubSubID},
			[]string{subScope, testenv.WebPubSubID}, false, true},
		{"SCOPE_PLS_IDS", map[string]string{"SCOPE_SUBSCRIPTIONS": "", "SCOPE_PLS_IDS": testenv.PLSID, "WEBPUBSUB_IDS": testenv.WebPubSubID},
			[]string{testenv.PLSID, testenv.WebPubSubID}, false, false},
		{"SCOPE_RESOURCE_GRAPH", map[string]string{"SCOPE_SUBSCRIPTIONS": testenv.Subscription, "SCOPE_RESOURCE_GRAPH": "true", "WEBPUBSUB_IDS": testenv.WebPubSubID},
			[]string{subScope, testenv.WebPubSubID}, true, true},
	}
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			rec := &armRecorder{}
			env := testenv.Start(t, testenv.Options{Settings: m.settings, Deps: app.Deps{ARMTransport: rec}})

			// A consumer in the watched subscription requests a connection (privateEndpoints/write
			// in that subscription), and the seed: a shared private link resource of the Web PubSub.
			if _, err := env.ARM.CreatePrivateEndpoint(armemu.PrivateEndpoint{
				SubscriptionID: testenv.Subscription, ResourceGroup: "consumer", Name: "pe-consumer", Location: "eastus",
				Links: []*armemu.PrivateEndpointLink{{Name: "to-pls", Manual: true, PrivateLinkServiceID: testenv.PLSID, RequestMessage: "please"}},
			}); err != nil {
				t.Fatal(err)
			}
			if err := env.ARM.CreateSharedPrivateLinkResource(testenv.WebPubSubID, "spl", armemu.SharedPrivateLinkResource{
				GroupID: "pls", PrivateLinkResourceID: testenv.PLSID, RequestMessage: "seed-request-7f3a9c",
			}); err != nil {
				t.Fatal(err)
			}
			env.WaitEvents(t)
			if err := env.TickErr(t); err != nil {
				t.Logf("timer tick: %v", err) // a partial tick still shows its calls
			}
			env.WaitEvents(t)

			calls := rec.snapshot()
			if len(calls) == 0 {
				t.Fatal("plsgate made no ARM call: the scenario did not run")
			}
			granted := slices.Clone(role.Actions)
			if m.graph {
				granted = append(granted, role.ResourceGraphActions...)
			}
			peReads := 0
			for _, c := range calls {
				method, path, _ := strings.Cut(c, " ")
				op, ok := operationOf(method, path)
				if !ok {
					t.Errorf("%s: no arm.Operations entry matches this call (the role cannot be checked against it)", c)
					continue
				}
				if !slices.Contains(granted, op.Action) {
					t.Errorf("%s (%s) needs %s, which the role does not grant in this mode", c, op.Name, op.Action)
				}
				if op.Name == "PrivateEndpoints_Get" {
					peReads++
				}
				if strings.HasPrefix(op.Action, "Microsoft.ResourceGraph/") {
					continue // a tenant-level query: it returns only what the role lets plsgate read
				}
				if !slices.ContainsFunc(m.assigned, func(s string) bool { return within(path, s) }) {
					t.Errorf("%s (%s) is outside every scope the role is assigned at in this mode %q", c, op.Name, m.assigned)
				}
			}
			if m.peReads && peReads == 0 {
				t.Errorf("no private endpoint read although the role covers the consumer's subscription: the event path did not run")
			}
			if !m.peReads && peReads > 0 {
				t.Errorf("%d private endpoint read(s) where the role is not assigned", peReads)
			}
		})
	}
}

func TestOperationOf(t *testing.T) {
	op, ok := operationOf("GET", "/subscriptions/S/resourceGroups/rg/providers/Microsoft.Network/privateEndpoints/pe")
	if !ok || op.Name != "PrivateEndpoints_Get" {
		t.Fatalf("operationOf = %v, %v", op.Name, ok)
	}
	if _, ok := operationOf("DELETE", "/subscriptions/S/resourceGroups/rg/providers/Microsoft.Network/privateEndpoints/pe"); ok {
		t.Fatal("a DELETE matched a GET operation")
	}
	if !within("/subscriptions/A/resourceGroups/x", "/subscriptions/a") || within("/subscriptions/ab/x", "/subscriptions/a") {
		t.Fatal("within")
	}
}
