package armemu

import (
	"bytes"
	"encoding/json"
	"flag"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

var goldenNow = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

// checkGolden compares body (JSON) with testdata/name after replacing the
// emulator's random base URL and indenting.
func checkGolden(t *testing.T, name, base string, body []byte) {
	t.Helper()
	body = bytes.ReplaceAll(body, []byte(base), []byte("https://management.azure.com"))
	var buf bytes.Buffer
	if err := json.Indent(&buf, body, "", "  "); err != nil {
		t.Fatalf("%s: not JSON: %v\n%s", name, err, body)
	}
	buf.WriteByte('\n')
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -run TestGolden -update)", err)
	}
	if !bytes.Equal(buf.Bytes(), want) {
		t.Errorf("%s differs from golden:\n%s", name, buf.String())
	}
}

// keyPaths flattens a JSON document to its set of key paths ("a.b[].c").
func keyPaths(t *testing.T, body []byte) []string {
	t.Helper()
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatal(err)
	}
	set := map[string]bool{}
	var walk func(prefix string, v any)
	walk = func(prefix string, v any) {
		switch x := v.(type) {
		case map[string]any:
			for k, c := range x {
				p := k
				if prefix != "" {
					p = prefix + "." + k
				}
				set[p] = true
				walk(p, c)
			}
		case []any:
			for _, c := range x {
				walk(prefix+"[]", c)
			}
		}
	}
	walk("", v)
	out := make([]string, 0, len(set))
	for k := range set {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// requireShape checks that body has every key path of the REST example
// shapes (paths read off azure-rest-api-specs examples, cited per case).
func requireShape(t *testing.T, name string, body []byte, paths ...string) {
	t.Helper()
	have := keyPaths(t, body)
	for _, p := range paths {
		if !slices.Contains(have, p) {
			t.Errorf("%s: missing %q (have %v)", name, p, have)
		}
	}
}

// TestGolden scripts the seed's flow with raw requests and pins the main
// response bodies and events (deterministic: fixed seed, fixed clock).
func TestGolden(t *testing.T) {
	e, url := startEmu(t, Options{Seed: 42, PageSize: 2, Now: func() time.Time { return goldenNow }}, testWorld())
	net := url + "/subscriptions/" + ownerSub + "/resourceGroups/" + plsRG + "/providers/Microsoft.Network/privateLinkServices/pls-a"
	v := "?api-version=2025-01-01"
	do := func(method, u, body string, want int) []byte {
		t.Helper()
		st, _, b := rawDo(t, method, u, "Bearer golden-token", body)
		if st != want {
			t.Fatalf("%s %s: %d %s", method, u, st, b)
		}
		return b
	}

	// PrivateLinkServiceGet.json: id, name, type, location, properties{provisioningState,
	// visibility.subscriptions, autoApproval.subscriptions, fqdns, alias,
	// loadBalancerFrontendIpConfigurations, ipConfigurations, networkInterfaces,
	// privateEndpointConnections[]{name,id,properties.privateEndpoint.id,
	// properties.privateLinkServiceConnectionState.{status,description}}}.
	b := do("GET", net+v, "", 200)
	requireShape(t, "pls", b, "id", "name", "type", "location", "etag", "tags",
		"properties.provisioningState", "properties.visibility.subscriptions", "properties.autoApproval.subscriptions",
		"properties.fqdns", "properties.alias", "properties.loadBalancerFrontendIpConfigurations[].id",
		"properties.ipConfigurations[].name", "properties.ipConfigurations[].properties.subnet.id", "properties.networkInterfaces[].id",
		"properties.privateEndpointConnections[].name", "properties.privateEndpointConnections[].id",
		"properties.privateEndpointConnections[].properties.privateEndpoint.id",
		"properties.privateEndpointConnections[].properties.privateLinkServiceConnectionState.status",
		"properties.privateEndpointConnections[].properties.privateLinkServiceConnectionState.description",
		"properties.privateEndpointConnections[].properties.linkIdentifier")
	checkGolden(t, "pls_get.json", url, b)

	// PrivateLinkServiceListPrivateEndpointConnection.json: value[] (+ nextLink when paged).
	b = do("GET", net+"/privateEndpointConnections"+v, "", 200)
	requireShape(t, "connections", b, "value[].name", "value[].id", "value[].properties.privateLinkServiceConnectionState.status", "nextLink")
	checkGolden(t, "connections_list_page1.json", url, b)

	// PrivateLinkServiceUpdatePrivateEndpointConnection.json: 200 with the connection.
	b = do("PUT", net+"/privateEndpointConnections/pe-pending.0a1b"+v,
		`{"name":"pe-pending.0a1b","properties":{"privateEndpoint":{"id":"/x"},"privateLinkServiceConnectionState":{"status":"Approved","description":"approved by plsgate rule r1"}}}`, 200)
	checkGolden(t, "connection_put.json", url, b)
	b = do("PUT", net+"/privateEndpointConnections/pe-rejected.0a1d"+v,
		`{"properties":{"privateLinkServiceConnectionState":{"status":"Approved","description":"again"}}}`, 400)
	checkGolden(t, "error_rejected_terminal.json", url, b)
	b = do("PUT", net+"/privateEndpointConnections/not-there"+v,
		`{"properties":{"privateLinkServiceConnectionState":{"status":"Approved","description":"x"}}}`, 400)
	checkGolden(t, "error_not_creatable.json", url, b)

	// PrivateEndpointCreateForManualApproval.json.
	peURL := url + "/subscriptions/" + consumerSub + "/resourceGroups/rg-c/providers/Microsoft.Network/privateEndpoints/pe-golden" + v
	b = do("PUT", peURL, `{"location":"westeurope","properties":{"subnet":{"id":"/subscriptions/`+consumerSub+`/resourceGroups/rg-c/providers/Microsoft.Network/virtualNetworks/v/subnets/s"},
		"manualPrivateLinkServiceConnections":[{"name":"to-pls-a","properties":{"privateLinkServiceId":"`+plsA+`","requestMessage":"Please manually approve my connection."}}]}}`, 201)
	requireShape(t, "pe", b, "id", "name", "location", "properties.provisioningState", "properties.privateLinkServiceConnections",
		"properties.manualPrivateLinkServiceConnections[].id", "properties.manualPrivateLinkServiceConnections[].properties.privateLinkServiceId",
		"properties.manualPrivateLinkServiceConnections[].properties.requestMessage",
		"properties.manualPrivateLinkServiceConnections[].properties.privateLinkServiceConnectionState.status",
		"properties.subnet.id", "properties.networkInterfaces[].id")
	checkGolden(t, "pe_put.json", url, b)

	// WebPubSubSharedPrivateLinkResources_CreateOrUpdate.json (201) and _Get.json.
	splURL := url + "/subscriptions/" + ownerSub + "/resourceGroups/" + wpsRG + "/providers/Microsoft.SignalRService/webPubSub/wps-1/sharedPrivateLinkResources/upstream?api-version=2024-08-01-preview"
	b = do("PUT", splURL, `{"properties":{"privateLinkResourceId":"`+plsA+`","fqdns":["api.contoso.example"],"requestMessage":"Please approve"}}`, 201)
	requireShape(t, "spl", b, "id", "name", "type", "properties.privateLinkResourceId", "properties.provisioningState", "properties.requestMessage", "properties.status", "systemData.createdAt")
	checkGolden(t, "spl_put_201.json", url, b)
	s, _ := e.SharedPrivateLinkResource(splIDOf(wps1, "upstream"))
	do("PUT", net+"/privateEndpointConnections/"+s.ConnectionName+v,
		`{"properties":{"privateLinkServiceConnectionState":{"status":"Approved","description":"approved"}}}`, 200)
	checkGolden(t, "spl_get_approved.json", url, do("GET", splURL, "", 200))
	b = do("GET", url+"/subscriptions/"+ownerSub+"/resourceGroups/"+wpsRG+"/providers/Microsoft.SignalRService/webPubSub/wps-1?api-version=2024-03-01", "", 200)
	requireShape(t, "wps", b, "id", "name", "type", "location", "kind", "sku.name", "properties.provisioningState", "properties.hostName", "properties.sharedPrivateLinkResources[].properties.status")
	checkGolden(t, "wps_get.json", url, b)
	checkGolden(t, "pe_get.json", url, do("GET", peURL, "", 200))

	// Events: the first approval's ResourceWriteSuccess and resource notification,
	// in both schemas.
	evs := e.Events()
	if len(evs) < 2 {
		t.Fatalf("events %d", len(evs))
	}
	for i, name := range []string{"event_write_success.json", "event_resource_notification.json"} {
		eg, _ := json.Marshal([]Event{evs[i]})
		checkGolden(t, name, url, eg)
	}
	ce, _ := json.Marshal([]cloudEvent{evs[0].cloud()})
	checkGolden(t, "cloudevent_write_success.json", url, ce)

	// The world after the flow.
	st, _, b := rawDo(t, http.MethodGet, url+"/_emulator/state", "", "")
	if st != 200 {
		t.Fatal(st)
	}
	checkGolden(t, "state_after_flow.json", url, b)
	if !strings.Contains(string(b), `"sharedPrivateLinkResourceId"`) {
		t.Fatal("state lacks the shared link back-reference")
	}
}
