package api_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/plsgate/plsgate/internal/armemu"
	"github.com/plsgate/plsgate/internal/devenv/tokenissuer"
	"github.com/plsgate/plsgate/internal/testenv"
)

const (
	e2eTenant   = "72f988bf-86f1-41af-91ab-2d7cd011db47"
	e2eAudience = "api://plsgate"
	e2eClientID = "3d2e1f00-aaaa-4bbb-8ccc-000000000001"
)

// pendingConnection creates a consumer's Pending connection the policy leaves alone.
func pendingConnection(t *testing.T, env *testenv.Env, name string) string {
	t.Helper()
	pe, err := env.ARM.CreatePrivateEndpoint(armemu.PrivateEndpoint{SubscriptionID: consumerSub, ResourceGroup: "cust", Name: name, Location: "eastus",
		Links: []*armemu.PrivateEndpointLink{{Name: name, Manual: true, PrivateLinkServiceID: testenv.PLSID, RequestMessage: "hello"}}})
	if err != nil {
		t.Fatal(err)
	}
	return testenv.PLSID + "/privateEndpointConnections/" + pe.Links[0].ConnectionName
}

// TestE2EEntraMode: AUTH_MODE=entra through the host emulator with real RS256 tokens from the
// local issuer (discovery + keys on loopback). Only a token of this tenant and audience, of a
// listed identity, decides; the 401 carries a Bearer challenge through the host; Easy Auth
// headers are not read.
func TestE2EEntraMode(t *testing.T) {
	iss, err := tokenissuer.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = iss.Close() })
	env := startEnvWith(t, map[string]string{
		"AUTH_MODE":           "entra",
		"AUTH_TENANT_ID":      e2eTenant,
		"AUTH_AUDIENCE":       e2eAudience + "," + e2eClientID,
		"AUTH_AUTHORITY_HOST": iss.URL,
		"APPROVERS":           "oid:" + aliceOID,
		"APPROVERS_FORCE":     "group:" + opsGroup,
	})
	connID := pendingConnection(t, env, "pe-entra")
	body := map[string]any{"connectionId": connID, "reason": "CAB-7", "force": true}
	bearer := func(k tokenissuer.Token) map[string]string {
		if k.TenantID == "" {
			k.TenantID = e2eTenant
		}
		if k.Audience == "" {
			k.Audience = e2eClientID
		}
		return map[string]string{"Authorization": "Bearer " + iss.MustMint(k)}
	}

	// No token: 401 with the challenge, through the host.
	raw, _ := json.Marshal(body)
	st, hdr, b := rawAPI(t, env, "POST", "/api/v1/connections/approve", string(raw), nil)
	wantStatus(t, st, b, 401, "Unauthenticated")
	if !strings.HasPrefix(hdr.Get("WWW-Authenticate"), "Bearer") {
		t.Fatalf("WWW-Authenticate %q", hdr.Get("WWW-Authenticate"))
	}
	for name, h := range map[string]map[string]string{
		"Easy Auth headers":   alice(),
		"wrong audience":      bearer(tokenissuer.Token{Audience: "api://other", OID: aliceOID, Groups: []string{opsGroup}}),
		"wrong tenant":        bearer(tokenissuer.Token{TenantID: "0c0ffee0-0000-4000-8000-000000000000", OID: aliceOID, Groups: []string{opsGroup}}),
		"unpublished key":     bearer(tokenissuer.Token{OID: aliceOID, Groups: []string{opsGroup}, UnpublishedKey: true}),
		"alg none, v1 shaped": bearer(tokenissuer.Token{Version: 1, Audience: e2eAudience, OID: aliceOID, Groups: []string{opsGroup}, Alg: "none"}),
	} {
		st, body := env.API(t, "POST", "/api/v1/connections/approve", body, h)
		if st != http.StatusUnauthorized {
			t.Fatalf("%s: %d %s", name, st, body)
		}
	}
	// A valid token of an approver who is not a forcer: 403.
	st, b = env.API(t, "POST", "/api/v1/connections/approve", body, bearer(tokenissuer.Token{OID: aliceOID, UPN: aliceUPN}))
	wantStatus(t, st, b, 403, "Forbidden")
	if n := env.ARM.Counters()[updateOp]; n != 0 {
		t.Fatalf("refused requests made %d ARM writes", n)
	}

	// alice, in the ops group, with a v1 token for the App ID URI: approved, recorded as her.
	st, b = env.API(t, "POST", "/api/v1/connections/approve", body,
		bearer(tokenissuer.Token{Version: 1, Audience: e2eAudience, OID: aliceOID, UPN: aliceUPN, Groups: []string{opsGroup}}))
	got := decode[struct{ Result, To, Actor string }](t, b)
	if st != 200 || got.To != "Approved" || got.Actor != "principal:"+aliceUPN || env.ARM.Counters()[updateOp] != 1 {
		t.Fatalf("approve %d: %s", st, b)
	}
	st, b = env.API(t, "GET", "/api/v1/connections/history?connectionId="+url.QueryEscape(connID), nil, nil)
	if h := decode[historyBody](t, b); st != 200 || !strings.Contains(steps(h.Items), "Pending>Approved:done:principal:"+aliceUPN) {
		t.Fatalf("history %d: %s", st, steps(h.Items))
	}
	// Reconcile also needs the token; a v2 token of alice is enough (no force involved).
	st, b = env.API(t, "POST", "/api/v1/reconcile", map[string]any{"privateLinkServiceId": testenv.PLSID}, nil)
	wantStatus(t, st, b, 401, "Unauthenticated")
	st, b = env.API(t, "POST", "/api/v1/reconcile", map[string]any{"privateLinkServiceId": testenv.PLSID}, bearer(tokenissuer.Token{OID: aliceOID}))
	if st != 200 {
		t.Fatalf("reconcile %d: %s", st, b)
	}
}

// TestE2EKeyMode: the default mode refuses force (403) whatever headers come along, and records
// the function key as the actor of a plain decision.
func TestE2EKeyMode(t *testing.T) {
	env := startEnvWith(t, nil)
	connID := pendingConnection(t, env, "pe-key")
	st, b := env.API(t, "POST", "/api/v1/connections/reject", map[string]any{"connectionId": connID, "reason": "r", "force": true}, alice())
	if e := wantStatus(t, st, b, 403, "Forbidden"); !strings.Contains(e.Error.Message, "AUTH_MODE") {
		t.Fatalf("403 message %q", e.Error.Message)
	}
	if n := env.ARM.Counters()[updateOp]; n != 0 {
		t.Fatalf("%d ARM writes", n)
	}
}
