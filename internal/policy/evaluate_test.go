package policy

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

const (
	subPLS   = "5f1c2d3e-0a1b-4c2d-8e3f-9a0b1c2d3e4f"
	subCust  = "aaaaaaaa-0000-0000-0000-000000000001"
	tenantUs = "72f988bf-86f1-41af-91ab-2d7cd011db47"
	plsID    = "/subscriptions/" + subPLS + "/resourceGroups/contoso/providers/Microsoft.Network/privateLinkServices/pls-web"
)

// baseFacts is a Pending connection from a customer subscription on an opted-in PLS.
func baseFacts() Facts {
	return Facts{
		PLS: PLS{ID: plsID, Location: "westeurope", Tags: map[string]string{"plsgate": "enabled", "Team": "web"}},
		Connection: Connection{
			ID:                      plsID + "/privateEndpointConnections/pls-web.1",
			Name:                    "pls-web.1",
			Status:                  "Pending",
			Description:             "please approve",
			LinkIdentifier:          "536870912",
			PrivateEndpointID:       "/subscriptions/" + subCust + "/resourceGroups/Net-RG/providers/Microsoft.Network/privateEndpoints/pe1",
			PrivateEndpointLocation: "West Europe",
		},
		Now: time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC),
	}
}

func mustParse(t testing.TB, src string) *Policy {
	t.Helper()
	p, err := Parse("test.yaml", []byte(src))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return p
}

// oneRule wraps a match block (and optional extra rule keys) into a one-rule approve policy.
func oneRule(body string) string {
	return "version: 1\nrules:\n  - name: r\n    action: approve\n" + body
}

