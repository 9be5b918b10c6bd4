package api

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/plsgate/plsgate/internal/auth"
	"github.com/plsgate/plsgate/internal/policy"
)

const (
	sub       = "00000000-0000-0000-0000-000000000001"
	plsID     = "/subscriptions/" + sub + "/resourceGroups/contoso/providers/Microsoft.Network/privateLinkServices/contoso-pls"
	connName  = "pe1.6a1c3b"
	connID    = plsID + "/privateEndpointConnections/" + connName
	peCust    = "/subscriptions/11111111-1111-1111-1111-111111111111/resourceGroups/cust/providers/Microsoft.Network/privateEndpoints/pe1"
	aliceOID  = "6f1d1f4e-6a57-4d2e-9b8c-0d1d2f3a4b5c"
	aliceUPN  = "alice@contoso.com"
	opsGroup  = "9e0c4f6a-1111-2222-3333-444455556666"
	tenantID  = "72f988bf-86f1-41af-91ab-2d7cd011db47"
	secretKey = "s3cr3t-function-key"
)

const testPolicy = `
version: 1
default: leave
rules:
  - name: customers
    match:
      requester: { subscriptions: ["11111111-1111-1111-1111-111111111111"] }
      requestMessage: "^please approve$"
    action: approve
  - name: spam
    match:
      requestMessage: "^spam"
    action: reject
`

var testNow = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

func mustPolicy(t testing.TB) *policy.Policy {
	t.Helper()
	p, err := policy.Parse("test.yaml", []byte(testPolicy))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// testAPI is an API over fakes.
type testAPI struct {
	h     http.Handler
	dec   *fakeDeciders
	store *fakeStore
}

func newTestAPI(t testing.TB, mod func(*Options)) *testAPI {
	t.Helper()
	ta := &testAPI{dec: &fakeDeciders{}, store: newFakeStore()}
	o := Options{
		Deciders: ta.dec, Store: ta.store, Runs: ta.store, Policy: mustPolicy(t),
		Scope:  reconcileScope(),
		Now:    func() time.Time { return testNow },
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	if mod != nil {
		mod(&o)
	}
	ta.h = New(o)
	return ta
}

type req struct {
	method, path, body string
	header             http.Header
}

func (ta *testAPI) do(t testing.TB, r req) *httptest.ResponseRecorder {
	t.Helper()
	return ta.doCtx(t, context.Background(), r)
}

func (ta *testAPI) doCtx(t testing.TB, ctx context.Context, r req) *httptest.ResponseRecorder {
	t.Helper()
	var body io.Reader = http.NoBody
	if r.body != "" {
		body = strings.NewReader(r.body)
	}
	hr := httptest.NewRequestWithContext(ctx, r.method, r.path, body)
	if r.body != "" {
		hr.Header.Set("Content-Type", "application/json")
	}
	for k, vs := range r.header {
		hr.Header[k] = vs
	}
	rec := httptest.NewRecorder()
	ta.h.ServeHTTP(rec, hr)
	return rec
}

func post(path, body string, h ...string) req {
	return req{method: http.MethodPost, path: path, body: body, header: headers(h...)}
}
func get(path string, h ...string) req {
	return req{method: http.MethodGet, path: path, header: headers(h...)}
}

func headers(kv ...string) http.Header {
	h := http.Header{}
	for i := 0; i+1 < len(kv); i += 2 {
		h.Set(kv[i], kv[i+1])
	}
	return h
}

// Easy Auth headers (App Service Authentication); plsgate reads only the first.
const (
	headerPrincipal     = auth.HeaderPrincipal
	headerPrincipalID   = "X-MS-CLIENT-PRINCIPAL-ID"
	headerPrincipalName = "X-MS-CLIENT-PRINCIPAL-NAME"
)

// Claim types as Easy Auth maps them.
const (
	claimOID    = "http://schemas.microsoft.com/identity/claims/objectidentifier"
	claimUPN    = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn"
	claimTenant = "http://schemas.microsoft.com/identity/claims/tenantid"
	claimEmail  = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress"
	claimName   = "name"
)

// principalHeader builds X-MS-CLIENT-PRINCIPAL as Easy Auth does for Entra ID.
func principalHeader(t testing.TB, claims ...[2]string) string {
	return principalHeaderOf(t, "aad", claims...)
}

func principalHeaderOf(t testing.TB, authType string, claims ...[2]string) string {
	t.Helper()
	type claim struct {
		Type  string `json:"typ"`
		Value string `json:"val"`
	}
	cs := []claim{}
	for _, c := range claims {
		cs = append(cs, claim{Type: c[0], Value: c[1]})
	}
	b, err := json.Marshal(map[string]any{"auth_typ": authType, "claims": cs,
		"name_typ": claimEmail, "role_typ": "http://schemas.microsoft.com/ws/2008/06/identity/claims/role"})
	if err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(b)
}

// alice is an Entra ID user in the ops group, as Easy Auth presents her.
func alice(t testing.TB) []string {
	return []string{
		headerPrincipal, principalHeader(t,
			[2]string{claimOID, aliceOID},
			[2]string{claimUPN, aliceUPN},
			[2]string{claimTenant, tenantID},
			[2]string{"preferred_username", aliceUPN},
			[2]string{claimName, "Alice"},
			[2]string{"groups", opsGroup},
		),
		headerPrincipalID, aliceOID,
		headerPrincipalName, aliceUPN,
	}
}

// list parses typed approver entries.
func list(t testing.TB, entries ...string) auth.List {
	t.Helper()
	l, err := auth.ParseList(strings.Join(entries, ","))
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// easyAuth is AUTH_MODE=easyauth with alice an approver (by object ID) and the ops group
// allowed to force.
func easyAuth(t testing.TB) func(*Options) {
	return func(o *Options) {
		o.AuthMode, o.AuthTenantID = auth.ModeEasyAuth, tenantID
		o.Approvers, o.ApproversForce = list(t, "oid:"+aliceOID), list(t, "group:"+opsGroup)
	}
}

type errResp struct {
	Error struct {
		Code     string           `json:"code"`
		Message  string           `json:"message"`
		Status   string           `json:"status"`
		RunID    string           `json:"runId"`
		Decision *policy.Decision `json:"decision"`
	} `json:"error"`
}

// wantError checks status, JSON content type and code, and returns the decoded error.
func wantError(t testing.TB, rec *httptest.ResponseRecorder, status int, code string) errResp {
	t.Helper()
	var e errResp
	if rec.Code != status {
		t.Fatalf("status = %d, want %d; body %s", rec.Code, status, rec.Body.String())
	}
	if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("Content-Type = %q, want JSON", ct)
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil {
		t.Fatalf("error body is not JSON: %v: %s", err, rec.Body.String())
	}
	if e.Error.Code != code {
		t.Fatalf("code = %q, want %q (message %q)", e.Error.Code, code, e.Error.Message)
	}
	if e.Error.Message == "" {
		t.Fatal("error without message")
	}
	return e
}

func decodeBody[T any](t testing.TB, rec *httptest.ResponseRecorder, status int) T {
	t.Helper()
	var v T
	if rec.Code != status {
		t.Fatalf("status = %d, want %d; body %s", rec.Code, status, rec.Body.String())
	}
	dec := json.NewDecoder(bytes.NewReader(rec.Body.Bytes()))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("decode %T: %v: %s", v, err, rec.Body.String())
	}
	return v
}

func jsonString(v string) string {
	b, _ := json.Marshal(v)
	return string(b)
}
