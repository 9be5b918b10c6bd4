package armemu

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestControlEndpoints(t *testing.T) {
	s := &sink{}
	e, url := startEmu(t, Options{Seed: 50}, testWorld())
	ctl := url + "/_emulator/"

	// Seed a tiny world over HTTP, read it back.
	world := `{"privateLinkServices":[{"id":"` + plsA + `","visibility":["*"],"connections":[{"name":"c1","status":"Pending","description":"d"}]}]}`
	if st, _, b := rawDo(t, "POST", ctl+"seed", "", world); st != 204 {
		t.Fatalf("seed %d %s", st, b)
	}
	if st, _, b := rawDo(t, "POST", ctl+"seed", "", `{"privateLinkService":[]}`); st != 400 || !strings.Contains(string(b), "unknown field") {
		t.Fatalf("typo in seed accepted: %d %s", st, b)
	}
	st, _, b := rawDo(t, "GET", ctl+"state", "", "")
	var w World
	if st != 200 || json.Unmarshal(b, &w) != nil || len(w.PrivateLinkServices) != 1 || w.PrivateLinkServices[0].Connections[0].Name != "c1" {
		t.Fatalf("state %d %s", st, b)
	}

	// Events: point at a sink, act through the portal endpoint, wait, read the log.
	if st, _, b := rawDo(t, "POST", ctl+"events", "", `{"sinkUrl":"`+newSink(t, s)+`","schema":"cloudevents","retryScale":0.001}`); st != 204 {
		t.Fatalf("events options %d %s", st, b)
	}
	if o := e.EventOptions(); o.Schema != SchemaCloudEvents || o.RetryScale != 0.001 || o.MaxAttempts != 30 {
		t.Fatalf("options %+v", o)
	}
	if st, _, b := rawDo(t, "POST", ctl+"connection-status", "", `{"connectionId":"`+connIDOf(plsA, "c1")+`","status":"Rejected","description":"nope"}`); st != 204 {
		t.Fatalf("connection-status %d %s", st, b)
	}
	if st, _, b := rawDo(t, "POST", ctl+"connection-status", "", `{"connectionId":"`+connIDOf(plsA, "c1")+`","status":"Approved"}`); st != 400 || errCode(t, b) != CodeRejectedIsTerminal {
		t.Fatalf("approving rejected via control: %d %s", st, b)
	}
	if st, _, _ := rawDo(t, "POST", ctl+"wait-idle?timeout=10s", "", ""); st != 204 {
		t.Fatalf("wait-idle %d", st)
	}
	if got := decodeDelivered(t, s, SchemaCloudEvents); len(got) != 2 {
		t.Fatalf("delivered %d", len(got))
	}
	st, _, b = rawDo(t, "GET", ctl+"events", "", "")
	var log struct {
		Options    map[string]any
		Stats      DeliveryStats
		Deliveries []Delivery
		Events     []Event
	}
	if st != 200 || json.Unmarshal(b, &log) != nil || log.Stats.Delivered != 2 || len(log.Deliveries) != 2 || len(log.Events) != 2 || log.Options["schema"] != SchemaCloudEvents {
		t.Fatalf("events log %d %s", st, b)
	}

	// Faults and counters.
	if st, _, b := rawDo(t, "POST", ctl+"faults", "", `{"seed":1,"rules":[{"operation":"PrivateLinkServices_Get","script":[503],"latency":"1ms"}]}`); st != 204 {
		t.Fatalf("faults %d %s", st, b)
	}
	if st, _, _ := rawDo(t, "POST", ctl+"faults", "", `{"rules":[{"operation":"*","rate500":2}]}`); st != 400 {
		t.Fatal("invalid faults accepted")
	}
	if f := e.GetFaults(); len(f.Rules) != 1 || f.Rules[0].Script[0] != 503 {
		t.Fatalf("faults %+v", f)
	}
	get := url + "/subscriptions/" + ownerSub + "/resourceGroups/" + plsRG + "/providers/Microsoft.Network/privateLinkServices/pls-a?api-version=2025-01-01"
	if st, _, _ := rawDo(t, "GET", get, "Bearer x", ""); st != 503 {
		t.Fatalf("scripted fault: %d", st)
	}
	if st, _, _ := rawDo(t, "GET", get, "Bearer x", ""); st != 200 {
		t.Fatalf("after script: %d", st)
	}
	st, _, b = rawDo(t, "GET", ctl+"counters", "", "")
	var counters map[string]map[string]int
	if st != 200 || json.Unmarshal(b, &counters) != nil || counters["calls"][OpPLSGet] != 2 || counters["faults"][OpPLSGet] != 1 {
		t.Fatalf("counters %d %s", st, b)
	}
	if st, _, _ := rawDo(t, "POST", ctl+"reset", "", ""); st != 204 || len(e.Counters()) != 0 || len(e.Events()) != 0 {
		t.Fatal("reset")
	}
	if st, _, _ := rawDo(t, "GET", ctl+"nope", "", ""); st != 404 {
		t.Fatal("unknown control endpoint")
	}
}

