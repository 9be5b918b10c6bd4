package api_test

// End-to-end tests of the API: requests go through the Functions host emulator (function key,
// route matching, the real HTTP-trigger payload and http output binding) to the real handler,
// the app with its reconciler, the ARM emulator and Table storage on Azurite.

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/plsgate/plsgate/internal/armemu"
	"github.com/plsgate/plsgate/internal/testenv"
	"github.com/plsgate/plsgate/internal/testutil/azurite"
)

func TestMain(m *testing.M) { azurite.Main(m) }

const (
	consumerSub = "11111111-1111-1111-1111-111111111111"
	aliceOID    = "6f1d1f4e-6a57-4d2e-9b8c-0d1d2f3a4b5c"
	aliceUPN    = "alice@contoso.com"
	opsGroup    = "9e0c4f6a-1111-2222-3333-444455556666"
	updateOp    = "PrivateLinkServices_UpdatePrivateEndpointConnection"
)

// Verified Web PubSub requests are held for an operator's review (action leave): only a forced
// manual approval lets them through. partner: connections are approved by the policy.
const e2ePolicy = `
version: 1
default: leave
rules:
  - name: webpubsub-review
    match:
      requestMessage: "^please approve$"
      verifiedBy: webPubSub
    action: leave
  - name: partner
    match:
      requester: { subscriptions: ["` + consumerSub + `"] }
      requestMessage: "^partner:"
    action: approve
`

// startEnv runs plsgate with AUTH_MODE=easyauth: alice is an approver by object ID, someone
// by UPN, and the ops group may force.
func startEnv(t *testing.T) *testenv.Env {
	t.Helper()
	return startEnvWith(t, map[string]string{
		"AUTH_MODE":       "easyauth",
		"APPROVERS":       "oid:" + aliceOID + ",upn:someone@contoso.com",
		"APPROVERS_FORCE": "group:" + opsGroup,
	})
}

func startEnvWith(t *testing.T, settings map[string]string) *testenv.Env {
	t.Helper()
	s := map[string]string{"SCOPE_SUBSCRIPTIONS": testenv.Subscription}
	for k, v := range settings {
		s[k] = v
	}
	return testenv.Start(t, testenv.Options{Policy: e2ePolicy, NoEvents: true, Settings: s})
}

// principal builds the Easy Auth headers of an Entra ID user.
func principal(oid, upn string, groups ...string) map[string]string {
	type claim struct {
		Typ string `json:"typ"`
		Val string `json:"val"`
	}
	claims := []claim{{"http://schemas.microsoft.com/identity/claims/objectidentifier", oid}, {"http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn", upn}}
	for _, g := range groups {
		claims = append(claims, claim{"groups", g})
	}
	b, _ := json.Marshal(map[string]any{"auth_typ": "aad", "claims": claims,
		"name_typ": "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress", "role_typ": "http://schemas.microsoft.com/ws/2008/06/identity/claims/role"})
	return map[string]string{
		"X-MS-CLIENT-PRINCIPAL":      base64.StdEncoding.EncodeToString(b),
		"X-MS-CLIENT-PRINCIPAL-ID":   oid,
		"X-MS-CLIENT-PRINCIPAL-NAME": upn,
	}
}

func alice() map[string]string { return principal(aliceOID, aliceUPN, opsGroup) }

// rawAPI sends a body as is (malformed JSON, oversized bodies) through the host emulator.
func rawAPI(t *testing.T, env *testenv.Env, method, path, body string, headers map[string]string) (int, http.Header, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, env.HostURL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("x-functions-key", testenv.FunctionKey)
	req.Header.Set("Content-Type", "application/json")
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, b
}

type apiError struct {
	Error struct {
		Code, Message, Status string
		Decision              *struct{ Action string }
	}
}

func wantStatus(t *testing.T, status int, body []byte, want int, code string) apiError {
	t.Helper()
	var e apiError
	if status != want {
		t.Fatalf("status %d, want %d: %s", status, want, body)
	}
	if code != "" {
		if err := json.Unmarshal(body, &e); err != nil || e.Error.Code != code {
			t.Fatalf("error %q (%v), want %q: %s", e.Error.Code, err, code, body)
		}
	}
	return e
}

