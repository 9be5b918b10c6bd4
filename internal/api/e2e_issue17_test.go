package api_test

// Issue 17.3, 17.4 and 17.7 end to end: through the Functions host emulator to
// the real handler, reconciler, ARM emulator and Table storage on Azurite.

import (
	"net/url"
	"strings"
	"testing"

	"github.com/plsgate/plsgate/internal/armemu"
	"github.com/plsgate/plsgate/internal/store"
	"github.com/plsgate/plsgate/internal/testenv"
)

// A PLS that ARM does not know and plsgate never recorded answers 404; one
// that disappeared lists its connections as removed; every route that takes a
// PLS or connection ID answers 403 NotInScope for one outside the scope.
func TestE2ENotFoundRemovedAndScope(t *testing.T) {
	env := startEnv(t)
	typo := strings.Replace(testenv.PLSID, testenv.PLSName, "typo-pls", 1)
	st, body := env.API(t, "POST", "/api/v1/reconcile", map[string]any{"privateLinkServiceId": typo}, alice())
	if e := wantStatus(t, st, body, 404, "NotFound"); !strings.Contains(e.Error.Message, "not found") {
		t.Errorf("404 message: %s", body)
	}

	// plsgate recorded a connection of gone-pls before the PLS was deleted.
	gone := strings.Replace(testenv.PLSID, testenv.PLSName, "gone-pls", 1)
	if err := env.App.Store.PutConnection(t.Context(), &store.Connection{PLSID: gone, Name: "pe-old.1", ConnectionID: gone + "/privateEndpointConnections/pe-old.1",
		Status: "Approved", LastDecision: "approve", LastRule: "partner", LastActor: "rule:partner"}); err != nil {
		t.Fatal(err)
	}
	for i, from := range []string{"Approved", "Removed"} {
		st, body = env.API(t, "POST", "/api/v1/reconcile", map[string]any{"privateLinkServiceId": gone}, alice())
		r := decode[struct {
			Complete bool
			Outcomes []struct{ Connection, From, To, Result, Reason string }
		}](t, body)
		if st != 200 || !r.Complete || len(r.Outcomes) != 1 || r.Outcomes[0].Connection != "pe-old.1" || r.Outcomes[0].Result != "removed" ||
			r.Outcomes[0].From != from || r.Outcomes[0].To != "Removed" {
			t.Fatalf("ask %d: %d %s", i, st, body)
		}
	}

	outside := strings.Replace(testenv.PLSID, testenv.Subscription, "99999999-9999-4999-8999-999999999999", 1)
	outsideConn := outside + "/privateEndpointConnections/pe.1"
	env.ARM.ResetCounters()
	for _, tc := range []struct {
		path string
		body map[string]any
	}{
		{"/api/v1/connections/approve", map[string]any{"connectionId": outsideConn, "reason": "r"}},
		{"/api/v1/connections/approve", map[string]any{"connectionId": outsideConn, "reason": "r", "force": true}},
		{"/api/v1/connections/reject", map[string]any{"connectionId": outsideConn, "reason": "r", "force": true}},
		{"/api/v1/reconcile", map[string]any{"privateLinkServiceId": outside}},
		{"/api/v1/evaluate", map[string]any{"connectionId": outsideConn}},
	} {
		st, body := env.API(t, "POST", tc.path, tc.body, alice())
		if e := wantStatus(t, st, body, 403, "NotInScope"); !strings.Contains(e.Error.Message, "not in scope") {
			t.Errorf("%s: %s", tc.path, body)
		}
	}
	if n := env.ARMCalls(); n != 0 {
		t.Errorf("IDs outside the scope cost %d ARM calls", n)
	}
}

