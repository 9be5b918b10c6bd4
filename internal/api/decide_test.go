package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/plsgate/plsgate/handler"
	"github.com/plsgate/plsgate/internal/policy"
	"github.com/plsgate/plsgate/internal/reconcile"
)

func reconcileScope() reconcile.Scope { return reconcile.Scope{Subscriptions: []string{sub}} }

func approveBody(reason string, force bool) string {
	return fmt.Sprintf(`{"connectionId": %s, "reason": %s, "force": %t}`, jsonString(connID), jsonString(reason), force)
}

func TestRouting(t *testing.T) {
	ta := newTestAPI(t, nil)
	for _, tc := range []struct {
		name   string
		r      req
		status int
		code   string
		allow  string
	}{
		{"unknown route", get("/api/v1/nope"), 404, CodeNotFound, ""},
		{"outside the prefix", get("/api/v2/status"), 404, CodeNotFound, ""},
		{"root", get("/"), 404, CodeNotFound, ""},
		{"too deep", get("/api/v1/reconcile/a/b"), 404, CodeNotFound, ""},
		{"empty run id", get("/api/v1/reconcile//"), 404, CodeNotFound, ""},
		{"GET approve", get("/api/v1/connections/approve"), 405, CodeMethodNotAllowed, "POST"},
		{"GET reject", get("/api/v1/connections/reject"), 405, CodeMethodNotAllowed, "POST"},
		{"GET reconcile", get("/api/v1/reconcile"), 405, CodeMethodNotAllowed, "POST"},
		{"GET evaluate", get("/api/v1/evaluate"), 405, CodeMethodNotAllowed, "POST"},
		{"POST connections", post("/api/v1/connections", "{}"), 405, CodeMethodNotAllowed, "GET"},
		{"POST history", post("/api/v1/connections/history", "{}"), 405, CodeMethodNotAllowed, "GET"},
		{"POST run", post("/api/v1/reconcile/x", "{}"), 405, CodeMethodNotAllowed, "GET"},
		{"DELETE status", req{method: http.MethodDelete, path: "/api/v1/status"}, 405, CodeMethodNotAllowed, "GET"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := ta.do(t, tc.r)
			wantError(t, rec, tc.status, tc.code)
			if got := rec.Header().Get("Allow"); got != tc.allow {
				t.Errorf("Allow = %q, want %q", got, tc.allow)
			}
		})
	}
	// The host routes literals case-insensitively; a trailing slash is tolerated.
	for _, p := range []string{"/API/V1/Status", "/api/v1/status/", "/api/v1/CONNECTIONS"} {
		if rec := ta.do(t, get(p)); rec.Code != 200 {
			t.Errorf("GET %s = %d: %s", p, rec.Code, rec.Body.String())
		}
	}
}

func TestApproveReject(t *testing.T) {
	for _, action := range []policy.Action{policy.Approve, policy.Reject} {
		t.Run(string(action), func(t *testing.T) {
			ta := newTestAPI(t, nil)
			rec := ta.do(t, post("/api/v1/connections/"+string(action), approveBody("ticket CHG-1: customer onboarding", false)))
			got := decodeBody[decisionResponse](t, rec, 200)
			if got.Actor != "function-key" || got.ConnectionID != connID || got.Action != string(action) {
				t.Errorf("answer = %+v", got)
			}
			reqs := ta.dec.appliedRequests()
			if len(reqs) != 1 {
				t.Fatalf("Apply called %d times", len(reqs))
			}
			want := reconcile.ManualRequest{ConnectionID: connID, Action: action, Actor: "function-key", Reason: "ticket CHG-1: customer onboarding"}
			if reqs[0] != want {
				t.Errorf("Apply(%+v), want %+v", reqs[0], want)
			}
			if tr := ta.dec.lastTrigger(); tr.Kind != "http" || tr.Actor != "function-key" {
				t.Errorf("trigger = %+v", tr)
			}
		})
	}
}

