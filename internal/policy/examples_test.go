package policy

import (
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// TestExamples loads every policy in examples/policies and asserts its decisions on the
// ARM-shaped inputs in examples/connections.
func TestExamples(t *testing.T) {
	const (
		fdOK    = "pls-origin.5e6f7081-92a3-4b4c-86d7-e8f9a0b1c2d3"
		fdOther = "pls-origin.6f708192-a3b4-4c5d-97e8-f9a0b1c2d3e4"
	)
	type input struct {
		conn, pls string // example file, or a JSON string literal for conn
		verified  bool
		tenant    string
		status    string // override
	}
	tests := []struct {
		policy  string
		name    string
		in      input
		action  Action
		rule    string
		message string
	}{
		{"webpubsub.yaml", "verified request is approved",
			input{conn: "webpubsub-connection.json", pls: "webpubsub-pls.json", verified: true},
			Approve, "webpubsub-shared-endpoints", "approved by plsgate rule webpubsub-shared-endpoints"},
		{"webpubsub.yaml", "unverified request stays pending",
			input{conn: "webpubsub-connection.json", pls: "webpubsub-pls.json"}, Leave, "", ""},
		{"webpubsub.yaml", "without the PLS there are no tags: stays pending",
			input{conn: "webpubsub-connection.json", verified: true}, Leave, "", ""},
		{"webpubsub.yaml", "other request message stays pending",
			input{conn: `"` + wpsConn2 + `"`, pls: "webpubsub-pls.json", verified: true}, Leave, "", ""},

		{"saas-allowlist.yaml", "customer is approved",
			input{conn: "saas-customer.json"}, Approve, "customer-allowlist",
			"approved by plsgate (customer-allowlist) for api-eu.1b2c3d4e-5f60-4718-8293-a4b5c6d7e8f9 on api-eu"},
		{"saas-allowlist.yaml", "blocked subscription is rejected",
			input{conn: "saas-blocked.json"}, Reject, "blocked-subscriptions",
			"rejected by plsgate (blocked-subscriptions): this subscription is not allowed; contact support"},
		{"saas-allowlist.yaml", "unknown subscription waits",
			input{conn: "saas-unknown.json"}, Leave, "", ""},
		{"saas-allowlist.yaml", "other PLS is not covered",
			input{conn: "webpubsub-connection.json"}, Leave, "", ""},

		{"frontdoor.yaml", "matching profile is approved",
			input{conn: `"` + fdOK + `"`, pls: "frontdoor-pls.json"}, Approve, "frontdoor-origin",
			"approved by plsgate (frontdoor-origin): Front Door origin " + fdOK},
		{"frontdoor.yaml", "other profile stays pending",
			input{conn: `"` + fdOther + `"`, pls: "frontdoor-pls.json"}, Leave, "", ""},
		{"frontdoor.yaml", "PLS without the opt-in tag stays pending",
			input{conn: "webpubsub-connection.json", pls: "webpubsub-pls.json"}, Leave, "", ""},

		{"reject-other-tenants.yaml", "own tenant is approved",
			input{conn: "webpubsub-connection.json", pls: "webpubsub-pls.json", tenant: "72F988BF-86F1-41AF-91AB-2D7CD011DB47"},
			Approve, "own-tenant", "approved by plsgate (own-tenant)"},
		{"reject-other-tenants.yaml", "other tenant is rejected",
			input{conn: "webpubsub-connection.json", pls: "webpubsub-pls.json", tenant: "0b0c0d0e-0000-4000-8000-000000000001"},
			Reject, "reject-other-tenants", "rejected by plsgate (reject-other-tenants): only private endpoints from our own tenant are accepted"},
		{"reject-other-tenants.yaml", "unknown tenant stays pending",
			input{conn: "webpubsub-connection.json", pls: "webpubsub-pls.json"}, Leave, "", ""},
		{"reject-other-tenants.yaml", "PLS not opted in stays pending",
			input{conn: "saas-blocked.json", tenant: "0b0c0d0e-0000-4000-8000-000000000001"}, Leave, "", ""},
	}
	policies := map[string]*Policy{}
	for _, tt := range tests {
		t.Run(strings.TrimSuffix(tt.policy, ".yaml")+"/"+tt.name, func(t *testing.T) {
			p := policies[tt.policy]
			if p == nil {
				var err error
				if p, err = Load(filepath.Join("..", "..", "examples", "policies", tt.policy)); err != nil {
					t.Fatal(err)
				}
				if w := p.Warnings(); len(w) != 0 {
					t.Errorf("warnings: %q", w)
				}
				policies[tt.policy] = p
			}
			conn := []byte(tt.in.conn)
			if !strings.HasPrefix(tt.in.conn, `"`) {
				conn = readExample(t, "connections/"+tt.in.conn)
			}
			var pls []byte
			if tt.in.pls != "" {
				pls = readExample(t, "connections/"+tt.in.pls)
			}
			f, err := FactsFromARM(conn, pls)
			if err != nil {
				t.Fatal(err)
			}
			f.Verified = map[string]bool{VerifiedWebPubSub: tt.in.verified}
			f.Requester.TenantID = tt.in.tenant
			f.Now = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
			d := p.Evaluate(f)
			if d.Action != tt.action || d.Rule != tt.rule || d.Message != tt.message {
				t.Errorf("got {%s %q %q}, want {%s %q %q}\ntrace: %+v", d.Action, d.Rule, d.Message, tt.action, tt.rule, tt.message, d.Trace)
			}
			// The same facts as a caller that predates Facts.Resource gives them (PLS only)
			// decide the same, trace included.
			if f.PLS.ID != "" && f.Resource.Type != plsType {
				t.Errorf("FactsFromARM: resource type %q, want %s", f.Resource.Type, plsType)
			}
			legacy := f
			legacy.Resource = Resource{}
			if dl := p.Evaluate(legacy); !reflect.DeepEqual(dl, d) {
				t.Errorf("PLS-only facts decide otherwise:\n got %+v\nwant %+v", dl, d)
			}
		})
	}
}
