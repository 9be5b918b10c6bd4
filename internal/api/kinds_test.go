package api

import (
	"errors"
	"strings"
	"testing"

	"github.com/plsgate/plsgate/internal/resource"
)

// The manual routes take the IDs of any registered resource kind, not only a private link
// service's: a kind registered here (as a provider's file would) passes every ID check, and the
// OpenAPI document says so of the fields that keep their PLS names. Before, the decoders parsed
// PLS IDs only (400 InvalidResourceId for every other kind).
func TestIDsOfAnyRegisteredKind(t *testing.T) {
	resource.Register(resource.Kind{Type: "Contoso.APITest/gadgets", OperationPrefix: "Contoso.APITest/gadgets/"})
	gadget := "/subscriptions/" + sub + "/resourceGroups/rg/providers/Contoso.APITest/gadgets/g1"
	conn := resource.ConnectionID(gadget, "pe1.abc")
	other := "/subscriptions/" + sub + "/resourceGroups/rg/providers/Other.NS/things/x"

	if _, err := parseDecisionRequest([]byte(`{"connectionId": ` + jsonString(conn) + `, "reason": "r"}`)); err != nil {
		t.Errorf("approve a gadget's connection: %v", err)
	}
	if req, err := parseReconcileRequest([]byte(`{"privateLinkServiceId": ` + jsonString(gadget) + `}`)); err != nil || *req.PrivateLinkServiceID != gadget {
		t.Errorf("reconcile a gadget: %v", err)
	}
	if _, err := parseEvaluateRequest([]byte(`{"connectionId": ` + jsonString(conn) + `}`)); err != nil {
		t.Errorf("evaluate a gadget's connection: %v", err)
	}
	if err := checkPLSID("pls", gadget); err != nil {
		t.Errorf("?pls= a gadget: %v", err)
	}

	refused := func(what string, err error, field string) {
		t.Helper()
		var ae *apiError
		if !errors.As(err, &ae) || ae.code != CodeInvalidID || !strings.HasPrefix(ae.message, field+" is not the ID of") ||
			!strings.Contains(ae.message, "Contoso.APITest/gadgets") || !strings.Contains(ae.message, resource.PrivateLinkService.Type) {
			t.Errorf("%s: %v, want 400 %s naming %s and the registered types", what, err, CodeInvalidID, field)
		}
	}
	_, err := parseDecisionRequest([]byte(`{"connectionId": ` + jsonString(other+"/privateEndpointConnections/c") + `, "reason": "r"}`))
	refused("a connection of no registered kind", err, "connectionId")
	_, err = parseDecisionRequest([]byte(`{"connectionId": ` + jsonString(gadget) + `, "reason": "r"}`))
	refused("a resource ID as connectionId", err, "connectionId")
	_, err = parseReconcileRequest([]byte(`{"privateLinkServiceId": ` + jsonString(other) + `}`))
	refused("a resource of no registered kind", err, "privateLinkServiceId")
	_, err = parseReconcileRequest([]byte(`{"privateLinkServiceId": ` + jsonString(conn) + `}`))
	refused("a connection ID as privateLinkServiceId", err, "privateLinkServiceId")

	d := loadOAS(t)
	schemas := asMap(asMap(d.root["components"])["schemas"])
	for _, f := range [][2]string{{"DecisionRequest", "connectionId"}, {"ReconcileRequest", "privateLinkServiceId"}, {"EvaluateRequest", "connectionId"}, {"Outcome", "privateLinkServiceId"}} {
		desc, _ := asMap(asMap(asMap(schemas[f[0]])["properties"])[f[1]])["description"].(string)
		if !strings.Contains(desc, "any other kind plsgate manages") && !strings.Contains(desc, "another kind plsgate manages") {
			t.Errorf("openapi.json %s.%s does not say it takes other kinds' IDs: %q", f[0], f[1], desc)
		}
	}
}