// A person's forced approval is an override, not drift: the status page and
// the connections list show who and why, the drift findings do not list it,
// and DRIFT_MODE=enforce keeps it while it rejects an approval made in the
// portal. Reject with force then revokes the override. Reasons read well.
func TestE2EOverrideIsNotDrift(t *testing.T) {
	env := startEnv(t)
	names := map[string]string{}
	for _, n := range []string{"pe-forced", "pe-portal"} {
		pe, err := env.ARM.CreatePrivateEndpoint(armemu.PrivateEndpoint{SubscriptionID: consumerSub, ResourceGroup: "cust", Name: n, Location: "eastus",
			Links: []*armemu.PrivateEndpointLink{{Name: n, Manual: true, PrivateLinkServiceID: testenv.PLSID, RequestMessage: "hello"}}})
		if err != nil {
			t.Fatal(err)
		}
		names[n] = pe.Links[0].ConnectionName
	}
	forced, portal := names["pe-forced"], names["pe-portal"]
	forcedID := testenv.PLSID + "/privateEndpointConnections/" + forced
	env.Tick(t) // both recorded Pending: no rule matches "hello"

	st, body := env.API(t, "POST", "/api/v1/connections/approve", map[string]any{"connectionId": forcedID, "reason": "CAB-42: partner onboarding", "force": true}, alice())
	got := decode[struct{ Result, Category, Reason string }](t, body)
	if st != 200 || got.Result != "approved" || got.Category != "override" || got.Reason != "CAB-42: partner onboarding (forced over policy: leave by default)" {
		t.Fatalf("forced approval %d: %s", st, body)
	}
	if err := env.ARM.SetConnectionStatus(testenv.PLSID, portal, "Approved", "approved in the portal"); err != nil {
		t.Fatal(err)
	}
	env.Tick(t) // the tick after the approval: the override stays an override

	// History: the forced approval's short reason, and no drift row for it.
	_, body = env.API(t, "GET", "/api/v1/connections/history?connectionId="+url.QueryEscape(forcedID), nil, nil)
	h := decode[historyBody](t, body)
	if s := steps(h.Items); s != "connection:>Pending:observed:observed | connection:Pending>Approved:done:principal:"+aliceUPN {
		t.Fatalf("history of the override: %s", s)
	}
	if r := h.Items[0].Reason; r != "CAB-42: partner onboarding (forced over policy: leave by default)" {
		t.Errorf("forced reason %q", r)
	}

	// The stored state: an override with who and why; the portal approval is drift, in words.
	_, body = env.API(t, "GET", "/api/v1/connections?pls="+url.QueryEscape(testenv.PLSID), nil, nil)
	if strings.Contains(string(body), `"leave:`) {
		t.Errorf("a raw decision marker on the API: %s", body)
	}
	type conn struct {
		Name, Status, LastDecision, Drift, DriftCategory string
		Override                                         *struct{ Actor, Reason, Policy string }
	}
	rows := map[string]conn{}
	for _, c := range decode[struct{ Items []conn }](t, body).Items {
		rows[c.Name] = c
	}
	if c := rows[forced]; c.Override == nil || c.Override.Actor != "principal:"+aliceUPN || c.Override.Reason != "CAB-42: partner onboarding" || c.Override.Policy != "leave by default" || c.Drift != "" {
		t.Errorf("override row: %+v", c)
	}
	if c := rows[portal]; c.Override != nil || c.DriftCategory != "approvedOutsidePlsgate" ||
		c.Drift != "Approved outside plsgate, but the policy would leave it Pending (the default)." || c.LastDecision != "leave" {
		t.Errorf("portal row: %+v", c)
	}

	// The status page: overrides apart from drift, drift as a sentence.
	st, _, page := rawAPI(t, env, "GET", "/api/v1/status", "", nil)
	p := string(page)
	overrides, drift := between(p, `id="overrides"`, "</table>"), between(p, `id="drift"`, "</table>")
	if st != 200 || !strings.Contains(overrides, forced) || !strings.Contains(overrides, "CAB-42: partner onboarding") || !strings.Contains(overrides, "principal:"+aliceUPN) ||
		strings.Contains(drift, forced) || !strings.Contains(drift, portal) ||
		!strings.Contains(drift, "Approved outside plsgate, but the policy would leave it Pending (the default).") || strings.Contains(p, "leave:") {
		t.Fatalf("status page %d:\noverrides: %s\ndrift: %s", st, overrides, drift)
	}

	// Enforce: the portal approval is rejected, the override is not.
	env.Restart(t, testenv.RestartOptions{Settings: map[string]string{"DRIFT_MODE": "enforce"}})
	env.Tick(t)
	if c, _ := env.ARM.Connection(testenv.PLSID, forced); c.Status != "Approved" {
		t.Fatalf("enforce rejected the override: %s", c.Status)
	}
	if c, _ := env.ARM.Connection(testenv.PLSID, portal); c.Status != "Rejected" {
		t.Fatalf("enforce left the portal approval: %s", c.Status)
	}

	// Revocation: without force 409 says how; with force Approved → Rejected, recorded.
	reject := map[string]any{"connectionId": forcedID, "reason": "partner offboarded"}
	st, body = env.API(t, "POST", "/api/v1/connections/reject", reject, alice())
	if e := wantStatus(t, st, body, 409, "NotPending"); e.Error.Status != "Approved" || !strings.Contains(e.Error.Message, "force") {
		t.Errorf("reject without force: %s", body)
	}
	reject["force"] = true
	st, body = env.API(t, "POST", "/api/v1/connections/reject", reject, alice())
	rev := decode[struct{ Result, From, To, Category string }](t, body)
	if st != 200 || rev.Result != "rejected" || rev.From != "Approved" || rev.To != "Rejected" || rev.Category != "revoked" {
		t.Fatalf("revoke %d: %s", st, body)
	}
	if c, _ := env.ARM.Connection(testenv.PLSID, forced); c.Status != "Rejected" {
		t.Fatalf("ARM after revocation: %s", c.Status)
	}
	_, body = env.API(t, "GET", "/api/v1/connections/history?connectionId="+url.QueryEscape(forcedID), nil, nil)
	h = decode[historyBody](t, body)
	if h.Items[0].From != "Approved" || h.Items[0].To != "Rejected" || h.Items[0].Phase != "done" || h.Items[0].Actor != "principal:"+aliceUPN ||
		!strings.HasPrefix(h.Items[0].Reason, "partner offboarded") {
		t.Errorf("revocation row: %+v", h.Items[0])
	}
	_, _, page = rawAPI(t, env, "GET", "/api/v1/status", "", nil)
	if strings.Contains(between(string(page), `id="overrides"`, "</p>"), forced) {
		t.Error("a revoked override is still listed")
	}
}

// between returns s from the first from up to the next to after it ("" when absent).
func between(s, from, to string) string {
	i := strings.Index(s, from)
	if i < 0 {
		return ""
	}
	j := strings.Index(s[i:], to)
	if j < 0 {
		return s[i:]
	}
	return s[i : i+j]
}
