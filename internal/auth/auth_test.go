package auth

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/plsgate/plsgate/internal/devenv/tokenissuer"
)

const (
	tenant   = "72f988bf-86f1-41af-91ab-2d7cd011db47"
	other    = "0c0ffee0-0000-4000-8000-000000000000"
	aliceOID = "6f1d1f4e-6a57-4d2e-9b8c-0d1d2f3a4b5c"
	opsGroup = "9e0c4f6a-1111-2222-3333-444455556666"
	appIDURI = "api://plsgate"
	clientID = "3d2e1f00-aaaa-4bbb-8ccc-000000000001"
)

func TestParseList(t *testing.T) {
	l, err := ParseList(" oid:" + strings.ToUpper(aliceOID) + ", group:" + opsGroup + ",role:PLS.Approver,upn:Alice@Contoso.com, bob@contoso.com ,,")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"oid:" + aliceOID, "group:" + opsGroup, "role:PLS.Approver", "upn:Alice@Contoso.com", "upn:bob@contoso.com"}
	if got := l.Strings(); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("parsed %v, want %v", got, want)
	}
	for _, tc := range []struct{ in, want string }{
		{aliceOID, "write oid:" + aliceOID + " for a user or service principal, or group:" + aliceOID},
		{strings.ToUpper(aliceOID), "bare GUID"},
		{"oid:{" + aliceOID + "}", "8-4-4-4-12"},
		{"group:ops", "8-4-4-4-12"},
		{"oid:", "8-4-4-4-12"},
		{"role:", "app role value"},
		{"upn:alice", "name@domain"},
		{"Approver", "want oid:<guid>, group:<guid>, role:<app role> or upn:<name@domain>"},
		{"email:alice@contoso.com", `unknown type "email"`},
		{"OID:" + aliceOID, `unknown type "OID"`},
		{"upn:alice @contoso.com", "no blanks"},
		{"upn:alice@contoso.com\u00a0", "no blanks"},
		{"upn:a@b@c", "name@domain"},
	} {
		_, err := ParseList("upn:ok@contoso.com," + tc.in)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseList(%q) = %v, want an error containing %q", tc.in, err, tc.want)
		}
	}
}

func TestParseMode(t *testing.T) {
	for in, want := range map[string]Mode{"": ModeKey, "key": ModeKey, "entra": ModeEntra, "easyauth": ModeEasyAuth} {
		if m, err := ParseMode(in); err != nil || m != want {
			t.Errorf("ParseMode(%q) = %q, %v", in, m, err)
		}
	}
	for _, in := range []string{"Entra", "aad", "none", "easyAuth"} {
		if _, err := ParseMode(in); err == nil {
			t.Errorf("ParseMode(%q) accepted", in)
		}
	}
}

// Each type matches only its own claim, exactly.
func TestAllowsByTypeAndExactly(t *testing.T) {
	l, err := ParseList("oid:" + aliceOID + ",group:" + opsGroup + ",role:PLS.Approver,upn:alice@contoso.com,upn:desk@contoso.com")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		id   Identity
		want bool
	}{
		{"oid", Identity{OID: aliceOID}, true},
		{"group", Identity{OID: other, Groups: []string{"x", opsGroup}}, true},
		{"role", Identity{OID: other, Roles: []string{"PLS.Approver"}}, true},
		{"upn, ASCII case", Identity{OID: other, UPN: "ALICE@Contoso.COM"}, true},
		{"role, other case", Identity{OID: other, Roles: []string{"pls.approver"}}, false},
		{"upn = approver oid", Identity{OID: other, UPN: aliceOID}, false},
		{"upn = group id", Identity{OID: other, UPN: opsGroup}, false},
		{"group = approver oid", Identity{OID: other, Groups: []string{aliceOID}}, false},
		{"oid = group id", Identity{OID: opsGroup}, false},
		{"role = upn", Identity{OID: other, Roles: []string{"alice@contoso.com"}}, false},
		{"group = upn", Identity{OID: other, Groups: []string{"alice@contoso.com"}}, false},
		{"upn with dotted capital I", Identity{OID: other, UPN: "al\u0130ce@contoso.com"}, false},
		{"upn with Kelvin sign", Identity{OID: other, UPN: "des\u212a@contoso.com"}, false},
		{"upn with trailing blank", Identity{OID: other, UPN: "alice@contoso.com "}, false},
		{"upn with trailing no-break space", Identity{OID: other, UPN: "alice@contoso.com\u00a0"}, false},
		{"upn with fullwidth letters", Identity{OID: other, UPN: "\uff41lice@contoso.com"}, false},
		{"nobody", Identity{OID: other, UPN: "mallory@contoso.com"}, false},
	} {
		if got := l.Allows(&tc.id); got != tc.want {
			t.Errorf("%s: Allows = %v, want %v", tc.name, got, tc.want)
		}
	}
	if l.Allows(nil) {
		t.Error("nil identity allowed")
	}
}

