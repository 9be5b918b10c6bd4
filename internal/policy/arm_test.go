package policy

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func readExample(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "examples", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

const (
	wpsPLSID = "/subscriptions/5f1c2d3e-0a1b-4c2d-8e3f-9a0b1c2d3e4f/resourceGroups/contoso/providers/Microsoft.Network/privateLinkServices/pls-web"
	wpsConn1 = "pls-web.2f3e4d5c-6b7a-4980-a1b2-c3d4e5f6a7b8"
	wpsConn2 = "pls-web.9e8d7c6b-5a49-4382-b1a0-f9e8d7c6b5a4"
)

func TestFactsFromARM(t *testing.T) {
	conn := readExample(t, "connections/webpubsub-connection.json")
	pls := readExample(t, "connections/webpubsub-pls.json")
	wantConn := Connection{
		ID:                      wpsPLSID + "/privateEndpointConnections/" + wpsConn1,
		Name:                    wpsConn1,
		Status:                  "Pending",
		Description:             "plsgate-wps-3f9c1e7a52d84b60",
		LinkIdentifier:          "536870912",
		PrivateEndpointID:       "/subscriptions/e1f2a3b4-c5d6-4e7f-8a9b-0c1d2e3f4a5b/resourceGroups/vnet-rg-webpubsub-westeurope/providers/Microsoft.Network/privateEndpoints/wps-contoso-spl",
		PrivateEndpointLocation: "westeurope",
	}
	wantReq := Requester{SubscriptionID: "e1f2a3b4-c5d6-4e7f-8a9b-0c1d2e3f4a5b", ResourceGroup: "vnet-rg-webpubsub-westeurope"}
	fullPLS := PLS{ID: wpsPLSID, Name: "pls-web", SubscriptionID: "5f1c2d3e-0a1b-4c2d-8e3f-9a0b1c2d3e4f", ResourceGroup: "contoso",
		Location: "westeurope", Alias: "pls-web.3c4d5e6f-7a8b-9c0d-1e2f-3a4b5c6d7e8f.westeurope.azure.privatelinkservice",
		Tags: map[string]string{"plsgate": "enabled"}, Visibility: []string{"*"}, AutoApproval: []string{}, Fqdns: []string{"api.contoso.internal"}}
	idOnlyPLS := PLS{ID: wpsPLSID, Name: "pls-web", SubscriptionID: "5f1c2d3e-0a1b-4c2d-8e3f-9a0b1c2d3e4f", ResourceGroup: "contoso"}

	tests := []struct {
		name      string
		conn, pls []byte
		wantPLS   PLS
		wantConn  string // connection name
	}{
		{"connection alone implies the PLS", conn, nil, idOnlyPLS, wpsConn1},
		{"connection and PLS", conn, pls, fullPLS, wpsConn1},
		{"name looked up in the PLS", []byte(`"` + wpsConn2 + `"`), pls, fullPLS, wpsConn2},
		{"name is case-insensitive", []byte(`"` + strings.ToUpper(wpsConn2) + `"`), pls, fullPLS, wpsConn2},
		{"ID looked up in the PLS", []byte(`"` + strings.ToLower(wpsPLSID) + "/privateendpointconnections/" + wpsConn1 + `"`), pls, fullPLS, wpsConn1},
		{"PLS given as the connection input", readExample(t, "connections/webpubsub-pls.json"), nil, fullPLS, ""}, // two connections: error below
		{"ARM list", []byte(`{"value": [` + string(conn) + `]}`), nil, idOnlyPLS, wpsConn1},
		{"JSON array", []byte(`[` + string(conn) + `]`), nil, idOnlyPLS, wpsConn1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := FactsFromARM(tt.conn, tt.pls)
			if tt.wantConn == "" {
				if err == nil || !strings.Contains(err.Error(), "has 2 connections: name one of ["+wpsConn1+", "+wpsConn2+"]") {
					t.Fatalf("err = %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if f.Connection.Name != tt.wantConn {
				t.Fatalf("connection = %q, want %q", f.Connection.Name, tt.wantConn)
			}
			if tt.wantConn == wpsConn1 && (f.Connection != wantConn || f.Requester != wantReq) {
				t.Errorf("connection = %+v\nrequester = %+v", f.Connection, f.Requester)
			}
			if !reflect.DeepEqual(f.PLS, tt.wantPLS) {
				t.Errorf("PLS = %+v\nwant  %+v", f.PLS, tt.wantPLS)
			}
		})
	}
}

func TestFactsFromARMFlattenedAzShape(t *testing.T) {
	pls := readExample(t, "connections/frontdoor-pls.json")
	f, err := FactsFromARM([]byte(`"pls-origin.5e6f7081-92a3-4b4c-86d7-e8f9a0b1c2d3"`), pls)
	if err != nil {
		t.Fatal(err)
	}
	if f.Connection.Description != "frontdoor:contoso-fd" || f.Connection.Status != "Pending" || f.Connection.LinkIdentifier != "536870917" ||
		f.Connection.PrivateEndpointLocation != "eastus2" || f.Requester.SubscriptionID != "f0e1d2c3-b4a5-4968-8776-655443322110" {
		t.Errorf("connection = %+v requester = %+v", f.Connection, f.Requester)
	}
	if f.PLS.Name != "pls-origin" || f.PLS.Tags["frontdoor-profile"] != "contoso-fd" || f.PLS.Location != "eastus2" ||
		!reflect.DeepEqual(f.PLS.Visibility, []string{"*"}) || f.PLS.ResourceGroup != "web" {
		t.Errorf("PLS = %+v", f.PLS)
	}
}

func TestFactsFromARMLinkIdentifierNumber(t *testing.T) {
	f, err := FactsFromARM([]byte(`{"name": "c", "properties": {"linkIdentifier": 536870912, "privateLinkServiceConnectionState": {"status": "Pending"}}}`), nil)
	if err != nil {
		t.Fatal(err)
	}
	if f.Connection.LinkIdentifier != "536870912" || f.Connection.Name != "c" || f.PLS.ID != "" {
		t.Errorf("facts = %+v", f)
	}
}

func TestFactsFromARMErrors(t *testing.T) {
	pls := readExample(t, "connections/webpubsub-pls.json")
	otherConn := `{"id": "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/privateLinkServices/other/privateEndpointConnections/c"}`
	tests := []struct {
		name      string
		conn, pls string
		want      string
	}{
		{"nothing", "", "", "no connection given"},
		{"bad JSON", "{", "", "read connection JSON: unexpected end of JSON input"},
		{"not JSON", "pls-web.x", "", "read connection JSON: want a JSON object, or a JSON string with a connection name"},
		{"name without PLS", `"c1"`, "", `connection "c1": a name or ID needs the private link service JSON to look it up`},
		{"name not found", `"c1"`, string(pls), `connection "c1" not found among the PLS's connections [` + wpsConn1 + ", " + wpsConn2 + "]"},
		{"PLS input is a connection", "", otherConn, "read private link service JSON: it is not a private link service"},
		{"two PLSs", string(pls), string(pls), "both inputs are private link services"},
		{"connection of another PLS", otherConn, string(pls), "connection /subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/privateLinkServices/other/privateEndpointConnections/c does not belong to private link service " + wpsPLSID},
		{"no id nor name", `{"properties": {}}`, "", "the connection JSON has neither id nor name"},
		{"PLS without connections", "", `{"id": "` + wpsPLSID + `", "properties": {"privateEndpointConnections": []}}`, "the private link service has no privateEndpointConnections"},
		{"bad linkIdentifier", `{"name": "c", "linkIdentifier": true}`, "", "want a string or a number"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := FactsFromARM([]byte(tt.conn), []byte(tt.pls))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}
}
