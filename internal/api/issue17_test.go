package api

import (
	"bytes"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/plsgate/plsgate/internal/reconcile"
	"github.com/plsgate/plsgate/internal/store"
)

// Issue 17.3, 17.4 and 17.7 at the API: scope, not-found, revocation,
// overrides apart from drift, readable decisions.

const otherSub = "99999999-9999-4999-8999-999999999999"

// Every route that takes a PLS or connection ID refuses one outside the scope
// with 403 NotInScope, before asking the reconciler anything.
func TestRoutesRefuseIDsOutsideTheScope(t *testing.T) {
	outside := strings.Replace(plsID, sub, otherSub, 1)
	outsideConn := outside + "/privateEndpointConnections/" + connName
	body := func(id string, force bool) string {
		return `{"connectionId": ` + jsonString(id) + `, "reason": "r", "force": ` + map[bool]string{true: "true", false: "false"}[force] + `}`
	}
	routes := func(pls, conn string) map[string]req {
		return map[string]req{
			"approve":        post("/api/v1/connections/approve", body(conn, false), alice(t)...),
			"approve forced": post("/api/v1/connections/approve", body(conn, true), alice(t)...),
			"reject forced":  post("/api/v1/connections/reject", body(conn, true), alice(t)...),
			"reconcile":      post("/api/v1/reconcile", `{"privateLinkServiceId": `+jsonString(pls)+`}`, alice(t)...),
			"evaluate":       post("/api/v1/evaluate", `{"connectionId": `+jsonString(conn)+`}`),
		}
	}
	ta := newTestAPI(t, easyAuth(t))
	for name, r := range routes(outside, outsideConn) {
		t.Run(name, func(t *testing.T) {
			e := wantError(t, ta.do(t, r), 403, CodeNotInScope)
			if !strings.Contains(e.Error.Message, "not in scope") {
				t.Errorf("message %q", e.Error.Message)
			}
		})
	}
	if len(ta.dec.appliedRequests()) != 0 || len(ta.dec.reconciled) != 0 || len(ta.dec.evaluated) != 0 {
		t.Fatalf("the reconciler was asked about IDs outside the scope: %v %v %v", ta.dec.appliedRequests(), ta.dec.reconciled, ta.dec.evaluated)
	}
	// The caller is identified first: no principal is 401, not a hint about the scope.
	wantError(t, ta.do(t, post("/api/v1/reconcile", `{"privateLinkServiceId": `+jsonString(outside)+`}`)), 401, CodeUnauthenticated)

	// SCOPE_PLS_IDS alone: that PLS is in scope (any casing), its neighbour is not.
	ta = newTestAPI(t, func(o *Options) {
		easyAuth(t)(o)
		o.Scope = reconcile.Scope{PLSIDs: []string{strings.ToUpper(plsID)}}
	})
	for name, r := range routes(plsID, connID) {
		if rec := ta.do(t, r); rec.Code != 200 {
			t.Errorf("%s in scope: %d %s", name, rec.Code, rec.Body.String())
		}
	}
	neighbour := strings.Replace(plsID, "contoso-pls", "other-pls", 1)
	for _, r := range routes(neighbour, neighbour+"/privateEndpointConnections/x") {
		wantError(t, ta.do(t, r), 403, CodeNotInScope)
	}
	// No scope configured: plsgate manages every PLS it can read.
	ta = newTestAPI(t, func(o *Options) { easyAuth(t)(o); o.Scope = reconcile.Scope{} })
	if rec := ta.do(t, routes(outside, outsideConn)["reconcile"]); rec.Code != 200 {
		t.Errorf("no scope: %d %s", rec.Code, rec.Body.String())
	}
}

// A PLS that ARM does not know and plsgate never recorded is 404; one that
// disappeared lists its connections as removed (the real reconciler).
func TestReconcileNotFoundAndRemoved(t *testing.T) {
	ra := newRealAPI(t)
	typo := strings.Replace(plsID, "contoso-pls", "typo-pls", 1)
	e := wantError(t, ra.do(t, post("/api/v1/reconcile", `{"privateLinkServiceId": `+jsonString(typo)+`}`)), 404, CodeNotFound)
	if !strings.Contains(e.Error.Message, "not found") || !strings.Contains(e.Error.Message, "no record") {
		t.Errorf("404 message %q", e.Error.Message)
	}
	decodeBody[reconcileResponse](t, ra.do(t, post("/api/v1/reconcile", `{"privateLinkServiceId": `+jsonString(plsID)+`}`)), 200)
	ra.arm.Remove(plsID)
	for i := range 2 {
		rr := decodeBody[reconcileResponse](t, ra.do(t, post("/api/v1/reconcile", `{"privateLinkServiceId": `+jsonString(plsID)+`}`)), 200)
		if !rr.Complete || len(rr.Outcomes) != 1 || rr.Outcomes[0].Result != "removed" || rr.Outcomes[0].To != "Removed" || rr.Outcomes[0].Connection != connName ||
			!strings.Contains(rr.Outcomes[0].Reason, "no longer exists") {
			t.Fatalf("ask %d: %+v", i, rr)
		}
	}
}