func TestEvaluateMatchers(t *testing.T) {
	tests := []struct {
		name   string
		rule   string       // rule keys after name/action, indented by 4
		facts  func(*Facts) // changes to baseFacts
		want   Action
		reason string // substring of the first trace reason
	}{
		{"no matchers is catch-all", "", nil, Approve, "no matchers"},
		{"pls id glob", "    match: {privateLinkService: {ids: ['/subscriptions/*/resourceGroups/contoso/providers/Microsoft.Network/privateLinkServices/*']}}\n", nil, Approve, "privateLinkService.ids"},
		{"pls id glob case-insensitive", "    match: {privateLinkService: {ids: ['/SUBSCRIPTIONS/*/resourcegroups/CONTOSO/providers/microsoft.network/privatelinkservices/PLS-*']}}\n", nil, Approve, ""},
		{"pls id glob star stays in segment", "    match: {privateLinkService: {ids: ['/subscriptions/*/providers/Microsoft.Network/privateLinkServices/*']}}\n", nil, Leave, "privateLinkService.ids: the PLS ID does not match"},
		{"pls id unknown", "    match: {privateLinkService: {ids: ['/subscriptions/*']}}\n", func(f *Facts) { f.PLS.ID = "" }, Leave, "the PLS ID is unknown"},
		{"pls subscription derived from id", "    match: {privateLinkService: {subscriptions: ['" + strings.ToUpper(subPLS) + "']}}\n", nil, Approve, ""},
		{"pls subscription mismatch", "    match: {privateLinkService: {subscriptions: ['" + subCust + "']}}\n", nil, Leave, "the PLS subscription is not"},
		{"pls resource group glob", "    match: {privateLinkService: {resourceGroups: ['CONTO*']}}\n", nil, Approve, ""},
		{"pls name glob", "    match: {privateLinkService: {names: ['pls-*', 'other']}}\n", nil, Approve, ""},
		{"pls name mismatch", "    match: {privateLinkService: {names: ['api-*']}}\n", nil, Leave, `privateLinkService.names: the PLS name does not match "api-*"`},
		{"pls location ignores case and spaces", "    match: {privateLinkService: {locations: ['West Europe']}}\n", nil, Approve, ""},
		{"pls tag value", "    match: {privateLinkService: {tags: {plsgate: enabled}}}\n", nil, Approve, ""},
		{"pls tag key case-insensitive", "    match: {privateLinkService: {tags: {PLSGATE: enabled, team: '*'}}}\n", nil, Approve, ""},
		{"pls tag value is case-sensitive", "    match: {privateLinkService: {tags: {plsgate: Enabled}}}\n", nil, Leave, `tag "plsgate" is not "Enabled"`},
		{"pls tag missing", "    match: {privateLinkService: {tags: {owner: '*'}}}\n", nil, Leave, `the PLS has no tag "owner"`},
		{"pls tags nil", "    match: {privateLinkService: {tags: {plsgate: enabled}}}\n", func(f *Facts) { f.PLS.Tags = nil }, Leave, `no tag "plsgate"`},
		{"requester subscription from endpoint id", "    match: {requester: {subscriptions: ['" + subCust + "']}}\n", nil, Approve, ""},
		{"requester subscription explicit wins", "    match: {requester: {subscriptions: ['" + subCust + "']}}\n", func(f *Facts) { f.Requester.SubscriptionID = subPLS }, Leave, "requester.subscriptions: the requester subscription"},
		{"requester subscription unknown", "    match: {requester: {subscriptions: ['" + subCust + "']}}\n", func(f *Facts) { f.Connection.PrivateEndpointID = "pe1" }, Leave, "requester subscription (from privateEndpoint.id) is unknown"},
		{"requester resource group", "    match: {requester: {resourceGroups: [net-rg]}}\n", nil, Approve, ""},
		{"requester tenant", "    match: {requester: {tenants: ['" + tenantUs + "']}}\n", func(f *Facts) { f.Requester.TenantID = tenantUs }, Approve, ""},
		{"requester tenant unknown fails closed", "    match: {requester: {tenants: ['" + tenantUs + "']}}\n", nil, Leave, "requester tenant is unknown"},
		{"requester location", "    match: {requester: {locations: [westeurope]}}\n", nil, Approve, ""},
		{"connection name glob", "    match: {connection: {names: ['pls-web.*']}}\n", nil, Approve, ""},
		{"link identifier", "    match: {connection: {linkIdentifiers: [536870912]}}\n", nil, Approve, ""},
		{"link identifier mismatch", "    match: {connection: {linkIdentifiers: ['1', '2']}}\n", nil, Leave, `is not one of "1", "2"`},
		{"request message top-level (design shape)", "    match: {requestMessage: '^please approve$'}\n", nil, Approve, ""},
		{"request message anchored as written", "    match: {requestMessage: '^please approve$'}\n", func(f *Facts) { f.Connection.Description = "please approve now" }, Leave, "requestMessage: the request message (description) does not match /^please approve$/"},
		{"request message unanchored is a substring", "    match: {connection: {requestMessage: 'approve'}}\n", func(f *Facts) { f.Connection.Description = "please approve now" }, Approve, ""},
		{"description alias", "    match: {connection: {description: '(?i)^PLEASE'}}\n", nil, Approve, ""},
		{"regex on empty description", "    match: {requestMessage: '^$'}\n", func(f *Facts) { f.Connection.Description = "" }, Approve, ""},
		{"status any by default", "    match: {requestMessage: please}\n", func(f *Facts) { f.Connection.Status = "Approved" }, Approve, ""},
		{"status list", "    match: {status: [pending]}\n", nil, Approve, ""},
		{"status mismatch", "    match: {status: [Pending]}\n", func(f *Facts) { f.Connection.Status = "Rejected" }, Leave, `status: the connection status is not "Pending"`},
		{"verifiedBy true", "    match: {verifiedBy: webPubSub}\n", func(f *Facts) { f.Verified = map[string]bool{"webPubSub": true} }, Approve, ""},
		{"verifiedBy missing", "    match: {verifiedBy: webpubsub}\n", nil, Leave, "verifiedBy: no configured Web PubSub resource"},
		{"verifiedBy false", "    match: {verifiedBy: [webPubSub]}\n", func(f *Facts) { f.Verified = map[string]bool{"webPubSub": false} }, Leave, "verifiedBy"},
		{"first failing matcher is named", "    match:\n      privateLinkService: {tags: {plsgate: enabled}, names: [nope]}\n      requester: {subscriptions: ['" + subPLS + "']}\n", nil, Leave, "privateLinkService.names"},
		{"when true", "    when: 'connection.description.startsWith(\"please\") && pls.name == \"pls-web\"'\n", nil, Approve, "when"},
		{"when sees derived requester", "    when: 'requester.subscriptionId == \"" + subCust + "\" && requester.resourceGroup == \"Net-RG\"'\n", nil, Approve, ""},
		{"when false", "    when: 'pls.location == \"eastus\"'\n", nil, Leave, `when: false: pls.location == "eastus"`},
		{"when uses now", "    when: 'now.getFullYear() == 2025'\n", nil, Approve, ""},
		{"when error does not match", "    when: 'pls.tags[\"missing\"] == \"x\"'\n", nil, Leave, "when: CEL evaluation failed, so the rule does not match: no such key: missing"},
		{"when cost limit", "    when: 'pls.fqdns.all(a, pls.fqdns.all(b, pls.fqdns.all(c, a + b + c != \"\")))'\n", func(f *Facts) {
			f.PLS.Fqdns = make([]string, 100)
			for i := range f.PLS.Fqdns {
				f.PLS.Fqdns[i] = "x.example.com"
			}
		}, Leave, "cost limit exceeded"},
		{"when after matchers", "    match: {status: [Approved]}\n    when: 'pls.tags[\"missing\"] == \"x\"'\n", nil, Leave, "status:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := mustParse(t, oneRule(tt.rule))
			f := baseFacts()
			if tt.facts != nil {
				tt.facts(&f)
			}
			d := p.Evaluate(f)
			if d.Action != tt.want {
				t.Fatalf("action = %s, want %s; trace %+v", d.Action, tt.want, d.Trace)
			}
			if len(d.Trace) != 1 || d.Trace[0].Rule != "r" || d.Trace[0].Matched != (tt.want == Approve) {
				t.Fatalf("trace = %+v", d.Trace)
			}
			if !strings.Contains(d.Trace[0].Reason, tt.reason) {
				t.Errorf("trace reason = %q, want it to contain %q", d.Trace[0].Reason, tt.reason)
			}
		})
	}
}

