package auth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
)

// DefaultAuthorityHost is the public cloud's Microsoft Entra authority (AUTH_AUTHORITY_HOST).
const DefaultAuthorityHost = "https://login.microsoftonline.com"

// v1IssuerHosts maps an authority host to the host of its v1.0 token issuer
// ("https://sts.windows.net/{tid}/" in the public cloud). The claims reference says iss names
// the STS and the tenant, with "/v2.0" at the end for v2.0 tokens
// (https://learn.microsoft.com/entra/identity-platform/access-token-claims-reference); the v1
// hosts per cloud are from Microsoft Q&A "What are the token issuers for the sovereign cloud"
// (https://learn.microsoft.com/answers/questions/1190472): sts.windows.net for the global
// service and US Government, sts.chinacloudapi.cn for 21Vianet. Any other host (the local
// issuer on loopback) issues v1 tokens as {host}/{tid}/; a real cloud missing here then fails
// closed (its v1 tokens are refused, v2 tokens still work).
var v1IssuerHosts = map[string]string{
	"https://login.microsoftonline.com":        "https://sts.windows.net",
	"https://login.microsoftonline.us":         "https://sts.windows.net",
	"https://login.chinacloudapi.cn":           "https://sts.chinacloudapi.cn",
	"https://login.partner.microsoftonline.cn": "https://sts.chinacloudapi.cn",
}

// Issuers returns the v1.0 and v2.0 issuers of tenant tid under authority host (no trailing
// slash): v1 "https://sts.windows.net/{tid}/", v2 "{host}/{tid}/v2.0".
func Issuers(host, tid string) (v1, v2 string) {
	v1Host, ok := v1IssuerHosts[host]
	if !ok {
		v1Host = host
	}
	return v1Host + "/" + tid + "/", host + "/" + tid + "/v2.0"
}

// CheckAuthorityHost accepts https://HOST[:PORT] (plain http only on loopback), without
// path, query or credentials, and returns it without a trailing slash.
func CheckAuthorityHost(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
		return "", fmt.Errorf("%q: want https://HOST (no path), e.g. %s", raw, DefaultAuthorityHost)
	}
	switch u.Scheme {
	case "https":
	case "http":
		if !isLoopback(u.Hostname()) {
			return "", fmt.Errorf("%q: want https (plain http only on loopback)", raw)
		}
	default:
		return "", fmt.Errorf("%q: want https (plain http only on loopback)", raw)
	}
	return strings.ToLower(u.Scheme + "://" + u.Host), nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// EntraOptions configure an EntraVerifier (AUTH_TENANT_ID, AUTH_AUDIENCE, AUTH_AUTHORITY_HOST).
type EntraOptions struct {
	TenantID      string   // GUID
	Audiences     []string // App ID URI (v1 tokens) and/or client ID (v2 tokens)
	AuthorityHost string   // default DefaultAuthorityHost
	// Client fetches the discovery document and keys; default one with a 10 s timeout.
	Client *http.Client
	Now    func() time.Time
}

// EntraVerifier checks Entra ID access tokens of one tenant and audience.
type EntraVerifier struct {
	tenant         string
	audiences      []string
	host           string
	issV1, issV2   string
	client         *http.Client
	now            func() time.Time
	mu             sync.Mutex
	verifier       *oidc.IDTokenVerifier // set after the first successful discovery
	lastDiscovery  time.Time
	discoveryError error
}

// ErrUnavailable means the tenant's discovery document or keys could not be read: the token
// was not judged (503, not 401).
var ErrUnavailable = errors.New("the Entra ID discovery document cannot be read right now")

// TokenError is a refused token; Reason is safe to show the caller (it never holds token text).
type TokenError struct{ Reason string }

func (e *TokenError) Error() string { return "invalid token: " + e.Reason }

// maxToken bounds what is parsed (Entra access tokens with 200 groups are ~10 KB).
const maxToken = 32 << 10