// A forced approval is an override (category, stored who and why); reject
// without force on an Approved connection says how to revoke; with force it
// revokes.
func TestOverrideAndRevokeByAPI(t *testing.T) {
	ra := newRealAPI(t)
	ok := decodeBody[decisionResponse](t, ra.do(t, post("/api/v1/connections/approve", approveBody("CAB-42", true))), 200)
	if ok.Result != "approved" || ok.Category != "override" || ok.Reason != "CAB-42 (forced over policy: leave by default)" {
		t.Fatalf("forced approval: %+v", ok)
	}
	rows := decodeBody[connectionsResponse](t, ra.do(t, get("/api/v1/connections")), 200)
	if o := rows.Items[0].Override; o == nil || o.Actor != "principal:"+aliceUPN || o.Reason != "CAB-42" || o.Policy != "leave by default" || o.At.IsZero() || rows.Items[0].Drift != "" {
		t.Fatalf("stored override: %+v", rows.Items[0])
	}
	e := wantError(t, ra.do(t, post("/api/v1/connections/reject", approveBody("offboarded", false))), 409, CodeNotPending)
	if e.Error.Status != "Approved" || !strings.Contains(e.Error.Message, "set force to revoke") {
		t.Errorf("409: %+v", e.Error)
	}
	rev := decodeBody[decisionResponse](t, ra.do(t, post("/api/v1/connections/reject", approveBody("offboarded", true))), 200)
	if rev.Result != "rejected" || rev.From != "Approved" || rev.To != "Rejected" || rev.Category != "revoked" || ra.arm.Status(plsID, connName) != reconcile.StatusRejected {
		t.Fatalf("revoke: %+v", rev)
	}
	rows = decodeBody[connectionsResponse](t, ra.do(t, get("/api/v1/connections")), 200)
	if rows.Items[0].Override != nil || rows.Items[0].Status != "Rejected" {
		t.Errorf("after revocation: %+v", rows.Items[0])
	}
}

// seedFindings stores an override, a drift of each kind and a connection the
// policy leaves with the default (lastDecision marker "leave:").
func seedFindings(s *fakeStore) {
	at := func(min int) time.Time { return testNow.Add(time.Duration(-min) * time.Minute) }
	s.seed([]store.Connection{
		{PLSID: plsID, Name: "forced", Status: "Approved", LastDecision: "approve", LastActor: "principal:" + aliceUPN,
			OverrideActor: "principal:" + aliceUPN, OverrideReason: "CAB-42: partner onboarding", OverridePolicy: "leave by default", OverrideAt: at(20), UpdatedAt: at(20)},
		{PLSID: plsID, Name: "portal", Status: "Approved", LastDecision: "leave:", LastActor: "observed", Drift: "leave:", UpdatedAt: at(10)},
		{PLSID: plsID, Name: "rule-old", Status: "Approved", LastDecision: "approve", LastRule: "customers", LastActor: "rule:customers", Drift: "reject:spam", UpdatedAt: at(5)},
		{PLSID: plsID, Name: "waiting", Status: "Pending", LastDecision: "leave:", LastActor: "observed", UpdatedAt: at(3)},
		// An override's fields on a connection that left Approved are no override.
		{PLSID: plsID, Name: "revoked", Status: "Rejected", LastDecision: "reject", LastActor: "principal:bob", OverrideActor: "principal:" + aliceUPN, UpdatedAt: at(2)},
	}, nil)
}

// The wire form of overrides and drift (golden): lastDecision in words, drift
// as a sentence with its category, the override with who and why.
func TestConnectionsFindingsGolden(t *testing.T) {
	ta := newTestAPI(t, nil)
	seedFindings(ta.store)
	rec := ta.do(t, get("/api/v1/connections?pls="+url.QueryEscape(plsID)))
	got := rec.Body.Bytes()
	if rec.Code != 200 || bytes.Contains(got, []byte(`"leave:"`)) {
		t.Fatalf("%d: %s", rec.Code, got)
	}
	path := filepath.Join("testdata", "connections-findings.json")
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("connections-findings.json changed:\n got: %s\nwant: %s", got, want)
	}
}

// The status page lists overrides apart from drift, says each drift finding
// as a sentence, and never shows a raw decision marker.
func TestStatusPageOverridesApartFromDrift(t *testing.T) {
	ta := newTestAPI(t, nil)
	seedFindings(ta.store)
	rec := ta.do(t, get("/api/v1/status"))
	if rec.Code != http.StatusOK {
		t.Fatalf("%d %s", rec.Code, rec.Body.String())
	}
	page := rec.Body.String()
	section := func(id string) string {
		i := strings.Index(page, `id="`+id+`"`)
		if i < 0 {
			t.Fatalf("no section %s", id)
		}
		j := strings.Index(page[i:], "</table>")
		if j < 0 {
			t.Fatalf("section %s is not a table", id)
		}
		return page[i : i+j]
	}
	overrides, drift := section("overrides"), section("drift")
	for _, want := range []string{"forced", "principal:" + aliceUPN, "CAB-42: partner onboarding", "leave by default", "20m ago"} {
		if !strings.Contains(overrides, want) {
			t.Errorf("overrides section lacks %q:\n%s", want, overrides)
		}
	}
	if strings.Contains(overrides, "revoked") || strings.Contains(drift, ">forced<") {
		t.Errorf("override listed where it does not belong:\n%s\n%s", overrides, drift)
	}
	for _, want := range []string{
		"Approved outside plsgate, but the policy would leave it Pending (the default).",
		"Approved by rule:customers, but the policy has changed and would now reject it (rule spam).",
	} {
		if !strings.Contains(drift, want) {
			t.Errorf("drift section lacks %q:\n%s", want, drift)
		}
	}
	if strings.Contains(page, "leave:") {
		t.Error("the page shows a raw decision marker")
	}
	if !strings.Contains(page, "approve (override)") {
		t.Error("the connection table does not mark the override")
	}
}