func TestWorldSeedValidation(t *testing.T) {
	tests := []struct {
		name string
		w    World
	}{
		{"pls without id", World{PrivateLinkServices: []*PrivateLinkService{{Name: "x"}}}},
		{"pls id of another type", World{PrivateLinkServices: []*PrivateLinkService{{ID: peIDOf(ownerSub, "rg", "x")}}}},
		{"duplicate pls", World{PrivateLinkServices: []*PrivateLinkService{{ID: plsA}, {ID: strings.ToUpper(plsA)}}}},
		{"duplicate connection", World{PrivateLinkServices: []*PrivateLinkService{{ID: plsA, Connections: []*Connection{{Name: "a"}, {Name: "A"}}}}}},
		{"connection without name", World{PrivateLinkServices: []*PrivateLinkService{{ID: plsA, Connections: []*Connection{{}}}}}},
		{"bad web pubsub id", World{WebPubSubs: []*WebPubSub{{ID: "/subscriptions/x"}}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := New(Options{}).Seed(tc.w); err == nil {
				t.Fatal("accepted")
			}
		})
	}
}

func TestWorldRoundTripAndIsolation(t *testing.T) {
	e := New(Options{})
	w := testWorld()
	if err := e.Seed(w); err != nil {
		t.Fatal(err)
	}
	w.PrivateLinkServices[0].Connections[0].Status = "Approved" // caller's copy
	got := e.World()
	if got.PrivateLinkServices[0].Connections[0].Status != "Pending" {
		t.Fatal("Seed kept the caller's pointers")
	}
	got.PrivateLinkServices[0].Name = "changed"
	if p, _ := e.PLS(plsA); p.Name != "pls-a" {
		t.Fatal("World returned internal pointers")
	}
	// JSON round trip through a file.
	path := filepath.Join(t.TempDir(), "world.json")
	data, _ := json.Marshal(e.World())
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	loaded, err := LoadWorld(path)
	if err != nil {
		t.Fatal(err)
	}
	e2 := New(Options{})
	if err := e2.Seed(loaded); err != nil {
		t.Fatal(err)
	}
	again, _ := json.Marshal(e2.World())
	if string(again) != string(data) {
		t.Fatalf("round trip differs:\n%s\n%s", data, again)
	}
	if _, err := LoadWorld(filepath.Join(t.TempDir(), "missing.json")); err == nil {
		t.Fatal("missing file accepted")
	}
}

func TestSampleWorldFile(t *testing.T) {
	w, err := LoadWorld(filepath.Join("testdata", "world.json"))
	if err != nil {
		t.Fatal(err)
	}
	e := New(Options{})
	if err := e.Seed(w); err != nil {
		t.Fatal(err)
	}
	if len(e.World().PrivateLinkServices) == 0 || len(e.World().WebPubSubs) == 0 {
		t.Fatal("sample world is empty")
	}
}

func TestGenerateWorld(t *testing.T) {
	w := GenerateWorld(250, 5, 4, []string{ownerSub, consumerSub})
	e := New(Options{})
	if err := e.Seed(w); err != nil {
		t.Fatal(err)
	}
	pending, total := 0, 0
	names := map[string]bool{}
	for _, p := range e.World().PrivateLinkServices {
		for _, c := range p.Connections {
			total++
			if c.Status == "Pending" {
				pending++
			}
			if names[c.Name] {
				t.Fatalf("duplicate connection name %s", c.Name)
			}
			names[c.Name] = true
		}
	}
	if total != 1250 || pending != 313 { // ceil(1250/4)
		t.Fatalf("total %d pending %d", total, pending)
	}
	if n := len(e.st.bySub[strings.ToLower(ownerSub)]); n != 125 {
		t.Fatalf("per subscription %d", n)
	}
	if n := len(e.st.byRG[rgKey(ownerSub, "rg-001")]); n != 50 {
		t.Fatalf("per resource group %d", n)
	}
}