func TestApproveRecordsPrincipalAndInvocation(t *testing.T) {
	ta := newTestAPI(t, easyAuth(t))
	// Through the custom handler: the invocation id reaches the trigger.
	srv := handler.New(handler.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	srv.HandleHTTP("Api", "req", "res", 0, ta.h)
	payload := fmt.Sprintf(`{"Data":{"req":{"Url":"https://app.azurewebsites.net/api/v1/connections/approve?code=%s","Method":"POST",
		"Query":{"code":%q},"Headers":{"Content-Type":["application/json"],"X-MS-CLIENT-PRINCIPAL":[%q],"X-MS-CLIENT-PRINCIPAL-ID":[%q],"X-MS-CLIENT-PRINCIPAL-NAME":[%q]},
		"Params":{"path":"connections/approve"},"Identities":[],"Body":%s}},
		"Metadata":{"sys":{"MethodName":"Api","UtcNow":"2026-11-25T12:00:00Z","RandGuid":"6a2b"}}}`,
		secretKey, secretKey, alice(t)[1], aliceOID, aliceUPN, jsonString(approveBody("approved in CAB", false)))
	hr, _ := http.NewRequest(http.MethodPost, "/Api", strings.NewReader(payload))
	hr.Header.Set("Content-Type", "application/json")
	hr.Header.Set("X-Azure-Functions-InvocationId", "inv-42")
	rec := httptest.NewRecorder()
	srv.Handler().ServeHTTP(rec, hr)
	var inv struct {
		Outputs struct {
			Res struct {
				StatusCode string `json:"statusCode"`
				Body       string `json:"body"`
			} `json:"res"`
		}
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &inv); err != nil || rec.Code != 200 || inv.Outputs.Res.StatusCode != "200" {
		t.Fatalf("invoke answer %d (%v): %s", rec.Code, err, rec.Body.String())
	}
	var got decisionResponse
	if err := json.Unmarshal([]byte(inv.Outputs.Res.Body), &got); err != nil || got.Actor != "principal:"+aliceUPN {
		t.Fatalf("http output body (%v): %s", err, inv.Outputs.Res.Body)
	}
	reqs := ta.dec.appliedRequests()
	if len(reqs) != 1 || reqs[0].Actor != "principal:"+aliceUPN || reqs[0].Reason != "approved in CAB" {
		t.Fatalf("Apply got %+v", reqs)
	}
	if tr := ta.dec.lastTrigger(); tr.InvocationID != "inv-42" || tr.Kind != "http" {
		t.Errorf("trigger = %+v", tr)
	}
}

func TestDecideRequestErrors(t *testing.T) {
	big := approveBody(strings.Repeat("x", 900), false)
	big = strings.Replace(big, `"force"`, `"pad": "`+strings.Repeat("y", DefaultMaxBodyBytes)+`", "force"`, 1)
	for _, tc := range []struct {
		name, body string
		header     []string
		status     int
		code       string
	}{
		{"empty body", "", nil, 400, CodeBadRequest},
		{"malformed JSON", `{"connectionId": `, nil, 400, CodeInvalidJSON},
		{"syntax error", `{"connectionId" "x"}`, nil, 400, CodeInvalidJSON},
		{"not an object", `["a"]`, nil, 400, CodeInvalidJSON},
		{"null", `null`, nil, 400, CodeInvalidJSON},
		{"trailing data", approveBody("r", false) + `{}`, nil, 400, CodeInvalidJSON},
		{"unknown field", `{"connectionId": ` + jsonString(connID) + `, "reason": "r", "forse": true}`, nil, 400, CodeUnknownField},
		{"wrong type", `{"connectionId": 42, "reason": "r"}`, nil, 400, CodeInvalidJSON},
		{"force not a boolean", `{"connectionId": ` + jsonString(connID) + `, "reason": "r", "force": "yes"}`, nil, 400, CodeInvalidJSON},
		{"missing connectionId", `{"reason": "r"}`, nil, 400, CodeBadRequest},
		{"PLS ID instead of connection ID", `{"connectionId": ` + jsonString(plsID) + `, "reason": "r"}`, nil, 400, CodeInvalidID},
		{"garbage ID", `{"connectionId": "pe1", "reason": "r"}`, nil, 400, CodeInvalidID},
		{"missing reason", `{"connectionId": ` + jsonString(connID) + `}`, nil, 400, CodeBadRequest},
		{"blank reason", `{"connectionId": ` + jsonString(connID) + `, "reason": "  "}`, nil, 400, CodeBadRequest},
		{"multi-line reason", `{"connectionId": ` + jsonString(connID) + `, "reason": "a\nb"}`, nil, 400, CodeBadRequest},
		{"reason too long", approveBody(strings.Repeat("é", maxReasonRunes+1), false), nil, 400, CodeBadRequest},
		{"too large", big, nil, 413, CodeTooLarge},
		{"form body", approveBody("r", false), []string{"Content-Type", "application/x-www-form-urlencoded"}, 415, CodeUnsupportedMedia},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ta := newTestAPI(t, nil)
			r := post("/api/v1/connections/approve", tc.body, tc.header...)
			if tc.body == "" {
				r.header = http.Header{}
			}
			wantError(t, ta.do(t, r), tc.status, tc.code)
			if n := len(ta.dec.appliedRequests()); n != 0 {
				t.Errorf("Apply called %d times for a refused request", n)
			}
		})
	}
}

