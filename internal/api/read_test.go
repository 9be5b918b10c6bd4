package api

import (
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/plsgate/plsgate/internal/policy"
	"github.com/plsgate/plsgate/internal/reconcile"
	"github.com/plsgate/plsgate/internal/store"
)

func TestEvaluateByConnectionID(t *testing.T) {
	ta := newTestAPI(t, nil)
	ta.dec.evaluate = func(id string) (policy.Facts, policy.Decision, error) {
		if id != connID {
			return policy.Facts{}, policy.Decision{}, fmt.Errorf("connection: %w", reconcile.ErrNotFound)
		}
		return policy.Facts{Connection: policy.Connection{ID: id, Status: "Pending"}},
			policy.Decision{Action: policy.Approve, Rule: "customers", Reason: "rule customers matched", Trace: []policy.RuleTrace{{Rule: "customers", Matched: true, Reason: "all matchers matched"}}}, nil
	}
	got := decodeBody[evaluateResponse](t, ta.do(t, post("/api/v1/evaluate", `{"connectionId": `+jsonString(connID)+`}`)), 200)
	if got.Source != "arm" || got.Decision.Action != policy.Approve || len(got.Decision.Trace) != 1 || got.Facts.Connection.ID != connID {
		t.Errorf("answer = %+v", got)
	}
	if n := len(ta.dec.appliedRequests()); n != 0 {
		t.Error("evaluate applied something")
	}
	other := strings.Replace(connID, connName, "other", 1)
	wantError(t, ta.do(t, post("/api/v1/evaluate", `{"connectionId": `+jsonString(other)+`}`)), 404, CodeNotFound)
	ta.dec.evaluate = func(string) (policy.Facts, policy.Decision, error) {
		return policy.Facts{}, policy.Decision{}, fmt.Errorf("read: %w", httpErr(429))
	}
	wantError(t, ta.do(t, post("/api/v1/evaluate", `{"connectionId": `+jsonString(connID)+`}`)), 503, CodeUnavailable)
}

func TestEvaluatePastedJSON(t *testing.T) {
	ta := newTestAPI(t, nil)
	conn := func(desc, pe string) string {
		return fmt.Sprintf(`{"id": %s, "name": %q, "properties": {"privateLinkServiceConnectionState": {"status": "Pending", "description": %q}, "privateEndpoint": {"id": %q}}}`,
			jsonString(connID), connName, desc, pe)
	}
	pls := fmt.Sprintf(`{"id": %s, "name": "contoso-pls", "location": "westeurope", "tags": {"env": "prod"}, "properties": {}}`, jsonString(plsID))
	for _, tc := range []struct {
		name, body string
		action     policy.Action
		rule       string
	}{
		{"approve", `{"connection": ` + conn("please approve", peCust) + `}`, policy.Approve, "customers"},
		{"with PLS", `{"connection": ` + conn("please approve", peCust) + `, "privateLinkService": ` + pls + `}`, policy.Approve, "customers"},
		{"reject", `{"connection": ` + conn("spam spam", peCust) + `}`, policy.Reject, "spam"},
		{"default", `{"connection": ` + conn("hello", peCust) + `, "verified": {"webPubSub": true}}`, policy.Leave, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := decodeBody[evaluateResponse](t, ta.do(t, post("/api/v1/evaluate", tc.body)), 200)
			if got.Source != "request" || got.Decision.Action != tc.action || got.Decision.Rule != tc.rule || len(got.Decision.Trace) == 0 {
				t.Errorf("decision = %+v", got.Decision)
			}
			if !got.Facts.Now.Equal(testNow) || got.Facts.Requester.SubscriptionID == "" {
				t.Errorf("facts = %+v", got.Facts)
			}
		})
	}
	// The examples shipped in the repository evaluate.
	dir := filepath.Join("..", "..", "examples", "connections")
	if b, err := os.ReadFile(filepath.Join(dir, "saas-customer.json")); err == nil {
		rec := ta.do(t, post("/api/v1/evaluate", `{"connection": `+string(b)+`}`))
		if rec.Code != 200 {
			t.Errorf("examples/connections/saas-customer.json: %d %s", rec.Code, rec.Body.String())
		}
	}
	for _, tc := range []struct{ name, body, code string }{
		{"empty", ``, CodeBadRequest},
		{"neither", `{}`, CodeBadRequest},
		{"nulls", `{"connection": null, "privateLinkService": null}`, CodeBadRequest},
		{"both", `{"connectionId": ` + jsonString(connID) + `, "connection": ` + conn("x", peCust) + `}`, CodeBadRequest},
		{"bad ID", `{"connectionId": "/subscriptions/x"}`, CodeInvalidID},
		{"verified with ID", `{"connectionId": ` + jsonString(connID) + `, "verified": {"webPubSub": true}}`, CodeBadRequest},
		{"unknown verification", `{"connection": ` + conn("x", peCust) + `, "verified": {"magic": true}}`, CodeBadRequest},
		{"not a connection", `{"connection": 42}`, CodeBadRequest},
		{"unknown field", `{"connection": {}, "pls": {}}`, CodeUnknownField},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantError(t, ta.do(t, post("/api/v1/evaluate", tc.body)), 400, tc.code)
		})
	}
	// A pasted PLS may be much larger than a command body, within reason.
	large := `{"connection": ` + conn(strings.Repeat("a", 100<<10), peCust) + `}`
	if rec := ta.do(t, post("/api/v1/evaluate", large)); rec.Code != 200 {
		t.Errorf("100 KiB evaluate body: %d", rec.Code)
	}
	huge := `{"connection": ` + conn(strings.Repeat("a", evaluateBodyBytes), peCust) + `}`
	wantError(t, ta.do(t, post("/api/v1/evaluate", huge)), 413, CodeTooLarge)
	t.Run("no policy", func(t *testing.T) {
		ta := newTestAPI(t, func(o *Options) { o.Policy = nil })
		wantError(t, ta.do(t, post("/api/v1/evaluate", `{"connection": `+conn("x", peCust)+`}`)), 500, CodeInternal)
	})
}

