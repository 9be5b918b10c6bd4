package api

import (
	"bytes"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/plsgate/plsgate/internal/auth"
	"github.com/plsgate/plsgate/internal/devenv/tokenissuer"
)

const (
	malloryOID = "0bad0bad-0000-4000-8000-000000000000"
	deskUPN    = "ops-desk@contoso.com" // an approver whose UPN has a k
	appIDURI   = "api://plsgate"
	clientID   = "3d2e1f00-aaaa-4bbb-8ccc-000000000001"
)

// TestForgedPrincipals: principals whose non-identifying claims (display name, e-mail,
// preferred_username), whose claims of the wrong type, or whose look-alike UPNs equal an
// approver's identifiers are refused; on the old merged, lower-cased allow-list 13 of these 14
// were accepted (one forcing an approval). A genuine approver still gets in.
func TestForgedPrincipals(t *testing.T) {
	mallory := func(extra ...[2]string) []string {
		claims := append([][2]string{{claimOID, malloryOID}, {claimTenant, tenantID}}, extra...)
		return []string{headerPrincipal, principalHeader(t, claims...)}
	}
	for _, tc := range []struct {
		name   string
		header []string
		force  bool
	}{
		{"display name = approver UPN", mallory([2]string{claimName, aliceUPN}), false},
		{"e-mail = approver UPN", mallory([2]string{claimEmail, aliceUPN}), false},
		{"preferred_username = approver UPN", mallory([2]string{"preferred_username", aliceUPN}), false},
		{"display name = approver object ID", mallory([2]string{claimName, aliceOID}), false},
		{"e-mail = force group ID, forcing", mallory([2]string{claimEmail, opsGroup}), true},
		{"UPN = approver object ID", mallory([2]string{claimUPN, aliceOID}), false},
		{"UPN = approver group ID", mallory([2]string{claimUPN, opsGroup}), false},
		{"group = approver UPN", mallory([2]string{"groups", aliceUPN}), false},
		{"UPN with a dotted capital I", mallory([2]string{claimUPN, "al\u0130ce@contoso.com"}), false},
		{"UPN with the Kelvin sign", mallory([2]string{claimUPN, "ops-des\u212a@contoso.com"}), false},
		{"UPN with a trailing no-break space", mallory([2]string{claimUPN, aliceUPN + "\u00a0"}), false},
		{"name and ID headers only", []string{headerPrincipalName, aliceUPN, headerPrincipalID, aliceOID}, false},
		{"another identity provider", []string{headerPrincipal, principalHeaderOf(t, "google", [2]string{claimOID, malloryOID}, [2]string{claimUPN, aliceUPN})}, false},
		{"role = approver object ID", mallory([2]string{"roles", aliceOID}), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ta := newTestAPI(t, func(o *Options) {
				o.AuthMode, o.AuthTenantID = auth.ModeEasyAuth, tenantID
				o.Approvers = list(t, "oid:"+aliceOID, "upn:"+aliceUPN, "upn:"+deskUPN, "group:"+opsGroup)
				o.ApproversForce = list(t, "group:"+opsGroup)
			})
			rec := ta.do(t, post("/api/v1/connections/approve", approveBody("forged", tc.force), tc.header...))
			if rec.Code != http.StatusUnauthorized && rec.Code != http.StatusForbidden {
				t.Fatalf("accepted: %d %s", rec.Code, rec.Body.String())
			}
			if n := len(ta.dec.appliedRequests()); n != 0 {
				t.Fatalf("Apply called %d times", n)
			}
		})
	}
	t.Run("the genuine approver", func(t *testing.T) {
		ta := newTestAPI(t, easyAuth(t))
		rec := ta.do(t, post("/api/v1/connections/approve", approveBody("genuine", true), alice(t)...))
		if got := decodeBody[decisionResponse](t, rec, 200); got.Actor != "principal:"+aliceUPN {
			t.Fatalf("actor %q", got.Actor)
		}
	})
}

// anyButAuth: the route answers whatever it answers, but not 401 or 403.
const anyButAuth = -1

// call is one request in a route-table test and what it must answer.
type call struct {
	name   string
	r      req
	status int
	code   string
	actor  string // for 200 answers to approve/reject
}

func runCalls(t *testing.T, ta *testAPI, calls []call) {
	t.Helper()
	for _, c := range calls {
		t.Run(c.name, func(t *testing.T) {
			before := len(ta.dec.appliedRequests())
			rec := ta.do(t, c.r)
			if c.status == anyButAuth {
				if rec.Code == 401 || rec.Code == 403 {
					t.Fatalf("refused: %d %s", rec.Code, rec.Body.String())
				}
				return
			}
			if c.status != 200 && c.status != 202 {
				wantError(t, rec, c.status, c.code)
				if n := len(ta.dec.appliedRequests()); n != before {
					t.Errorf("Apply called for a refused caller")
				}
				return
			}
			if rec.Code != c.status {
				t.Fatalf("status %d, want %d: %s", rec.Code, c.status, rec.Body.String())
			}
			if c.actor != "" {
				if got := decodeBody[decisionResponse](t, rec, 200); got.Actor != c.actor {
					t.Errorf("actor %q, want %q", got.Actor, c.actor)
				}
			}
		})
	}
}

