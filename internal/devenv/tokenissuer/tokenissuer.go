package tokenissuer

import (
	"crypto"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Issuer is a running local token issuer.
type Issuer struct {
	// URL is the authority host, http://127.0.0.1:PORT (AUTH_AUTHORITY_HOST).
	URL string

	key         *rsa.PrivateKey
	kid         string
	unpublished struct { // generated on first use: most callers never forge
		once sync.Once
		key  *rsa.PrivateKey
		err  error
	}
	srv         *http.Server
	ln          net.Listener
	keyFetches  atomic.Int64
	discoveries atomic.Int64
}

// Start listens on 127.0.0.1 (a free port) and serves until Close.
func Start() (*Issuer, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(key.PublicKey.N.Bytes())
	i := &Issuer{URL: "http://" + ln.Addr().String(), key: key, ln: ln,
		kid: base64.RawURLEncoding.EncodeToString(sum[:20])} // 20 bytes: go-jose checks x5t is SHA-1 sized
	i.srv = &http.Server{Handler: http.HandlerFunc(i.serve), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = i.srv.Serve(ln) }()
	return i, nil
}

// Close stops the server.
func (i *Issuer) Close() error { return i.srv.Close() }

// KeyFetches is how many times the key set was read; Discoveries, the discovery documents.
func (i *Issuer) KeyFetches() int64  { return i.keyFetches.Load() }
func (i *Issuer) Discoveries() int64 { return i.discoveries.Load() }

// V1Issuer and V2Issuer are the iss values of tenant tid's tokens.
func (i *Issuer) V1Issuer(tid string) string { return i.URL + "/" + tid + "/" }
func (i *Issuer) V2Issuer(tid string) string { return i.URL + "/" + tid + "/v2.0" }

// serve answers GET /{tid}/v2.0/.well-known/openid-configuration,
// /{tid}/.well-known/openid-configuration, /{tid}/discovery/v2.0/keys and /{tid}/discovery/keys.
func (i *Issuer) serve(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		http.Error(w, "GET only", http.StatusMethodNotAllowed)
		return
	}
	tid, rest, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
	if tid == "" {
		http.NotFound(w, r)
		return
	}
	switch rest {
	case "v2.0/.well-known/openid-configuration":
		i.discoveries.Add(1)
		writeJSON(w, i.discovery(i.V2Issuer(tid), i.URL+"/"+tid+"/discovery/v2.0/keys", i.URL+"/"+tid+"/oauth2/v2.0"))
	case ".well-known/openid-configuration":
		i.discoveries.Add(1)
		writeJSON(w, i.discovery(i.V1Issuer(tid), i.URL+"/"+tid+"/discovery/keys", i.URL+"/"+tid+"/oauth2"))
	case "discovery/v2.0/keys", "discovery/keys":
		i.keyFetches.Add(1)
		writeJSON(w, i.jwks())
	default:
		http.NotFound(w, r)
	}
}

func (i *Issuer) discovery(issuer, jwksURI, oauth string) map[string]any {
	return map[string]any{
		"issuer":                                issuer,
		"jwks_uri":                              jwksURI,
		"authorization_endpoint":                oauth + "/authorize",
		"token_endpoint":                        oauth + "/token",
		"response_types_supported":              []string{"code", "id_token", "code id_token", "token id_token", "token"},
		"subject_types_supported":               []string{"pairwise"},
		"id_token_signing_alg_values_supported": []string{"RS256"},
	}
}

// jwks is the published key set; like Entra's, its keys carry kid and x5t but no alg.
func (i *Issuer) jwks() map[string]any {
	pub := i.key.PublicKey
	return map[string]any{"keys": []map[string]any{{
		"kty": "RSA", "use": "sig", "kid": i.kid, "x5t": i.kid,
		"n": base64.RawURLEncoding.EncodeToString(pub.N.Bytes()),
		"e": base64.RawURLEncoding.EncodeToString(big.NewInt(int64(pub.E)).Bytes()),
	}}}
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	_ = json.NewEncoder(w).Encode(v)
}