func TestEvaluateOrderDefaultAndMessage(t *testing.T) {
	p := mustParse(t, `version: 1
default: reject
rules:
  - name: other-tenant
    match: {requester: {tenants: ["00000000-0000-0000-0000-000000000001"]}}
    action: reject
  - name: webpubsub
    match:
      privateLinkService: {tags: {plsgate: enabled}}
      requestMessage: "^please approve$"
      verifiedBy: webPubSub
    action: approve
    message: "approved by {rule}: {connection} on {pls} {not-a-placeholder} {}"
  - name: hold
    match: {privateLinkService: {tags: {plsgate: enabled}}}
    action: leave
`)
	tests := []struct {
		name    string
		facts   func(*Facts)
		action  Action
		rule    string
		reason  string
		message string
		trace   []bool
	}{
		{"first match wins", func(f *Facts) { f.Verified = map[string]bool{VerifiedWebPubSub: true} }, Approve, "webpubsub",
			`Rule "webpubsub" matched, so the connection is approved.`,
			"approved by webpubsub: pls-web.1 on pls-web {not-a-placeholder} {}", []bool{false, true}},
		{"earlier rule wins", func(f *Facts) {
			f.Requester.TenantID = "00000000-0000-0000-0000-000000000001"
			f.Verified = map[string]bool{VerifiedWebPubSub: true}
		}, Reject, "other-tenant", `Rule "other-tenant" matched, so the connection is rejected.`, "", []bool{true}},
		{"leave rule", nil, Leave, "hold", `Rule "hold" matched, so plsgate does not approve it and leaves it as it is (a Pending connection stays Pending).`, "", []bool{false, false, true}},
		{"default", func(f *Facts) { f.PLS.Tags = nil }, Reject, "",
			"No rule matched (3 tried), so the default applies: the connection is rejected.", "", []bool{false, false, false}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := baseFacts()
			if tt.facts != nil {
				tt.facts(&f)
			}
			d := p.Evaluate(f)
			if d.Action != tt.action || d.Rule != tt.rule || d.Reason != tt.reason || d.Message != tt.message {
				t.Errorf("got {%s %q %q %q}, want {%s %q %q %q}", d.Action, d.Rule, d.Reason, d.Message, tt.action, tt.rule, tt.reason, tt.message)
			}
			var got []bool
			for _, tr := range d.Trace {
				got = append(got, tr.Matched)
				if tr.Reason == "" {
					t.Errorf("empty trace reason for %s", tr.Rule)
				}
			}
			if len(got) != len(tt.trace) {
				t.Fatalf("trace = %+v, want matched %v", d.Trace, tt.trace)
			}
			for i := range got {
				if got[i] != tt.trace[i] {
					t.Fatalf("trace = %+v, want matched %v", d.Trace, tt.trace)
				}
			}
		})
	}
}

func TestDefaultIsLeave(t *testing.T) {
	p := mustParse(t, "version: 1\nrules: []\n")
	d := p.Evaluate(baseFacts())
	if d.Action != Leave || d.Rule != "" || len(d.Trace) != 0 {
		t.Fatalf("got %+v", d)
	}
	if len(p.Warnings()) != 1 || !strings.Contains(p.Warnings()[0], "no rules") {
		t.Errorf("warnings = %q", p.Warnings())
	}
}