// seedStore fills a store with two PLSs, a Web PubSub journey and a drift finding.
func seedStore(s *fakeStore) {
	pls2 := strings.Replace(plsID, "contoso-pls", "fabrikam-pls", 1)
	at := func(min int) time.Time { return testNow.Add(time.Duration(-min) * time.Minute) }
	s.seed([]store.Connection{
		{PLSID: plsID, Name: connName, ConnectionID: connID, Status: "Approved", PrivateEndpointID: peCust, RequesterSubscription: "11111111-1111-1111-1111-111111111111",
			LastDecision: "approve", LastRule: "customers", LastActor: "rule:customers", UpdatedAt: at(5)},
		{PLSID: plsID, Name: "pe2.waiting", Status: "Pending", Description: "hello", RequesterSubscription: "22222222-2222-2222-2222-222222222222",
			LastDecision: "leave:", LastActor: "observed", UpdatedAt: at(3)},
		{PLSID: plsID, Name: "pe3.spam", Status: "Rejected", LastDecision: "reject", LastRule: "spam", LastActor: "rule:spam", UpdatedAt: at(30)},
		{PLSID: pls2, Name: "legacy", Status: "Approved", LastActor: "observed", Drift: "leave:", UpdatedAt: at(60)},
		{PLSID: pls2, Name: "wps-pe", Status: "Approved", LastActor: "principal:" + aliceUPN, UpdatedAt: at(90)},
	}, []store.Transition{
		{PLSID: plsID, Connection: connName, Subject: "connection", From: "", To: "Pending", Action: "observe", Actor: "observed", Phase: "observed", Reason: "connection requested: please approve", Trigger: "event", At: at(10)},
		{PLSID: plsID, Connection: connName, Subject: "connection", From: "Pending", To: "Approved", Action: "approve", Actor: "rule:customers", Rule: "customers", Phase: "done", Reason: "rule customers matched", Trigger: "event", At: at(9)},
		{PLSID: plsID, Connection: connName, Subject: "sharedPrivateLinkResource", From: "Pending", To: "Approved", Action: "observe", Actor: "observed", Phase: "observed", Reason: "Web PubSub shared private link resource spl1 is Approved", Trigger: "event", At: at(8)},
		{PLSID: plsID, Connection: "pe3.spam", Subject: "connection", From: "Pending", To: "Rejected", Action: "reject", Actor: "rule:spam", Rule: "spam", Phase: "done", Reason: "<script>alert('x')</script>", Trigger: "timer", At: at(7)},
		{PLSID: pls2, Connection: "legacy", Subject: "drift", From: "Approved", To: "Approved", Action: "leave", Actor: "policy", Phase: "drift", Reason: "approved, but the policy now says leave", Trigger: "timer", At: at(6)},
		{PLSID: pls2, Connection: "wps-pe", Subject: "connection", From: "Pending", To: "Approved", Action: "approve", Actor: "principal:" + aliceUPN, Phase: "done", Reason: "approved in CAB", Trigger: "http", At: at(4)},
	})
	s.SeedRun(store.Run{ID: "0001-run", Trigger: "timer", Status: "succeeded", StartedAt: at(2), FinishedAt: at(1), Scanned: 2, Total: 2, Acted: 1, Observed: 3, Drift: 1})
}

