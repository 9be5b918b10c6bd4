package api

import (
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
	"unicode"

	"github.com/plsgate/plsgate/internal/arm"
	"github.com/plsgate/plsgate/internal/auth"
)

// checkRefusal: a decoder refuses with a 400 apiError whose message does not echo the input.
func checkRefusal(t *testing.T, err error) {
	t.Helper()
	var ae *apiError
	if !errors.As(err, &ae) || ae.status != http.StatusBadRequest || ae.message == "" {
		t.Fatalf("refusal %v is not a 400 apiError", err)
	}
}

func FuzzDecodeApproveRequest(f *testing.F) {
	for _, s := range []string{
		approveBody("ticket CHG-1", false), approveBody("x", true), `{}`, `{"connectionId": 1}`, `{"reason": "r"}`, `null`, `[]`,
		`{"connectionId": "` + connID + `", "reason": "r", "extra": 1}`, `{"connectionId": "` + connID + `", "reason": "a\u0000b"}`,
		`{"connectionId": "` + strings.ToUpper(connID) + `", "reason": " r "}`, `{"connectionId": "/subscriptions//resourceGroups/"}`,
		approveBody("r", false) + ` {}`, "\xff\xfe", `{"force": null}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		req, err := parseDecisionRequest(data)
		if err != nil {
			checkRefusal(t, err)
			return
		}
		if _, _, perr := arm.ParseConnectionID(req.ConnectionID); perr != nil {
			t.Fatalf("accepted connectionId %q: %v", req.ConnectionID, perr)
		}
		if req.Reason == "" || strings.TrimSpace(req.Reason) != req.Reason || strings.IndexFunc(req.Reason, unicode.IsControl) >= 0 {
			t.Fatalf("accepted reason %q", req.Reason)
		}
	})
}

func FuzzDecodeReconcileRequest(f *testing.F) {
	for _, s := range []string{``, `{}`, `{"privateLinkServiceId": "` + plsID + `"}`, `{"privateLinkServiceId": ""}`, `{"privateLinkServiceId": null}`,
		`{"privateLinkServiceId": "` + connID + `"}`, `{"x": 1}`, `{`, `"{}"`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		req, err := parseReconcileRequest(data)
		if err != nil {
			checkRefusal(t, err)
			return
		}
		if req.PrivateLinkServiceID != nil {
			if _, _, _, perr := arm.ParsePrivateLinkServiceID(*req.PrivateLinkServiceID); perr != nil {
				t.Fatalf("accepted privateLinkServiceId %q: %v", *req.PrivateLinkServiceID, perr)
			}
		}
	})
}

func FuzzDecodeEvaluateRequest(f *testing.F) {
	for _, s := range []string{`{"connectionId": "` + connID + `"}`, `{"connection": {"id": "x"}}`, `{"connection": "pe1", "privateLinkService": {}}`,
		`{"connection": {}, "verified": {"webPubSub": true}}`, `{"connection": null}`, `{"connectionId": "` + connID + `", "connection": {}}`, `{}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		req, err := parseEvaluateRequest(data)
		if err != nil {
			checkRefusal(t, err)
			return
		}
		byID, byJSON := req.ConnectionID != "", req.Connection != nil || req.PrivateLinkService != nil
		if byID == byJSON {
			t.Fatalf("accepted %q: connectionId %v, JSON %v", data, byID, byJSON)
		}
		if byID {
			if _, _, perr := arm.ParseConnectionID(req.ConnectionID); perr != nil {
				t.Fatalf("accepted connectionId %q", req.ConnectionID)
			}
		}
		for k := range req.Verified {
			if k != "webPubSub" {
				t.Fatalf("accepted verification %q", k)
			}
		}
	})
}

func FuzzPrincipal(f *testing.F) {
	f.Add(principalHeader(f, [2]string{"oid", aliceOID}, [2]string{"upn", aliceUPN}, [2]string{"groups", opsGroup}, [2]string{"tid", tenantID}))
	f.Add("e30=")
	f.Add("not base64")
	f.Add(principalHeader(f, [2]string{"oid", aliceOID}, [2]string{"upn", "a\nb"}))
	f.Add(principalHeader(f, [2]string{"oid", strings.ToUpper(aliceOID)}, [2]string{"groups", "{" + opsGroup + "}"}))
	approvers, err := auth.ParseList("oid:" + aliceOID + ",group:" + opsGroup + ",upn:" + aliceUPN + ",role:PLS.Approver")
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, header string) {
		h := http.Header{}
		h.Set(headerPrincipal, header)
		id, err := auth.FromEasyAuth(h, "")
		if err != nil {
			return
		}
		actor := id.Actor()
		if actor == "principal:" || strings.IndexFunc(actor, unicode.IsControl) >= 0 || len(actor) > 300 {
			t.Fatalf("actor %q from %+v", actor, id)
		}
		// Whatever the header says, only the typed claims can match, and exactly.
		if approvers.Allows(id) {
			ok := id.OID == aliceOID || strings.EqualFold(id.UPN, aliceUPN) && isASCII(id.UPN) || slices.Contains(id.Groups, opsGroup) || slices.Contains(id.Roles, "PLS.Approver")
			if !ok {
				t.Fatalf("allowed %+v", id)
			}
		}
	})
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}