func TestActor(t *testing.T) {
	if a := (&Identity{OID: aliceOID, UPN: "alice@contoso.com"}).Actor(); a != "principal:alice@contoso.com" {
		t.Errorf("actor %q", a)
	}
	if a := (&Identity{OID: aliceOID}).Actor(); a != "principal:"+aliceOID {
		t.Errorf("actor %q", a)
	}
	if a := (&Identity{OID: aliceOID, UPN: "a\nb@c"}).Actor(); a != "principal:"+aliceOID {
		t.Errorf("actor with a control character: %q", a)
	}
}

func principal(t *testing.T, authType string, claims ...[2]string) http.Header {
	t.Helper()
	type claim struct {
		Typ string `json:"typ"`
		Val string `json:"val"`
	}
	var cs []claim
	for _, c := range claims {
		cs = append(cs, claim{c[0], c[1]})
	}
	b, err := json.Marshal(map[string]any{"auth_typ": authType, "claims": cs,
		"name_typ": "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress", "role_typ": "roles"})
	if err != nil {
		t.Fatal(err)
	}
	h := http.Header{}
	h.Set(HeaderPrincipal, base64.StdEncoding.EncodeToString(b))
	return h
}

func TestFromEasyAuth(t *testing.T) {
	h := principal(t, "aad",
		[2]string{"http://schemas.microsoft.com/identity/claims/objectidentifier", strings.ToUpper(aliceOID)},
		[2]string{"http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn", "alice@contoso.com"},
		[2]string{"http://schemas.microsoft.com/identity/claims/tenantid", tenant},
		[2]string{"groups", opsGroup}, [2]string{"groups", "not-a-guid"},
		[2]string{"roles", "PLS.Approver"},
		[2]string{"name", "bob@contoso.com"}, [2]string{"preferred_username", "bob@contoso.com"},
		[2]string{"http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress", "bob@contoso.com"},
	)
	h.Set("X-MS-CLIENT-PRINCIPAL-NAME", "bob@contoso.com")
	id, err := FromEasyAuth(h, tenant)
	if err != nil {
		t.Fatal(err)
	}
	if id.OID != aliceOID || id.UPN != "alice@contoso.com" || len(id.Groups) != 1 || id.Groups[0] != opsGroup ||
		len(id.Roles) != 1 || id.TenantID != tenant {
		t.Fatalf("identity %+v", id)
	}
	for _, tc := range []struct {
		name string
		h    http.Header
		want string
	}{
		{"another provider", principal(t, "google", [2]string{"oid", aliceOID}), "auth_typ"},
		{"another tenant", principal(t, "aad", [2]string{"oid", aliceOID}, [2]string{"tid", other}), "another tenant"},
		{"no tenant claim", principal(t, "aad", [2]string{"oid", aliceOID}), "another tenant"},
		{"two object IDs", principal(t, "aad", [2]string{"oid", other}, [2]string{"oid", aliceOID}, [2]string{"tid", tenant}), "conflicting"},
		{"no object ID", principal(t, "aad", [2]string{"upn", "alice@contoso.com"}, [2]string{"tid", tenant}), "no object ID"},
		{"object ID not a GUID", principal(t, "aad", [2]string{"oid", "{" + aliceOID + "}"}, [2]string{"tid", tenant}), "not a GUID"},
		{"not base64", header(HeaderPrincipal, "%%%"), "not base64"},
		{"not JSON", header(HeaderPrincipal, base64.StdEncoding.EncodeToString([]byte("nope"))), "not JSON"},
		{"twice", header(HeaderPrincipal, "e30=", "e30="), "more than one"},
	} {
		if _, err := FromEasyAuth(tc.h, tenant); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error containing %q", tc.name, err, tc.want)
		}
	}
	if _, err := FromEasyAuth(header("X-MS-CLIENT-PRINCIPAL-NAME", "alice@contoso.com"), ""); !errors.Is(err, ErrNoPrincipal) {
		t.Errorf("name header only: %v, want ErrNoPrincipal", err)
	}
}

func header(k string, vs ...string) http.Header {
	h := http.Header{}
	for _, v := range vs {
		h.Add(k, v)
	}
	return h
}