func TestVerifications(t *testing.T) {
	p := mustParse(t, oneRule("    match: {verifiedBy: WebPubSub}\n"))
	if got := p.Verifications(); len(got) != 1 || got[0] != "webPubSub" {
		t.Errorf("Verifications = %q", got)
	}
	if got := mustParse(t, oneRule("")).Verifications(); len(got) != 0 {
		t.Errorf("Verifications = %q, want none", got)
	}
}

func TestSummary(t *testing.T) {
	p := mustParse(t, oneRule("    match: {privateLinkService: {tags: {plsgate: enabled}}, requestMessage: '^x$'}\n    when: 'true'\n    message: 'hi {rule}'\n"))
	s := p.Summary()
	if s.Source != "test.yaml" || s.Version != 1 || s.Default != Leave || len(s.Rules) != 1 {
		t.Fatalf("summary = %+v", s)
	}
	r := s.Rules[0]
	want := []string{"privateLinkService.tags: plsgate=enabled", "requestMessage: /^x$/"}
	if r.Name != "r" || r.Line != 3 || r.Action != Approve || r.When != "true" || r.Message != "hi {rule}" || strings.Join(r.Match, "|") != strings.Join(want, "|") {
		t.Errorf("rule summary = %+v", r)
	}
}

func TestEvaluateConcurrent(t *testing.T) {
	p := mustParse(t, oneRule("    match: {privateLinkService: {tags: {plsgate: enabled}}}\n    when: 'connection.description.contains(\"approve\")'\n"))
	done := make(chan Action)
	for range 8 {
		go func() {
			var a Action
			for range 100 {
				a = p.Evaluate(baseFacts()).Action
			}
			done <- a
		}()
	}
	for range 8 {
		if a := <-done; a != Approve {
			t.Errorf("action = %s", a)
		}
	}
}

// Shared matchers are memoised per evaluation: a memoised success must not leak into
// another evaluation, and a failure is still explained in every rule that has it.
func TestMemoisedMatchers(t *testing.T) {
	p := mustParse(t, `version: 1
rules:
  - name: a
    match: {privateLinkService: {tags: {plsgate: enabled}}, requester: {subscriptions: ["`+subPLS+`"]}}
    action: reject
  - name: b
    match: {privateLinkService: {tags: {PLSGATE: enabled}}, requestMessage: "^please"}
    action: approve
`)
	if p.rules[0].matchers[0].memo != p.rules[1].matchers[0].memo || p.rules[0].matchers[0].memo < 0 {
		t.Fatalf("tags matchers not shared: %d %d", p.rules[0].matchers[0].memo, p.rules[1].matchers[0].memo)
	}
	if d := p.Evaluate(baseFacts()); d.Rule != "b" {
		t.Fatalf("decision %+v", d)
	}
	f := baseFacts()
	f.PLS.Tags = nil
	d := p.Evaluate(f)
	if d.Action != Leave || d.Trace[0].Reason != `privateLinkService.tags: the PLS has no tag "plsgate"` ||
		d.Trace[1].Reason != `privateLinkService.tags: the PLS has no tag "PLSGATE"` {
		t.Fatalf("decision %+v", d)
	}
}

// More distinct matchers than memo slots still evaluate correctly.
func TestManyMatchers(t *testing.T) {
	var b strings.Builder
	b.WriteString("version: 1\nrules:\n")
	for i := range memoSlots + 50 {
		fmt.Fprintf(&b, "  - name: r%d\n    match: {connection: {names: ['pls-web.%d']}}\n    action: approve\n", i, i)
	}
	p := mustParse(t, b.String())
	if got := p.rules[len(p.rules)-1].matchers[0].memo; got != -1 {
		t.Errorf("last memo slot = %d, want -1", got)
	}
	f := baseFacts()
	f.Connection.Name = fmt.Sprintf("PLS-web.%d", memoSlots+40)
	if d := p.Evaluate(f); d.Rule != fmt.Sprintf("r%d", memoSlots+40) {
		t.Errorf("rule = %q", d.Rule)
	}
}

func TestNeedsVerification(t *testing.T) {
	p, err := Parse("p.yaml", []byte(`
version: 1
rules:
  - name: partner
    match: { requestMessage: "^partner:" }
    action: approve
  - name: wps
    match: { requestMessage: "^please approve$", verifiedBy: webPubSub }
    action: approve
  - name: rest
    action: leave
`))
	if err != nil {
		t.Fatal(err)
	}
	for msg, want := range map[string]bool{"partner: x": false, "please approve": true, "hello": false} {
		f := Facts{Connection: Connection{Description: msg}}
		if got := p.NeedsVerification(f, VerifiedWebPubSub); got != want {
			t.Errorf("%q: NeedsVerification = %v, want %v", msg, got, want)
		}
	}
}