func TestListConnections(t *testing.T) {
	ta := newTestAPI(t, nil)
	seedStore(ta.store)
	all := decodeBody[connectionsResponse](t, ta.do(t, get("/api/v1/connections?code="+secretKey)), 200)
	if len(all.Items) != 5 || all.Continuation != "" {
		t.Fatalf("all = %+v", all)
	}
	pending := decodeBody[connectionsResponse](t, ta.do(t, get("/api/v1/connections?status=pending&pls="+url.QueryEscape(strings.ToLower(plsID)))), 200)
	if len(pending.Items) != 1 || pending.Items[0].Name != "pe2.waiting" || ta.store.lastQuery.Status != "Pending" {
		t.Errorf("pending = %+v (query %+v)", pending, ta.store.lastQuery)
	}
	if c := pending.Items[0]; c.ConnectionID != plsID+"/privateEndpointConnections/pe2.waiting" {
		t.Errorf("connectionId derived = %q", c.ConnectionID)
	}
	// Paging: follow the continuation to the end, every item once.
	seen := map[string]bool{}
	q := "/api/v1/connections?limit=2"
	for pages := 0; ; pages++ {
		page := decodeBody[connectionsResponse](t, ta.do(t, get(q)), 200)
		for _, c := range page.Items {
			if seen[c.PrivateLinkServiceID+c.Name] {
				t.Fatalf("%s listed twice", c.Name)
			}
			seen[c.PrivateLinkServiceID+c.Name] = true
		}
		if page.Continuation == "" {
			break
		}
		if pages > 5 {
			t.Fatal("paging does not end")
		}
		q = "/api/v1/connections?limit=2&continuation=" + url.QueryEscape(page.Continuation)
	}
	if len(seen) != 5 {
		t.Errorf("paged through %d connections, want 5", len(seen))
	}
	for _, tc := range []struct{ name, query, code string }{
		{"bad status", "status=Approvedd", CodeBadRequest},
		{"bad pls", "pls=contoso-pls", CodeInvalidID},
		{"limit zero", "limit=0", CodeBadRequest},
		{"limit too big", "limit=1001", CodeBadRequest},
		{"limit not a number", "limit=ten", CodeBadRequest},
		{"unknown parameter", "stauts=Pending", CodeBadRequest},
		{"repeated parameter", "status=Pending&status=Approved", CodeBadRequest},
		{"bad continuation", "continuation=forged", CodeBadRequest},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantError(t, ta.do(t, get("/api/v1/connections?"+tc.query)), 400, tc.code)
		})
	}
	ta.store.Down.Store(true)
	wantError(t, ta.do(t, get("/api/v1/connections")), 503, CodeUnavailable)
}

func TestHistory(t *testing.T) {
	ta := newTestAPI(t, nil)
	seedStore(ta.store)
	got := decodeBody[historyResponse](t, ta.do(t, get("/api/v1/connections/history?connectionId="+url.QueryEscape(connID))), 200)
	if len(got.Items) != 3 {
		t.Fatalf("history = %+v", got)
	}
	// Newest first, with the Web PubSub side of the journey.
	if got.Items[0].Subject != "sharedPrivateLinkResource" || got.Items[1].Actor != "rule:customers" || got.Items[2].Phase != "observed" {
		t.Errorf("order/content = %+v", got.Items)
	}
	for i := 1; i < len(got.Items); i++ {
		if got.Items[i].At.After(got.Items[i-1].At) {
			t.Error("not newest first")
		}
	}
	// The connection name in the ID may differ in case from ARM's spelling.
	upper := strings.Replace(connID, connName, strings.ToUpper(connName), 1)
	if got := decodeBody[historyResponse](t, ta.do(t, get("/api/v1/connections/history?connectionId="+url.QueryEscape(upper))), 200); len(got.Items) != 3 {
		t.Errorf("case-insensitive lookup found %d rows", len(got.Items))
	}
	if got := decodeBody[historyResponse](t, ta.do(t, get("/api/v1/connections/history?limit=1&connectionId="+url.QueryEscape(connID))), 200); len(got.Items) != 1 {
		t.Errorf("limit=1 gave %d rows", len(got.Items))
	}
	unknown := strings.Replace(connID, connName, "never-seen", 1)
	wantError(t, ta.do(t, get("/api/v1/connections/history?connectionId="+url.QueryEscape(unknown))), 404, CodeNotFound)
	wantError(t, ta.do(t, get("/api/v1/connections/history")), 400, CodeBadRequest)
	wantError(t, ta.do(t, get("/api/v1/connections/history?connectionId="+url.QueryEscape(plsID))), 400, CodeInvalidID)
	wantError(t, ta.do(t, get("/api/v1/connections/history?id=x")), 400, CodeBadRequest)
	ta.store.Down.Store(true)
	wantError(t, ta.do(t, get("/api/v1/connections/history?connectionId="+url.QueryEscape(connID))), 503, CodeUnavailable)
}