// Token describes an access token to mint. Zero values take Entra's usual shape.
type Token struct {
	Version  int    // 1 or 2 (default 2): iss, ver and the version-specific claims
	TenantID string // tid, and the tenant in iss
	Audience string // aud: App ID URI (v1) or client ID (v2)
	OID      string
	UPN      string // upn claim (v1 carries it for users; v2 only as an optional claim)
	Name     string // display name (never authorises)
	Email    string // never authorises
	// PreferredUsername is v2's mutable sign-in name (never authorises).
	PreferredUsername string
	Groups, Roles     []string
	Scope             string // scp; default "Connections.Decide" (a delegated user token)

	Issuer    string    // overrides iss
	IssuedAt  time.Time // default now
	Expiry    time.Time // default IssuedAt + 1 h
	NotBefore time.Time // default IssuedAt
	Extra     map[string]any

	// For refusal tests: "none" (unsigned), "HS256" (HMAC keyed with the published modulus,
	// the key-confusion forgery), or "" for RS256.
	Alg string
	// UnpublishedKey signs with a key that is not in the key set (a forged signature).
	UnpublishedKey bool
}

// Mint signs t.
func (i *Issuer) Mint(t Token) (string, error) {
	if t.TenantID == "" || t.Audience == "" {
		return "", errors.New("tokenissuer: TenantID and Audience are required")
	}
	if t.Version == 0 {
		t.Version = 2
	}
	if t.IssuedAt.IsZero() {
		t.IssuedAt = time.Now()
	}
	if t.Expiry.IsZero() {
		t.Expiry = t.IssuedAt.Add(time.Hour)
	}
	if t.NotBefore.IsZero() {
		t.NotBefore = t.IssuedAt
	}
	if t.Scope == "" {
		t.Scope = "Connections.Decide"
	}
	c := map[string]any{
		"aud": t.Audience, "tid": t.TenantID, "scp": t.Scope,
		"iat": t.IssuedAt.Unix(), "nbf": t.NotBefore.Unix(), "exp": t.Expiry.Unix(),
		"sub": "sub-" + t.OID, "uti": "local", "rh": "0.local",
	}
	switch t.Version {
	case 1:
		c["iss"], c["ver"], c["appid"], c["appidacr"] = i.V1Issuer(t.TenantID), "1.0", "00000000-0000-0000-0000-00000000c11e", "0"
		if t.UPN != "" {
			c["unique_name"] = t.UPN
		}
	case 2:
		c["iss"], c["ver"], c["azp"], c["azpacr"] = i.V2Issuer(t.TenantID), "2.0", "00000000-0000-0000-0000-00000000c11e", "0"
	default:
		return "", fmt.Errorf("tokenissuer: version %d", t.Version)
	}
	set := func(k string, v any, ok bool) {
		if ok {
			c[k] = v
		}
	}
	set("oid", t.OID, t.OID != "")
	set("upn", t.UPN, t.UPN != "")
	set("name", t.Name, t.Name != "")
	set("email", t.Email, t.Email != "")
	set("preferred_username", t.PreferredUsername, t.PreferredUsername != "")
	set("groups", t.Groups, t.Groups != nil)
	set("roles", t.Roles, t.Roles != nil)
	if t.Issuer != "" {
		c["iss"] = t.Issuer
	}
	for k, v := range t.Extra {
		c[k] = v
	}
	return i.sign(c, t.Alg, t.UnpublishedKey)
}

// MustMint is Mint for tests and the demo, where the token shape is fixed.
func (i *Issuer) MustMint(t Token) string {
	s, err := i.Mint(t)
	if err != nil {
		panic(err)
	}
	return s
}

func (i *Issuer) sign(claims map[string]any, alg string, unpublished bool) (string, error) {
	if alg == "" {
		alg = "RS256"
	}
	header := map[string]any{"typ": "JWT", "alg": alg, "kid": i.kid, "x5t": i.kid}
	hb, err := json.Marshal(header)
	if err != nil {
		return "", err
	}
	cb, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	input := base64.RawURLEncoding.EncodeToString(hb) + "." + base64.RawURLEncoding.EncodeToString(cb)
	switch alg {
	case "none":
		return input + ".", nil
	case "HS256":
		// The key-confusion forgery: HMAC keyed with the published RSA modulus.
		m := hmac.New(sha256.New, i.key.PublicKey.N.Bytes())
		m.Write([]byte(input))
		return input + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil)), nil
	case "RS256":
		key := i.key
		if unpublished {
			u := &i.unpublished
			u.once.Do(func() { u.key, u.err = rsa.GenerateKey(rand.Reader, 2048) })
			if u.err != nil {
				return "", u.err
			}
			key = u.key
		}
		sum := sha256.Sum256([]byte(input))
		sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:])
		if err != nil {
			return "", err
		}
		return input + "." + base64.RawURLEncoding.EncodeToString(sig), nil
	}
	return "", fmt.Errorf("tokenissuer: alg %q", alg)
}