func TestDecideOutcomeErrors(t *testing.T) {
	leak := "https://management.azure.com/subscriptions/x?api-version=1 Authorization: Bearer eyJhbGciOi.secret"
	for _, tc := range []struct {
		name   string
		err    error
		status int
		code   string
		check  func(t *testing.T, e errResp, h http.Header)
	}{
		{"not pending", fmt.Errorf("apply: %w", &reconcile.NotPendingError{Status: "Approved"}), 409, CodeNotPending, func(t *testing.T, e errResp, _ http.Header) {
			if e.Error.Status != "Approved" || !strings.Contains(e.Error.Message, "Approved") {
				t.Errorf("409 without the current status: %+v", e.Error)
			}
		}},
		{"in progress", reconcile.ErrInProgress, 409, CodeInProgress, nil},
		{"PLS not found", fmt.Errorf("private link service x: %w", reconcile.ErrNotFound), 404, CodeNotFound, nil},
		{"policy forbids", &reconcile.PolicyError{Decision: policy.Decision{Action: policy.Leave, Reason: "no rule matched", Trace: []policy.RuleTrace{{Rule: "customers", Reason: "requester not listed"}}}}, 422, CodePolicyDecides,
			func(t *testing.T, e errResp, _ http.Header) {
				if e.Error.Decision == nil || e.Error.Decision.Action != policy.Leave || len(e.Error.Decision.Trace) != 1 {
					t.Errorf("422 without the decision: %+v", e.Error)
				}
			}},
		{"store unavailable", fmt.Errorf("claim: %w", errUnavailable()), 503, CodeUnavailable, func(t *testing.T, _ errResp, h http.Header) {
			if h.Get("Retry-After") == "" {
				t.Error("503 without Retry-After")
			}
		}},
		{"retryable", fmt.Errorf("x: %w: %s", reconcile.ErrRetryable, leak), 503, CodeUnavailable, nil},
		{"ARM refuses plsgate", fmt.Errorf("read: %w", httpErr(403)), 502, CodeUpstreamRefused, nil},
		{"ARM refuses the change", fmt.Errorf("approve: %w", httpErr(400)), 502, CodeUpstreamRefused, nil},
		{"anything else", errors.New(leak), 500, CodeInternal, func(t *testing.T, e errResp, _ http.Header) {
			if e.Error.Message != "internal error" {
				t.Errorf("500 message = %q", e.Error.Message)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ta := newTestAPI(t, nil)
			ta.dec.apply = func(reconcile.ManualRequest) (reconcile.Outcome, error) { return reconcile.Outcome{}, tc.err }
			rec := ta.do(t, post("/api/v1/connections/approve", approveBody("r", false)))
			e := wantError(t, rec, tc.status, tc.code)
			if strings.Contains(rec.Body.String(), "Bearer") || strings.Contains(rec.Body.String(), "management.azure.com") {
				t.Errorf("answer leaks internals: %s", rec.Body.String())
			}
			if tc.check != nil {
				tc.check(t, e, rec.Header())
			}
		})
	}
}