func decode[T any](t *testing.T, body []byte) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatalf("decode %T: %v: %s", v, err, body)
	}
	return v
}

type transition struct {
	Subject, From, To, Action, Phase, Actor, Rule, Reason, Trigger, InvocationID string
	At                                                                           time.Time
}

type historyBody struct{ Items []transition }

func steps(items []transition) string {
	var out []string
	for i := len(items) - 1; i >= 0; i-- { // oldest first
		out = append(out, fmt.Sprintf("%s:%s>%s:%s:%s", items[i].Subject, items[i].From, items[i].To, items[i].Phase, items[i].Actor))
	}
	return strings.Join(out, " | ")
}

// TestE2EApprovalByAPI: an operator approves a Web PubSub shared private endpoint the policy
// leaves Pending. Only an allowed principal may, force needs APPROVERS_FORCE, the approval is
// recorded with the principal and the reason, and the history shows the Web PubSub side.
func TestE2EApprovalByAPI(t *testing.T) {
	env := startEnv(t)
	if err := env.ARM.CreateSharedPrivateLinkResource(testenv.WebPubSubID, "pls-pe", armemu.SharedPrivateLinkResource{
		PrivateLinkResourceID: testenv.PLSID, RequestMessage: "please approve", Fqdns: []string{"pls.contoso.com"},
	}); err != nil {
		t.Fatal(err)
	}
	p, _ := env.ARM.PLS(testenv.PLSID)
	if len(p.Connections) != 1 {
		t.Fatalf("connections: %+v", p.Connections)
	}
	conn := p.Connections[0]
	connID := testenv.PLSID + "/privateEndpointConnections/" + conn.Name
	approve := map[string]any{"connectionId": connID, "reason": "CAB-42: Web PubSub shared endpoint for chat"}

	// What would the policy do? Hold it for review (verified by Web PubSub), with the trace.
	st, body := env.API(t, "POST", "/api/v1/evaluate", map[string]any{"connectionId": connID}, nil)
	ev := decode[struct {
		Source   string
		Decision struct {
			Action, Rule string
			Trace        []struct{ Rule string }
		}
		Facts struct{ Verified map[string]bool }
	}](t, body)
	if st != 200 || ev.Source != "arm" || ev.Decision.Action != "leave" || ev.Decision.Rule != "webpubsub-review" ||
		len(ev.Decision.Trace) == 0 || !ev.Facts.Verified["webPubSub"] {
		t.Fatalf("evaluate %d: %s", st, body)
	}
	// A question about pasted ARM JSON (nothing read, nothing written).
	pasted := map[string]any{"connection": map[string]any{"id": connID, "name": conn.Name, "properties": map[string]any{
		"privateLinkServiceConnectionState": map[string]any{"status": "Pending", "description": "partner: acme"},
		"privateEndpoint":                   map[string]any{"id": "/subscriptions/" + consumerSub + "/resourceGroups/x/providers/Microsoft.Network/privateEndpoints/pe"},
	}}}
	st, body = env.API(t, "POST", "/api/v1/evaluate", pasted, nil)
	if st != 200 || !strings.Contains(string(body), `"rule": "partner"`) || !strings.Contains(string(body), `"source": "request"`) {
		t.Fatalf("evaluate pasted %d: %s", st, body)
	}

	// Who may approve: nobody without a principal, not mallory, alice only with force.
	st, body = env.API(t, "POST", "/api/v1/connections/approve", approve, nil)
	wantStatus(t, st, body, 401, "Unauthenticated")
	st, body = env.API(t, "POST", "/api/v1/connections/approve", approve, principal("0bad0bad-0000-0000-0000-000000000000", "mallory@contoso.com"))
	wantStatus(t, st, body, 403, "Forbidden")
	st, body = env.API(t, "POST", "/api/v1/connections/approve", approve, alice())
	if e := wantStatus(t, st, body, 422, "PolicyDecidesOtherwise"); e.Error.Decision == nil || e.Error.Decision.Action != "leave" {
		t.Fatalf("422 without the decision: %s", body)
	}
	st, body = env.API(t, "POST", "/api/v1/connections/approve", map[string]any{"connectionId": connID, "reason": "r", "force": true},
		principal("50e0e000-0000-4000-8000-000000000000", "someone@contoso.com"))
	wantStatus(t, st, body, 403, "Forbidden") // an approver, but not allowed to force
	if n := env.ARM.Counters()[updateOp]; n != 0 {
		t.Fatalf("refused requests made %d ARM writes", n)
	}

	approve["force"] = true
	st, body = env.API(t, "POST", "/api/v1/connections/approve", approve, alice())
	got := decode[struct{ Result, To, Actor string }](t, body)
	if st != 200 || got.Result != "approved" || got.To != "Approved" || got.Actor != "principal:"+aliceUPN {
		t.Fatalf("approve %d: %s", st, body)
	}
	if c, _ := env.ARM.Connection(testenv.PLSID, conn.Name); c.Status != "Approved" || env.ARM.Counters()[updateOp] != 1 {
		t.Fatalf("ARM: %s after %d writes", c.Status, env.ARM.Counters()[updateOp])
	}

	// History, newest first: the approval with principal and reason, then Web PubSub follows.
	st, body = env.API(t, "GET", "/api/v1/connections/history?connectionId="+url.QueryEscape(connID), nil, nil)
	h := decode[historyBody](t, body)
	want := "connection:>Pending:observed:observed | connection:Pending>Approved:done:principal:" + aliceUPN +
		" | sharedPrivateLinkResource:Pending>Approved:observed:observed"
	if st != 200 || steps(h.Items) != want {
		t.Fatalf("history %d\n got %s\nwant %s", st, steps(h.Items), want)
	}
	done := h.Items[1]
	if !strings.HasPrefix(done.Reason, "CAB-42: Web PubSub shared endpoint for chat") || done.Trigger != "http" || done.Action != "approve" || done.InvocationID == "" {
		t.Fatalf("approval row: %+v", done)
	}
	for i := 1; i < len(h.Items); i++ {
		if h.Items[i].At.After(h.Items[i-1].At) {
			t.Fatalf("history not newest first: %+v", h.Items)
		}
	}

	// Deciding again: 409 with the current status (with force, a reject would revoke it).
	st, body = env.API(t, "POST", "/api/v1/connections/reject", map[string]any{"connectionId": connID, "reason": "again"}, alice())
	if e := wantStatus(t, st, body, 409, "NotPending"); e.Error.Status != "Approved" {
		t.Fatalf("409 status %q", e.Error.Status)
	}

	// The stored state.
	type listBody struct {
		Items []struct{ Name, Status, LastActor string }
	}
	st, body = env.API(t, "GET", "/api/v1/connections?status=Approved&pls="+url.QueryEscape(testenv.PLSID), nil, nil)
	if l := decode[listBody](t, body); st != 200 || len(l.Items) != 1 || l.Items[0].Name != conn.Name || l.Items[0].LastActor != "principal:"+aliceUPN {
		t.Fatalf("list %d: %s", st, body)
	}
	st, body = env.API(t, "GET", "/api/v1/connections?status=Pending", nil, nil)
	if l := decode[listBody](t, body); st != 200 || len(l.Items) != 0 {
		t.Fatalf("pending list %d: %s", st, body)
	}

	// The status page.
	st, hdr, page := rawAPI(t, env, "GET", "/api/v1/status", "", nil)
	if st != 200 || !strings.HasPrefix(hdr.Get("Content-Type"), "text/html") || !strings.Contains(string(page), conn.Name) ||
		!strings.Contains(string(page), "principal:"+aliceUPN) || !strings.Contains(string(page), "CAB-42") {
		t.Fatalf("status page %d %v: %.400s", st, hdr, page)
	}
}