// NewEntraVerifier checks the options; it makes no network call (discovery happens on the
// first token, so start-up does not depend on Entra being reachable).
func NewEntraVerifier(o EntraOptions) (*EntraVerifier, error) {
	tid, ok := CanonicalGUID(o.TenantID)
	if !ok {
		return nil, fmt.Errorf("tenant ID %q is not a GUID", o.TenantID)
	}
	if len(o.Audiences) == 0 {
		return nil, errors.New("no audience")
	}
	if o.AuthorityHost == "" {
		o.AuthorityHost = DefaultAuthorityHost
	}
	host, err := CheckAuthorityHost(o.AuthorityHost)
	if err != nil {
		return nil, err
	}
	if o.Client == nil {
		o.Client = &http.Client{Timeout: 10 * time.Second}
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	v := &EntraVerifier{tenant: tid, audiences: slices.Clone(o.Audiences), host: host, client: o.Client, now: o.Now}
	v.issV1, v.issV2 = Issuers(host, tid)
	return v, nil
}

// rediscoverAfter spaces discovery attempts after a failure; discoveryTimeout bounds one.
const (
	rediscoverAfter  = 5 * time.Second
	discoveryTimeout = 15 * time.Second
)

// tokenVerifier returns the go-oidc verifier, discovering the key set on first use: the v2.0
// OpenID configuration of the tenant ({host}/{tid}/v2.0/.well-known/openid-configuration),
// whose issuer must be the v2 issuer and whose jwks_uri must be on the authority host. Entra
// signs v1.0 and v2.0 tokens with the same keys, so one key set serves both.
func (v *EntraVerifier) tokenVerifier(ctx context.Context) (*oidc.IDTokenVerifier, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.verifier != nil {
		return v.verifier, nil
	}
	if v.discoveryError != nil && v.now().Sub(v.lastDiscovery) < rediscoverAfter {
		return nil, v.discoveryError
	}
	v.lastDiscovery = v.now()
	// Not the caller's context: a cancelled request must not count as Entra being down.
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), discoveryTimeout)
	defer cancel()
	p, err := oidc.NewProvider(oidc.ClientContext(dctx, v.client), v.issV2)
	if err != nil {
		v.discoveryError = fmt.Errorf("%w: %v", ErrUnavailable, err)
		return nil, v.discoveryError
	}
	var meta struct {
		JWKSURI string `json:"jwks_uri"`
	}
	if err := p.Claims(&meta); err != nil {
		v.discoveryError = fmt.Errorf("%w: %v", ErrUnavailable, err)
		return nil, v.discoveryError
	}
	u, err := url.Parse(meta.JWKSURI)
	if err != nil || strings.ToLower(u.Scheme+"://"+u.Host) != v.host {
		v.discoveryError = fmt.Errorf("%w: jwks_uri %q is not on %s", ErrUnavailable, meta.JWKSURI, v.host)
		return nil, v.discoveryError
	}
	keys := oidc.NewRemoteKeySet(oidc.ClientContext(context.Background(), v.client), meta.JWKSURI)
	// Issuer and audience are checked below against two allowed values each; go-oidc checks
	// the RS256 signature (no "none", no HMAC), exp and nbf.
	v.verifier = oidc.NewVerifier(v.issV2, keys, &oidc.Config{
		SkipClientIDCheck: true, SkipIssuerCheck: true,
		SupportedSigningAlgs: []string{oidc.RS256}, Now: v.now,
	})
	v.discoveryError = nil
	return v.verifier, nil
}

// accessClaims are the claims plsgate reads from a verified token.
type accessClaims struct {
	TenantID   string            `json:"tid"`
	OID        string            `json:"oid"`
	UPN        string            `json:"upn"`
	Groups     json.RawMessage   `json:"groups"` // an array, or a source name on overage
	Roles      []string          `json:"roles"`
	Scope      string            `json:"scp"`
	ClaimNames map[string]string `json:"_claim_names"`
}

// Verify checks raw (the bearer token) and returns the caller. *TokenError when the token is
// refused, an error wrapping ErrUnavailable when the keys cannot be read.
func (v *EntraVerifier) Verify(ctx context.Context, raw string) (*Identity, error) {
	if raw == "" || len(raw) > maxToken {
		return nil, &TokenError{"empty or too large"}
	}
	tv, err := v.tokenVerifier(ctx)
	if err != nil {
		return nil, err
	}
	tok, err := tv.Verify(ctx, raw)
	if err != nil {
		var exp *oidc.TokenExpiredError
		if errors.As(err, &exp) {
			return nil, &TokenError{"expired"}
		}
		return nil, &TokenError{"signature, format or validity period not accepted"}
	}
	if tok.Issuer != v.issV1 && tok.Issuer != v.issV2 {
		return nil, &TokenError{"issued by another tenant or authority"}
	}
	audOK := false
	for _, a := range tok.Audience {
		if slices.Contains(v.audiences, a) {
			audOK = true
		}
	}
	if !audOK {
		return nil, &TokenError{"issued for another audience"}
	}
	var c accessClaims
	if err := tok.Claims(&c); err != nil {
		return nil, &TokenError{"unreadable claims"}
	}
	if tid, ok := CanonicalGUID(c.TenantID); !ok || tid != v.tenant {
		return nil, &TokenError{"issued by another tenant or authority"}
	}
	oid, ok := CanonicalGUID(c.OID)
	if !ok {
		return nil, &TokenError{"no object ID (oid) claim"}
	}
	// An access token carries delegated scopes (scp) or application roles (roles); an ID token
	// issued to our client ID carries neither. Microsoft.Identity.Web refuses such a bearer token
	// the same way (IDW10201, AzureAD/microsoft-identity-web#1038); azure-docs
	// identity-platform access-token-claims-reference.md lists scp and roles as access-token claims.
	if strings.TrimSpace(c.Scope) == "" && len(c.Roles) == 0 {
		return nil, &TokenError{"not an access token (neither scp nor roles claim)"}
	}
	id := &Identity{OID: oid, UPN: c.UPN, Roles: c.Roles, TenantID: v.tenant}
	var groups []string
	if len(c.Groups) > 0 && json.Unmarshal(c.Groups, &groups) != nil {
		id.GroupsOverage = true
	}
	id.Groups = canonicalGUIDs(groups)
	if _, ok := c.ClaimNames["groups"]; ok {
		id.GroupsOverage = true
	}
	return id, nil
}

// String describes the verifier for logs (no secrets: issuers and audiences are public).
func (v *EntraVerifier) String() string {
	b, _ := json.Marshal(map[string]any{"issuers": []string{v.issV1, v.issV2}, "audiences": v.audiences})
	return string(b)
}
