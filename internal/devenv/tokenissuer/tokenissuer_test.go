package tokenissuer

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

const tid = "72f988bf-86f1-41af-91ab-2d7cd011db47"

func getJSON(t *testing.T, url string, v any) int {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if v != nil && resp.StatusCode == 200 {
		if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
			t.Fatal(err)
		}
	}
	return resp.StatusCode
}

// The discovery documents name Entra's issuer shapes and a key set on the same host; tokens carry
// the matching iss, ver and kid.
func TestDiscoveryAndTokens(t *testing.T) {
	iss, err := Start()
	if err != nil {
		t.Fatal(err)
	}
	defer iss.Close()
	if !strings.HasPrefix(iss.URL, "http://127.0.0.1:") {
		t.Fatalf("URL %s is not loopback", iss.URL)
	}
	var raw2, raw1 map[string]any
	getJSON(t, iss.URL+"/"+tid+"/v2.0/.well-known/openid-configuration", &raw2)
	getJSON(t, iss.URL+"/"+tid+"/.well-known/openid-configuration", &raw1)
	v2Issuer, v1Issuer := iss.URL+"/"+tid+"/v2.0", iss.URL+"/"+tid+"/"
	if raw2["issuer"] != v2Issuer || raw1["issuer"] != v1Issuer || raw2["jwks_uri"] != iss.URL+"/"+tid+"/discovery/v2.0/keys" {
		t.Fatalf("discovery: %v / %v", raw2, raw1)
	}
	var keys struct{ Keys []map[string]string }
	if getJSON(t, raw2["jwks_uri"].(string), &keys) != 200 || len(keys.Keys) != 1 || keys.Keys[0]["kty"] != "RSA" || keys.Keys[0]["kid"] == "" {
		t.Fatalf("keys: %+v", keys)
	}
	if iss.Discoveries() != 2 || iss.KeyFetches() != 1 {
		t.Errorf("counters %d %d", iss.Discoveries(), iss.KeyFetches())
	}
	for _, version := range []int{1, 2} {
		tok := iss.MustMint(Token{Version: version, TenantID: tid, Audience: "api://x", OID: "o", UPN: "u@x"})
		parts := strings.Split(tok, ".")
		h, _ := base64.RawURLEncoding.DecodeString(parts[0])
		p, _ := base64.RawURLEncoding.DecodeString(parts[1])
		var head, claims map[string]any
		_ = json.Unmarshal(h, &head)
		_ = json.Unmarshal(p, &claims)
		wantIss := map[int]string{1: v1Issuer, 2: v2Issuer}[version]
		if len(parts) != 3 || head["alg"] != "RS256" || head["kid"] != keys.Keys[0]["kid"] || claims["iss"] != wantIss ||
			claims["ver"] != map[int]string{1: "1.0", 2: "2.0"}[version] || claims["upn"] != "u@x" {
			t.Errorf("v%d token: %v %v", version, head, claims)
		}
	}
	if tok := iss.MustMint(Token{TenantID: tid, Audience: "a", Alg: "none"}); !strings.HasSuffix(tok, ".") {
		t.Errorf("alg none token %q has a signature", tok)
	}
	if _, err := iss.Mint(Token{TenantID: tid}); err == nil {
		t.Error("a token without an audience was minted")
	}
	if code := getJSON(t, iss.URL+"/"+tid+"/oauth2/v2.0/token", nil); code != 404 {
		t.Errorf("unknown path: %d", code)
	}
}