// TestE2EErrors: errors travel through the host as JSON with the right status.
func TestE2EErrors(t *testing.T) {
	env := startEnv(t)
	connID := testenv.PLSID + "/privateEndpointConnections/nope"
	for _, tc := range []struct {
		name, method, path, body string
		status                   int
		code                     string
	}{
		{"malformed JSON", "POST", "/api/v1/connections/approve", `{"connectionId": `, 400, "InvalidJSON"},
		{"unknown field", "POST", "/api/v1/connections/approve", `{"connectionId": "x", "reasn": "y"}`, 400, "UnknownField"},
		{"bad resource ID", "POST", "/api/v1/reconcile", `{"privateLinkServiceId": "/subscriptions/x"}`, 400, "InvalidResourceId"},
		{"missing reason", "POST", "/api/v1/connections/reject", `{"connectionId": "` + connID + `"}`, 400, "BadRequest"},
		{"unknown route", "GET", "/api/v1/nothing", ``, 404, "NotFound"},
		{"wrong method", "GET", "/api/v1/connections/approve", ``, 405, "MethodNotAllowed"},
		{"not found", "POST", "/api/v1/evaluate", `{"connectionId": "` + connID + `"}`, 404, "NotFound"},
		{"too large", "POST", "/api/v1/reconcile", `{"privateLinkServiceId": "` + strings.Repeat("a", 70<<10) + `"}`, 413, "RequestTooLarge"},
		{"bad limit", "GET", "/api/v1/connections?limit=0", ``, 400, "BadRequest"},
		{"unknown run", "GET", "/api/v1/reconcile/0000000000000000000-nope", ``, 404, "NotFound"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, hdr, body := rawAPI(t, env, tc.method, tc.path, tc.body, alice())
			wantStatus(t, st, body, tc.status, tc.code)
			if !strings.HasPrefix(hdr.Get("Content-Type"), "application/json") {
				t.Errorf("Content-Type %q", hdr.Get("Content-Type"))
			}
			if tc.status == 405 && hdr.Get("Allow") != "POST" {
				t.Errorf("Allow %q", hdr.Get("Allow"))
			}
		})
	}
	// With APPROVERS set, the caller is checked before the body is read.
	st, _, body := rawAPI(t, env, "POST", "/api/v1/connections/reject", `{"connectionId": `, nil)
	wantStatus(t, st, body, 401, "Unauthenticated")
	// Without the function key the host refuses before plsgate.
	req, _ := http.NewRequest("GET", env.HostURL+"/api/v1/status", nil)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 401 {
		t.Fatalf("no function key: %v %v", resp, err)
	}
}