func TestStatusPage(t *testing.T) {
	ta := newTestAPI(t, nil)
	seedStore(ta.store)
	rec := ta.do(t, get("/api/v1/status?code="+secretKey))
	if rec.Code != 200 {
		t.Fatalf("status %d: %s", rec.Code, rec.Body.String())
	}
	h := rec.Header()
	if !strings.HasPrefix(h.Get("Content-Type"), "text/html") || !strings.Contains(h.Get("Content-Security-Policy"), "default-src 'none'") ||
		h.Get("Referrer-Policy") != "no-referrer" || h.Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("headers = %v", h)
	}
	page := rec.Body.String()
	for _, want := range []string{
		"contoso-pls", "fabrikam-pls", connName, "pe2.waiting", "pe3.spam", "legacy", // connections per PLS
		`badge s-pending`, `badge s-approved`, `badge s-rejected`, // status badges
		"rule:customers", "principal:" + aliceUPN, "approved in CAB", "rule customers matched", // transitions: actor, reason
		"Web PubSub shared private link", // the seed's journey
		"Approved outside plsgate, but the policy would leave it Pending (the default).", // drift finding, a sentence
		"0001-run", "succeeded", // last run
		"&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;", // escaped
	} {
		if !strings.Contains(page, want) {
			t.Errorf("status page lacks %q", want)
		}
	}
	if strings.Contains(page, "<script") || strings.Contains(page, secretKey) {
		t.Error("status page carries a script or the function key")
	}
	// Pending first within a PLS.
	if strings.Index(page, "pe2.waiting") > strings.Index(page, connName+"</td>") {
		t.Error("pending connection not listed first")
	}

	t.Run("empty store", func(t *testing.T) {
		ta := newTestAPI(t, nil)
		page := ta.do(t, get("/api/v1/status")).Body.String()
		for _, want := range []string{"No reconcile run recorded yet", "No drift", "not seen any connection", "No transitions"} {
			if !strings.Contains(page, want) {
				t.Errorf("empty page lacks %q", want)
			}
		}
	})
	t.Run("store down", func(t *testing.T) {
		ta := newTestAPI(t, nil)
		ta.store.Down.Store(true)
		wantError(t, ta.do(t, get("/api/v1/status")), 503, CodeUnavailable)
	})
	t.Run("unknown parameter", func(t *testing.T) {
		wantError(t, ta.do(t, get("/api/v1/status?x=1")), 400, CodeBadRequest)
	})
}

func TestAgo(t *testing.T) {
	for _, tc := range []struct {
		d    time.Duration
		want string
	}{
		{-time.Second, "just now"}, {5 * time.Second, "5s ago"}, {3 * time.Minute, "3m ago"},
		{25*time.Hour + 5*time.Minute, "25h 5m ago"}, {72 * time.Hour, "3d ago"},
	} {
		if got := ago(testNow, testNow.Add(-tc.d)); got != tc.want {
			t.Errorf("ago(%v) = %q, want %q", tc.d, got, tc.want)
		}
	}
	if ago(testNow, time.Time{}) != "" {
		t.Error("zero time")
	}
}

func TestDecisionAndDriftText(t *testing.T) {
	for in, want := range map[string]string{
		"approve": "approve", "leave:": "leave", "leave:customers": "leave", "dry-run:approve:customers": "dry run: would approve",
		"failed:reject": "reject failed", "": "",
	} {
		if got := decisionText(in); got != want {
			t.Errorf("decisionText(%q) = %q, want %q", in, got, want)
		}
	}
	for _, tc := range []struct {
		row  store.Connection
		want string
	}{
		{store.Connection{Drift: "reject:no-spam", LastActor: "observed"}, "Approved outside plsgate, but the policy would reject it (rule no-spam)."},
		{store.Connection{Drift: "leave:", LastActor: "rule:customers"}, "Approved by rule:customers, but the policy has changed and would now leave it Pending (the default)."},
	} {
		if got := reconcile.DescribeDrift(&tc.row); got != tc.want {
			t.Errorf("DescribeDrift(%q) = %q, want %q", tc.row.Drift, got, tc.want)
		}
	}
}