// reads are the routes that need the function key only, in every mode.
func reads() []call {
	return []call{
		{name: "status page", r: get("/api/v1/status"), status: 200},
		{name: "connections", r: get("/api/v1/connections"), status: 200},
		{name: "history", r: get("/api/v1/connections/history?connectionId=" + connID), status: anyButAuth},
		{name: "evaluate", r: post("/api/v1/evaluate", `{"connectionId": `+jsonString(connID)+`}`), status: 200},
	}
}

// AUTH_MODE=key: the function key only; Easy Auth headers are not read; force is refused.
func TestKeyMode(t *testing.T) {
	ta := newTestAPI(t, nil)
	runCalls(t, ta, append(reads(),
		call{name: "approve", r: post("/api/v1/connections/approve", approveBody("r", false)), status: 200, actor: "function-key"},
		call{name: "a principal header is not read", r: post("/api/v1/connections/reject", approveBody("r", false), alice(t)...), status: 200, actor: "function-key"},
		call{name: "force refused", r: post("/api/v1/connections/approve", approveBody("r", true)), status: 403, code: CodeForbidden},
		call{name: "force refused even for a principal", r: post("/api/v1/connections/reject", approveBody("r", true), alice(t)...), status: 403, code: CodeForbidden},
		call{name: "reconcile", r: post("/api/v1/reconcile", `{"privateLinkServiceId": `+jsonString(plsID)+`}`), status: 200},
	))
	rec := ta.do(t, post("/api/v1/connections/approve", approveBody("r", true)))
	if e := wantError(t, rec, 403, CodeForbidden); !strings.Contains(e.Error.Message, "AUTH_MODE") {
		t.Errorf("force refusal does not say why: %q", e.Error.Message)
	}
}

// AUTH_MODE=easyauth: approve/reject and reconcile need a listed principal; force needs
// APPROVERS_FORCE.
func TestEasyAuthMode(t *testing.T) {
	ta := newTestAPI(t, func(o *Options) {
		o.AuthMode, o.AuthTenantID = auth.ModeEasyAuth, tenantID
		o.Approvers = list(t, "oid:"+aliceOID, "upn:bob@contoso.com", "role:PLS.Approver")
		o.ApproversForce = list(t, "group:"+opsGroup)
	})
	user := func(oid string, claims ...[2]string) []string {
		return []string{headerPrincipal, principalHeader(t, append([][2]string{{claimOID, oid}, {claimTenant, tenantID}}, claims...)...)}
	}
	bob := user("b0b00000-0000-4000-8000-000000000000", [2]string{claimUPN, "Bob@Contoso.com"})
	roleHolder := user("7e1e0000-0000-4000-8000-000000000000", [2]string{"http://schemas.microsoft.com/ws/2008/06/identity/claims/role", "PLS.Approver"})
	forcer := user("f0f00000-0000-4000-8000-000000000000", [2]string{"groups", strings.ToUpper(opsGroup)})
	otherTenant := []string{headerPrincipal, principalHeader(t, [2]string{claimOID, aliceOID}, [2]string{claimTenant, "0c0ffee0-0000-4000-8000-000000000000"})}
	runCalls(t, ta, append(reads(),
		call{name: "no principal", r: post("/api/v1/connections/approve", approveBody("r", false)), status: 401, code: CodeUnauthenticated},
		call{name: "by object ID", r: post("/api/v1/connections/approve", approveBody("r", false), alice(t)...), status: 200, actor: "principal:" + aliceUPN},
		call{name: "by UPN, ASCII case", r: post("/api/v1/connections/reject", approveBody("r", false), bob...), status: 200, actor: "principal:Bob@Contoso.com"},
		call{name: "by app role", r: post("/api/v1/connections/reject", approveBody("r", false), roleHolder...), status: 200, actor: "principal:7e1e0000-0000-4000-8000-000000000000"},
		call{name: "not listed", r: post("/api/v1/connections/approve", approveBody("r", false), user(malloryOID, [2]string{claimUPN, "mallory@contoso.com"})...), status: 403, code: CodeForbidden},
		call{name: "approver may not force", r: post("/api/v1/connections/approve", approveBody("r", true), bob...), status: 403, code: CodeForbidden},
		call{name: "forcer may force", r: post("/api/v1/connections/approve", approveBody("r", true), forcer...), status: 200},
		call{name: "forcer may approve", r: post("/api/v1/connections/approve", approveBody("r", false), forcer...), status: 200},
		call{name: "another tenant", r: post("/api/v1/connections/approve", approveBody("r", false), otherTenant...), status: 401, code: CodeUnauthenticated},
		call{name: "unreadable principal", r: post("/api/v1/connections/approve", approveBody("r", false), headerPrincipal, "not base64!"), status: 401, code: CodeUnauthenticated},
		call{name: "reconcile without a principal", r: post("/api/v1/reconcile", `{}`), status: 401, code: CodeUnauthenticated},
		call{name: "reconcile by a non-approver", r: post("/api/v1/reconcile", `{"privateLinkServiceId": `+jsonString(plsID)+`}`, user(malloryOID)...), status: 403, code: CodeForbidden},
		call{name: "reconcile by an approver", r: post("/api/v1/reconcile", `{"privateLinkServiceId": `+jsonString(plsID)+`}`, alice(t)...), status: 200},
		call{name: "a bearer token is not read", r: post("/api/v1/connections/approve", approveBody("r", false), "Authorization", "Bearer x.y.z"), status: 401, code: CodeUnauthenticated},
	))
}