func TestIssuers(t *testing.T) {
	for host, want := range map[string][2]string{
		"https://login.microsoftonline.com":        {"https://sts.windows.net/" + tenant + "/", "https://login.microsoftonline.com/" + tenant + "/v2.0"},
		"https://login.microsoftonline.us":         {"https://sts.windows.net/" + tenant + "/", "https://login.microsoftonline.us/" + tenant + "/v2.0"},
		"https://login.partner.microsoftonline.cn": {"https://sts.chinacloudapi.cn/" + tenant + "/", "https://login.partner.microsoftonline.cn/" + tenant + "/v2.0"},
		"http://127.0.0.1:4000":                    {"http://127.0.0.1:4000/" + tenant + "/", "http://127.0.0.1:4000/" + tenant + "/v2.0"},
	} {
		if v1, v2 := Issuers(host, tenant); v1 != want[0] || v2 != want[1] {
			t.Errorf("%s: %s %s", host, v1, v2)
		}
	}
	for _, bad := range []string{"http://login.microsoftonline.com", "https://login.microsoftonline.com/common", "ftp://x", "https://u:p@x", "https://x?q=1", "login.microsoftonline.com", "http://10.0.0.1"} {
		if _, err := CheckAuthorityHost(bad); err == nil {
			t.Errorf("CheckAuthorityHost(%q) accepted", bad)
		}
	}
	if h, err := CheckAuthorityHost("https://Login.MicrosoftOnline.com/"); err != nil || h != DefaultAuthorityHost {
		t.Errorf("CheckAuthorityHost: %q, %v", h, err)
	}
}

func startIssuer(t *testing.T) *tokenissuer.Issuer {
	t.Helper()
	iss, err := tokenissuer.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = iss.Close() })
	return iss
}

func newVerifier(t *testing.T, host string) *EntraVerifier {
	t.Helper()
	v, err := NewEntraVerifier(EntraOptions{TenantID: tenant, Audiences: []string{appIDURI, clientID}, AuthorityHost: host})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// Real signed tokens from the local issuer, v1 and v2, and every way one must be refused.
func TestEntraVerifier(t *testing.T) {
	iss := startIssuer(t)
	v := newVerifier(t, iss.URL)
	ctx := context.Background()
	good := func(version int, aud string) tokenissuer.Token {
		return tokenissuer.Token{Version: version, TenantID: tenant, Audience: aud, OID: aliceOID, UPN: "alice@contoso.com",
			Groups: []string{strings.ToUpper(opsGroup)}, Roles: []string{"PLS.Approver"}}
	}
	for _, tc := range []struct {
		name string
		tok  tokenissuer.Token
	}{
		{"v1, App ID URI", good(1, appIDURI)},
		{"v2, client ID", good(2, clientID)},
		{"v2, application roles only (no scp)", func() tokenissuer.Token {
			k := good(2, clientID)
			k.Extra = map[string]any{"scp": nil}
			return k
		}()},
	} {
		id, err := v.Verify(ctx, iss.MustMint(tc.tok))
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if id.OID != aliceOID || id.UPN != "alice@contoso.com" || len(id.Groups) != 1 || id.Groups[0] != opsGroup || id.Roles[0] != "PLS.Approver" {
			t.Errorf("%s: identity %+v", tc.name, id)
		}
	}

	mod := func(version int, f func(*tokenissuer.Token)) tokenissuer.Token {
		tok := good(version, clientID)
		if version == 1 {
			tok.Audience = appIDURI
		}
		f(&tok)
		return tok
	}
	foreign := startIssuer(t) // another authority whose keys plsgate does not trust
	for _, tc := range []struct {
		name, raw, want string
	}{
		{"wrong issuer host", iss.MustMint(mod(2, func(k *tokenissuer.Token) { k.Issuer = "https://login.microsoftonline.com/" + tenant + "/v2.0" })), "another tenant"},
		{"v1 issuer of the public cloud on a loopback authority", iss.MustMint(mod(1, func(k *tokenissuer.Token) { k.Issuer = "https://sts.windows.net/" + tenant + "/" })), "another tenant"},
		{"wrong tenant", iss.MustMint(mod(2, func(k *tokenissuer.Token) { k.TenantID = other })), "another tenant"},
		{"wrong tenant, v1", iss.MustMint(mod(1, func(k *tokenissuer.Token) { k.TenantID = other })), "another tenant"},
		{"tid differs from the issuer's tenant", iss.MustMint(mod(2, func(k *tokenissuer.Token) { k.Extra = map[string]any{"tid": other} })), "another tenant"},
		{"wrong audience", iss.MustMint(mod(2, func(k *tokenissuer.Token) { k.Audience = "api://someone-else" })), "another audience"},
		{"Microsoft Graph audience", iss.MustMint(mod(1, func(k *tokenissuer.Token) { k.Audience = "00000003-0000-0000-c000-000000000000" })), "another audience"},
		{"expired", iss.MustMint(mod(2, func(k *tokenissuer.Token) { k.IssuedAt = time.Now().Add(-2 * time.Hour) })), "expired"},
		{"not valid yet", iss.MustMint(mod(2, func(k *tokenissuer.Token) { k.NotBefore = time.Now().Add(time.Hour) })), "validity"},
		{"no expiry", iss.MustMint(mod(2, func(k *tokenissuer.Token) { k.Extra = map[string]any{"exp": nil} })), "validity"},
		{"bad signature (unpublished key)", iss.MustMint(mod(2, func(k *tokenissuer.Token) { k.UnpublishedKey = true })), "signature"},
		{"signed by another authority", foreign.MustMint(mod(2, func(k *tokenissuer.Token) { k.Issuer = iss.V2Issuer(tenant) })), "signature"},
		{"alg none", iss.MustMint(mod(2, func(k *tokenissuer.Token) { k.Alg = "none" })), "signature"},
		{"HS256 keyed with the public key", iss.MustMint(mod(2, func(k *tokenissuer.Token) { k.Alg = "HS256" })), "signature"},
		{"no oid", iss.MustMint(mod(2, func(k *tokenissuer.Token) { k.OID = "" })), "oid"},
		// An ID token issued to our client ID: same issuer, audience and signature, but
		// neither delegated scopes nor application roles.
		{"ID token (no scp, no roles)", iss.MustMint(mod(2, func(k *tokenissuer.Token) { k.Roles = nil; k.Extra = map[string]any{"scp": nil} })), "not an access token"},
		{"tampered payload", tamper(t, iss.MustMint(good(2, clientID))), "signature"},
		{"garbage", "not.a.token", "signature"},
		{"empty", "", "empty"},
		{"huge", strings.Repeat("a", 40<<10), "too large"},
	} {
		id, err := v.Verify(ctx, tc.raw)
		var te *TokenError
		if !errors.As(err, &te) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %+v, %v; want a TokenError containing %q", tc.name, id, err, tc.want)
		}
		if err != nil && tc.raw != "" && len(tc.raw) > 20 && strings.Contains(err.Error(), tc.raw[len(tc.raw)-20:]) {
			t.Errorf("%s: the error repeats the token", tc.name)
		}
	}
	// One discovery for all of the above; keys fetched once more for each unknown-key attempt at most.
	if n := iss.Discoveries(); n != 1 {
		t.Errorf("%d discoveries, want 1 (cached)", n)
	}
}