// TestAddPLSKeepsListsSorted: lists stay sorted (keyset paging) after inserts.
func TestAddPLSKeepsListsSorted(t *testing.T) {
	e := New(Options{PageSize: 1})
	for _, n := range []string{"c", "a", "b"} {
		if _, err := e.AddPLS(PrivateLinkService{SubscriptionID: ownerSub, ResourceGroup: "rg", Name: n}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.AddPLS(PrivateLinkService{SubscriptionID: ownerSub, ResourceGroup: "RG", Name: "A"}); err == nil {
		t.Fatal("duplicate (case-insensitive) accepted")
	}
	var got []string
	for _, p := range e.st.bySub[strings.ToLower(ownerSub)] {
		got = append(got, p.Name)
	}
	if strings.Join(got, "") != "abc" {
		t.Fatalf("order %v", got)
	}
	if _, err := e.AddWebPubSub(WebPubSub{SubscriptionID: ownerSub, ResourceGroup: "rg", Name: "w"}); err != nil {
		t.Fatal(err)
	}
}

func TestPortalHelpersErrors(t *testing.T) {
	e := New(Options{})
	if err := e.Seed(testWorld()); err != nil {
		t.Fatal(err)
	}
	var ae *Error
	if err := e.SetConnectionStatus(plsIDOf(ownerSub, plsRG, "nope"), "c", "Approved", ""); err == nil || !asError(err, &ae) || ae.Status != http.StatusNotFound {
		t.Fatalf("missing pls: %v", err)
	}
	if err := e.DeleteConnection(plsA, "nope"); err == nil {
		t.Fatal("deleting a missing connection")
	}
	if err := e.DeletePrivateEndpoint(peIDOf(consumerSub, "rg", "nope")); err == nil {
		t.Fatal("deleting a missing endpoint")
	}
	if err := e.CreateSharedPrivateLinkResource(wpsIDOf(ownerSub, "rg", "nope"), "x", SharedPrivateLinkResource{PrivateLinkResourceID: plsA}); err == nil {
		t.Fatal("shared link on a missing web pubsub")
	}
	if err := e.CreateSharedPrivateLinkResource(wps1, "x", SharedPrivateLinkResource{PrivateLinkResourceID: "not-an-id"}); err == nil {
		t.Fatal("bad privateLinkResourceId accepted")
	}
}

func asError(err error, target **Error) bool {
	e, ok := err.(*Error)
	if ok {
		*target = e
	}
	return ok
}

func TestTenantsAndSharedLinkDelete(t *testing.T) {
	e, url := startEmu(t, Options{Seed: 51}, testWorld())
	e.SetTenant(consumerSub, "another-tenant")
	list := url + "/subscriptions/" + consumerSub + "/providers/Microsoft.Network/privateEndpoints?api-version=2025-01-01"
	if st, _, b := rawDo(t, "GET", list, "Bearer x", ""); st != 401 || errCode(t, b) != CodeInvalidTokenTenant {
		t.Fatalf("%d %s", st, b)
	}
	// A JWT whose tid is that tenant is let in (unverified, like the rest).
	jwt := "e30." + "eyJ0aWQiOiJhbm90aGVyLXRlbmFudCJ9" + ".sig" // {"tid":"another-tenant"}
	if st, _, b := rawDo(t, "GET", list, "Bearer "+jwt, ""); st != 200 {
		t.Fatalf("%d %s", st, b)
	}
	if err := e.CreateSharedPrivateLinkResource(wps1, "s", SharedPrivateLinkResource{PrivateLinkResourceID: plsA, RequestMessage: "m"}); err != nil {
		t.Fatal(err)
	}
	s, _ := e.SharedPrivateLinkResource(splIDOf(wps1, "s"))
	if _, ok := e.Connection(plsA, s.ConnectionName); !ok {
		t.Fatal("no service connection")
	}
	if err := e.DeleteSharedPrivateLinkResource(splIDOf(wps1, "s")); err != nil {
		t.Fatal(err)
	}
	if _, ok := e.Connection(plsA, s.ConnectionName); ok {
		t.Fatal("service connection survived its shared private link resource")
	}
	if err := e.DeleteSharedPrivateLinkResource(splIDOf(wps1, "s")); err == nil {
		t.Fatal("deleting twice")
	}
}