// entraEnv is an API in AUTH_MODE=entra against the local token issuer, logging to a buffer.
type entraEnv struct {
	*testAPI
	iss  *tokenissuer.Issuer
	logs *syncBuffer
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func newEntraEnv(t *testing.T, approvers, forcers auth.List) *entraEnv {
	t.Helper()
	iss, err := tokenissuer.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = iss.Close() })
	v, err := auth.NewEntraVerifier(auth.EntraOptions{TenantID: tenantID, Audiences: []string{appIDURI, clientID}, AuthorityHost: iss.URL})
	if err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	ta := newTestAPI(t, func(o *Options) {
		o.AuthMode, o.Tokens, o.AuthTenantID = auth.ModeEntra, v, tenantID
		o.Approvers, o.ApproversForce = approvers, forcers
		o.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	})
	return &entraEnv{testAPI: ta, iss: iss, logs: logs}
}

func bearer(tok string) []string { return []string{"Authorization", "Bearer " + tok} }

// AUTH_MODE=entra: real RS256 tokens from the local issuer, v1.0 and v2.0; every token
// that is not of this tenant, for this audience, validly signed and unexpired is a 401 with a
// Bearer challenge; a valid token of someone not listed is a 403. Tokens never reach the logs.
func TestEntraMode(t *testing.T) {
	env := newEntraEnv(t, list(t, "oid:"+aliceOID, "group:"+opsGroup, "role:PLS.Approver"), list(t, "upn:boss@contoso.com"))
	tok := func(f func(*tokenissuer.Token)) string {
		k := tokenissuer.Token{Version: 2, TenantID: tenantID, Audience: clientID, OID: aliceOID, UPN: aliceUPN}
		if f != nil {
			f(&k)
		}
		return env.iss.MustMint(k)
	}
	v1 := func(k *tokenissuer.Token) { k.Version, k.Audience = 1, appIDURI }
	approve := func(force bool, h ...string) req {
		return post("/api/v1/connections/approve", approveBody("r", force), h...)
	}
	var minted []string
	m := func(s string) string { minted = append(minted, s); return s }
	runCalls(t, env.testAPI, append(reads(),
		call{name: "v2 token", r: approve(false, bearer(m(tok(nil)))...), status: 200, actor: "principal:" + aliceUPN},
		call{name: "v1 token", r: approve(false, bearer(m(tok(v1)))...), status: 200, actor: "principal:" + aliceUPN},
		call{name: "lower-case scheme", r: approve(false, "Authorization", "bearer "+m(tok(nil))), status: 200},
		call{name: "by group", r: approve(false, bearer(m(tok(func(k *tokenissuer.Token) { k.OID, k.UPN, k.Groups = malloryOID, "", []string{opsGroup} })))...), status: 200, actor: "principal:" + malloryOID},
		call{name: "by app role", r: approve(false, bearer(m(tok(func(k *tokenissuer.Token) { k.OID, k.Roles = malloryOID, []string{"PLS.Approver"} })))...), status: 200},
		call{name: "forcer by UPN", r: approve(true, bearer(m(tok(func(k *tokenissuer.Token) { k.OID, k.UPN = malloryOID, "BOSS@contoso.com" })))...), status: 200},
		call{name: "approver may not force", r: approve(true, bearer(m(tok(nil)))...), status: 403, code: CodeForbidden},
		call{name: "not listed", r: approve(false, bearer(m(tok(func(k *tokenissuer.Token) {
			k.OID, k.UPN, k.Name, k.Email, k.PreferredUsername = malloryOID, "mallory@contoso.com", aliceUPN, aliceUPN, "boss@contoso.com"
		})))...), status: 403, code: CodeForbidden},
		call{name: "reconcile with a token", r: post("/api/v1/reconcile", `{"privateLinkServiceId": `+jsonString(plsID)+`}`, bearer(m(tok(nil)))...), status: 200},
		call{name: "reconcile without a token", r: post("/api/v1/reconcile", `{}`), status: 401, code: CodeUnauthenticated},
		call{name: "an Easy Auth principal is not read", r: approve(false, alice(t)...), status: 401, code: CodeUnauthenticated},
	))

	for _, tc := range []struct {
		name   string
		header []string
		error  string // the challenge's error, "" for none
	}{
		{"no token", nil, ""},
		{"Basic scheme", []string{"Authorization", "Basic YWxpY2U6cHc="}, ""},
		{"empty bearer", []string{"Authorization", "Bearer "}, ""},
		{"wrong issuer", bearer(m(tok(func(k *tokenissuer.Token) { k.Issuer = "https://login.microsoftonline.com/" + tenantID + "/v2.0" }))), "invalid_token"},
		{"wrong tenant", bearer(m(tok(func(k *tokenissuer.Token) { k.TenantID = "0c0ffee0-0000-4000-8000-000000000000" }))), "invalid_token"},
		{"wrong tenant, v1", bearer(m(tok(func(k *tokenissuer.Token) { v1(k); k.TenantID = "0c0ffee0-0000-4000-8000-000000000000" }))), "invalid_token"},
		{"wrong audience", bearer(m(tok(func(k *tokenissuer.Token) { k.Audience = "api://another-api" }))), "invalid_token"},
		{"v1 token for the client ID of another app", bearer(m(tok(func(k *tokenissuer.Token) { v1(k); k.Audience = "00000003-0000-0000-c000-000000000000" }))), "invalid_token"},
		{"expired", bearer(m(tok(func(k *tokenissuer.Token) { k.IssuedAt = time.Now().Add(-3 * time.Hour) }))), "invalid_token"},
		{"bad signature", bearer(m(tok(func(k *tokenissuer.Token) { k.UnpublishedKey = true }))), "invalid_token"},
		{"alg none", bearer(m(tok(func(k *tokenissuer.Token) { k.Alg = "none" }))), "invalid_token"},
		{"HS256 keyed with the public key", bearer(m(tok(func(k *tokenissuer.Token) { k.Alg = "HS256" }))), "invalid_token"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := env.do(t, approve(false, tc.header...))
			wantError(t, rec, 401, CodeUnauthenticated)
			ch := rec.Header().Get("WWW-Authenticate")
			if !strings.HasPrefix(ch, `Bearer realm="plsgate"`) || (tc.error != "") != strings.Contains(ch, `error="`+tc.error+`"`) {
				t.Errorf("WWW-Authenticate %q, want a Bearer challenge with error %q", ch, tc.error)
			}
			if len(tc.header) == 2 && strings.Contains(rec.Body.String(), strings.TrimPrefix(tc.header[1], "Bearer ")+"x") {
				t.Errorf("the answer repeats the token")
			}
		})
	}
	if n := len(env.dec.appliedRequests()); n != 6 {
		t.Errorf("Apply called %d times, want 6 (the accepted approvals)", n)
	}
	logs := env.logs.String()
	if !strings.Contains(logs, "caller is not in APPROVERS") {
		t.Errorf("a refused caller is not logged:\n%s", logs)
	}
	for _, s := range minted {
		if sig := s[strings.LastIndex(s, ".")+1:]; len(sig) > 16 && strings.Contains(logs, sig[:16]) {
			t.Fatalf("a token reached the logs:\n%s", logs)
		}
		if payload := strings.Split(s, ".")[1]; strings.Contains(logs, payload[:24]) {
			t.Fatalf("a token's payload reached the logs:\n%s", logs)
		}
	}
	if n := env.iss.Discoveries(); n != 1 {
		t.Errorf("%d discoveries, want 1", n)
	}
}

// With the authority unreachable a token is not judged: 503 with Retry-After, nothing applied.
func TestEntraModeAuthorityDown(t *testing.T) {
	env := newEntraEnv(t, list(t, "oid:"+aliceOID), nil)
	tok := env.iss.MustMint(tokenissuer.Token{TenantID: tenantID, Audience: clientID, OID: aliceOID})
	_ = env.iss.Close()
	rec := env.do(t, post("/api/v1/connections/approve", approveBody("r", false), bearer(tok)...))
	wantError(t, rec, 503, CodeUnavailable)
	if rec.Header().Get("Retry-After") == "" || len(env.dec.appliedRequests()) != 0 {
		t.Fatalf("503 without Retry-After, or applied: %v", rec.Header())
	}
}
