package api

import (
	"errors"
	"net/http"
	"strings"
	"testing"
)

// The decoders refuse IDs whose Table keys would exceed 1 KiB once escaped (each '%' becomes
// three characters, so the raw strings below would fit) with a 400 naming the field; the
// same IDs at a normal length pass. Before: accepted, and the store failed later (503/500).
func TestDecodersRefuseOverlongIDs(t *testing.T) {
	longConn := connID + strings.Repeat("%", 400)
	longPLS := plsID + strings.Repeat("%", 300)
	check := func(name, field string, err error) {
		t.Helper()
		var ae *apiError
		if !errors.As(err, &ae) || ae.status != http.StatusBadRequest || ae.code != CodeInvalidID ||
			!strings.Contains(ae.message, field) || !strings.Contains(ae.message, "1 KiB") {
			t.Errorf("%s: %v, want 400 %s naming %s", name, err, CodeInvalidID, field)
		}
	}
	_, err := parseDecisionRequest([]byte(`{"connectionId":` + jsonString(longConn) + `,"reason":"r"}`))
	check("decision", "connectionId", err)
	_, err = parseEvaluateRequest([]byte(`{"connectionId":` + jsonString(longConn) + `}`))
	check("evaluate", "connectionId", err)
	_, err = parseReconcileRequest([]byte(`{"privateLinkServiceId":` + jsonString(longPLS) + `}`))
	check("reconcile", "privateLinkServiceId", err)
	check("history", "connectionId", checkConnectionID(longConn))
	check("connections", "pls", checkPLSID("pls", longPLS))

	if _, err := parseDecisionRequest([]byte(`{"connectionId":` + jsonString(connID) + `,"reason":"r"}`)); err != nil {
		t.Errorf("a normal ID: %v", err)
	}
	if _, err := parseReconcileRequest([]byte(`{"privateLinkServiceId":` + jsonString(plsID) + `}`)); err != nil {
		t.Errorf("a normal PLS ID: %v", err)
	}
}