// tamper swaps the upn in the payload for another, keeping the signature.
func tamper(t *testing.T, raw string) string {
	parts := strings.Split(raw, ".")
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	b = []byte(strings.Replace(string(b), "alice@contoso.com", "admin@contoso.com", 1))
	parts[1] = base64.RawURLEncoding.EncodeToString(b)
	return strings.Join(parts, ".")
}

// With the authority down, a token is not judged (ErrUnavailable → 503), and the next one
// after it is back is verified.
func TestEntraVerifierUnavailable(t *testing.T) {
	iss := startIssuer(t)
	tok := iss.MustMint(tokenissuer.Token{TenantID: tenant, Audience: clientID, OID: aliceOID})
	dead := startIssuer(t)
	host := dead.URL
	_ = dead.Close()
	v := newVerifier(t, host)
	if _, err := v.Verify(context.Background(), tok); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("authority down: %v, want ErrUnavailable", err)
	}
	v2 := newVerifier(t, iss.URL)
	if _, err := v2.Verify(context.Background(), tok); err != nil {
		t.Fatalf("authority up: %v", err)
	}
}

// Discovery must name the expected v2 issuer and keys on the authority's own host.
func TestEntraVerifierDiscoveryMismatch(t *testing.T) {
	iss := startIssuer(t)
	v, err := NewEntraVerifier(EntraOptions{TenantID: tenant, Audiences: []string{clientID}, AuthorityHost: strings.Replace(iss.URL, "127.0.0.1", "localhost", 1)})
	if err != nil {
		t.Fatal(err)
	}
	// The issuer publishes issuer http://127.0.0.1:…, not http://localhost:…: discovery refuses it.
	tok := iss.MustMint(tokenissuer.Token{TenantID: tenant, Audience: clientID, OID: aliceOID})
	if _, err := v.Verify(context.Background(), tok); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("mismatched discovery: %v, want ErrUnavailable", err)
	}
}

func TestNewEntraVerifierOptions(t *testing.T) {
	for _, o := range []EntraOptions{
		{TenantID: "contoso.onmicrosoft.com", Audiences: []string{clientID}},
		{TenantID: tenant},
		{TenantID: tenant, Audiences: []string{clientID}, AuthorityHost: "http://login.microsoftonline.com"},
	} {
		if _, err := NewEntraVerifier(o); err == nil {
			t.Errorf("NewEntraVerifier(%+v) accepted", o)
		}
	}
	v, err := NewEntraVerifier(EntraOptions{TenantID: strings.ToUpper(tenant), Audiences: []string{appIDURI}})
	if err != nil || v.issV1 != "https://sts.windows.net/"+tenant+"/" || v.issV2 != "https://login.microsoftonline.com/"+tenant+"/v2.0" {
		t.Fatalf("defaults: %v %+v", err, v)
	}
}