// TestE2EReconcileByAPI: one PLS synchronously, then the whole scope in the background.
func TestE2EReconcileByAPI(t *testing.T) {
	env := startEnv(t)
	pe, err := env.ARM.CreatePrivateEndpoint(armemu.PrivateEndpoint{SubscriptionID: consumerSub, ResourceGroup: "cust", Name: "pe-partner", Location: "eastus",
		Links: []*armemu.PrivateEndpointLink{{Name: "pe-partner", Manual: true, PrivateLinkServiceID: testenv.PLSID, RequestMessage: "partner: acme"}}})
	if err != nil {
		t.Fatal(err)
	}
	st, body := env.API(t, "POST", "/api/v1/reconcile", map[string]any{"privateLinkServiceId": testenv.PLSID}, alice())
	r := decode[struct {
		Complete bool
		Outcomes []struct{ Connection, Result, Rule string }
	}](t, body)
	if st != 200 || !r.Complete || len(r.Outcomes) != 1 || r.Outcomes[0].Result != "approved" || r.Outcomes[0].Rule != "partner" ||
		r.Outcomes[0].Connection != pe.Links[0].ConnectionName {
		t.Fatalf("reconcile %d: %s", st, body)
	}

	st, body = env.API(t, "POST", "/api/v1/reconcile", map[string]any{}, alice())
	acc := decode[struct{ RunID, StatusURL string }](t, body)
	if st != 202 || acc.RunID == "" {
		t.Fatalf("scan %d: %s", st, body)
	}
	type runBody struct {
		Status         string
		Scanned, Total int
		FinishedAt     *time.Time
		HasErrors      bool
	}
	var run runBody
	deadline := time.Now().Add(60 * time.Second)
	for {
		st, body = env.API(t, "GET", acc.StatusURL, nil, nil)
		run = decode[runBody](t, body)
		if st != 200 {
			t.Fatalf("run %d: %s", st, body)
		}
		if run.Status != "running" || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if run.Status != "succeeded" || run.Scanned != 1 || run.FinishedAt == nil || run.HasErrors {
		t.Fatalf("scan result: %s", body)
	}
	// The run is in the runs table too (what the status page and later instances read).
	stored, err := env.App.Store.GetRun(t.Context(), acc.RunID)
	if err != nil || stored.Trigger != "http" || stored.Status != "succeeded" {
		t.Fatalf("stored run %+v, %v", stored, err)
	}
	st, _, page := rawAPI(t, env, "GET", "/api/v1/status", "", nil)
	if st != 200 || !strings.Contains(string(page), acc.RunID) {
		t.Fatalf("status page does not show run %s", acc.RunID)
	}
}

// TestE2EConcurrentApproveReject: approve and reject of one connection at once through the
// host → one wins, the other gets 409, one ARM write, a consistent history.
func TestE2EConcurrentApproveReject(t *testing.T) {
	env := startEnv(t)
	pe, err := env.ARM.CreatePrivateEndpoint(armemu.PrivateEndpoint{SubscriptionID: consumerSub, ResourceGroup: "cust", Name: "pe-x", Location: "eastus",
		Links: []*armemu.PrivateEndpointLink{{Name: "pe-x", Manual: true, PrivateLinkServiceID: testenv.PLSID, RequestMessage: "hello"}}})
	if err != nil {
		t.Fatal(err)
	}
	name := pe.Links[0].ConnectionName
	connID := testenv.PLSID + "/privateEndpointConnections/" + name
	type answer struct {
		action string
		status int
		body   []byte
	}
	answers := make(chan answer, 2)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for _, action := range []string{"approve", "reject"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			b, _ := json.Marshal(map[string]any{"connectionId": connID, "reason": action + " at once", "force": true})
			st, _, body := rawAPI(t, env, "POST", "/api/v1/connections/"+action, string(b), alice())
			answers <- answer{action, st, body}
		}()
	}
	close(start)
	wg.Wait()
	close(answers)
	ok := map[string]bool{}
	for a := range answers {
		switch a.status {
		case 200:
			ok[a.action] = true
		case 409:
			if !bytes.Contains(a.body, []byte(`"code": "InProgress"`)) && !bytes.Contains(a.body, []byte(`"code": "NotPending"`)) {
				t.Fatalf("409 body: %s", a.body)
			}
		default:
			t.Fatalf("%s: %d %s", a.action, a.status, a.body)
		}
	}
	// One decision wins; the only way both succeed is approve first, then the
	// forced reject revoking it (Approved → Rejected, issue 17.4): two explicit
	// requests, two writes, each recorded — never a write nobody asked for.
	c, _ := env.ARM.Connection(testenv.PLSID, name)
	writes := env.ARM.Counters()[updateOp]
	var wantSteps string
	switch {
	case ok["approve"] && ok["reject"]:
		if c.Status != "Rejected" || writes != 2 {
			t.Fatalf("approved then revoked: ARM %s after %d writes, want Rejected after 2", c.Status, writes)
		}
		wantSteps = "connection:>Pending:observed:observed | connection:Pending>Approved:done:principal:" + aliceUPN +
			" | connection:Approved>Rejected:done:principal:" + aliceUPN
	case ok["approve"] || ok["reject"]:
		want := map[bool]string{true: "Approved", false: "Rejected"}[ok["approve"]]
		if c.Status != want || writes != 1 {
			t.Fatalf("ARM: %s after %d writes, want %s after 1", c.Status, writes, want)
		}
		wantSteps = "connection:>Pending:observed:observed | connection:Pending>" + want + ":done:principal:" + aliceUPN
	default:
		t.Fatal("nobody won")
	}
	_, body := env.API(t, "GET", "/api/v1/connections/history?connectionId="+url.QueryEscape(connID), nil, nil)
	h := decode[historyBody](t, body)
	if got := steps(h.Items); got != wantSteps {
		t.Fatalf("history\n got %s\nwant %s", got, wantSteps)
	}
}
