package events

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/plsgate/plsgate/internal/resource"
)

var update = flag.Bool("update", false, "rewrite testdata/golden")

const (
	ownSub  = "11111111-1111-1111-1111-111111111111"
	appSub  = "22222222-2222-2222-2222-222222222222"
	plsChat = "/subscriptions/11111111-1111-1111-1111-111111111111/resourcegroups/rg-net/providers/microsoft.network/privatelinkservices/pls-chat"
	partner = "/subscriptions/44444444-4444-4444-4444-444444444444/resourceGroups/rg-partner/providers/Microsoft.Network/privateLinkServices/pls-partner"
	peApp   = "/subscriptions/22222222-2222-2222-2222-222222222222/resourceGroups/rg-app/providers/Microsoft.Network/privateEndpoints/pe-app"
)

// testScope: the owner's and an application subscription, plus one partner PLS
// named by ID in a subscription that is otherwise out of scope.
var testScope = Scope{Subscriptions: []string{ownSub, strings.ToUpper(appSub)}, PLSIDs: []string{partner}}

func inputs(t testing.TB) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no testdata: %v", err)
	}
	return files
}

func load(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// result is the golden form of decoding and classifying one payload.
type result struct {
	Events []eventResult `json:"events,omitempty"`
	Error  string        `json:"error,omitempty"`
}

type eventResult struct {
	Schema, ID, Type, Subject, Source, Time, DataVersion string
	DataBytes                                            int
	Kind                                                 string
	ResourceIDs                                          []string `json:",omitempty"`
	PrivateEndpointID                                    string   `json:",omitempty"`
	HasPending                                           *bool    `json:",omitempty"`
	Why                                                  string
	Error                                                string `json:",omitempty"`
}

func run(c *Classifier, payload []byte) result {
	evs, err := Decode(payload)
	if err != nil {
		return result{Error: err.Error()}
	}
	var r result
	for _, e := range evs {
		h, err := c.Classify(e)
		er := eventResult{
			Schema: e.Schema, ID: e.ID, Type: e.Type, Subject: e.Subject, Source: e.Source, Time: e.Time, DataVersion: e.DataVersion,
			DataBytes: len(e.Data), Kind: h.Kind.String(), ResourceIDs: h.ResourceIDs, PrivateEndpointID: h.PrivateEndpointID, HasPending: h.HasPending, Why: h.Why,
		}
		if err != nil {
			er.Error = err.Error()
		}
		r.Events = append(r.Events, er)
	}
	return r
}

// TestGolden decodes and classifies every payload in testdata and compares
// with testdata/golden (-update rewrites it).
func TestGolden(t *testing.T) {
	c := NewClassifier(testScope)
	for _, f := range inputs(t) {
		name := filepath.Base(f)
		t.Run(name, func(t *testing.T) {
			got, err := json.MarshalIndent(run(c, load(t, name)), "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, '\n')
			golden := filepath.Join("testdata", "golden", name)
			if *update {
				if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update to create)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("differs from %s\n got: %s\nwant: %s", golden, got, want)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

// TestClassify states the expected hint of each payload (the golden files
// hold the details; this says what matters).
func TestClassify(t *testing.T) {
	type want struct {
		kind       Kind
		pls        []string
		pe         string
		hasPending *bool
		err        string
	}
	cases := []struct {
		file string
		want []want
	}{
		{"eg_connection_write.json", []want{{kind: ResourceChanged, pls: []string{plsChat}}}},
		{"eg_connection_write_as_string.json", []want{{kind: ResourceChanged, pls: []string{plsChat}}}},
		{"eg_pls_write.json", []want{{kind: ResourceChanged, pls: []string{plsChat}}}},
		{"eg_connection_delete.json", []want{{kind: ResourceChanged, pls: []string{plsChat}}}},
		{"eg_connection_action_old_shape.json", []want{{kind: ResourceChanged, pls: []string{plsChat}}}},
		{"eg_private_endpoint_write.json", []want{{kind: PrivateEndpointWritten, pe: peApp}}},
		{"eg_private_endpoint_write_unwatched.json", []want{{kind: Irrelevant}}},
		{"eg_dns_zone_group_write.json", []want{{kind: Irrelevant}}},
		{"eg_storage_write.json", []want{{kind: Irrelevant}}},
		{"eg_connection_write_failure.json", []want{{kind: Irrelevant}}},
		{"eg_validation.json", []want{{kind: Irrelevant}}},
		{"eg_rn_pls_pending.json", []want{{kind: ResourceNotification, pls: []string{plsChat}, hasPending: ptr(true)}}},
		{"eg_rn_pls_no_pending.json", []want{{kind: ResourceNotification, pls: []string{plsChat}, hasPending: ptr(false)}}},
		{"eg_rn_pls_deleted.json", []want{{kind: ResourceNotification, pls: []string{plsChat}}}},
		{"eg_rn_pls_out_of_scope.json", []want{{kind: Irrelevant}}},
		{"eg_rn_pls_listed_id_tags_string.json", []want{{kind: ResourceNotification, pls: []string{resource.Normalize(partner)}, hasPending: ptr(true)}}},
		{"eg_rn_storage.json", []want{{kind: Irrelevant}}},
		{"eg_batch.json", []want{{kind: Irrelevant}, {kind: ResourceChanged, pls: []string{plsChat}}, {kind: Irrelevant}, {kind: ResourceNotification, pls: []string{plsChat}, hasPending: ptr(true)}}},
		{"ce_connection_write.json", []want{{kind: ResourceChanged, pls: []string{plsChat}}}},
		{"ce_private_endpoint_write.json", []want{{kind: PrivateEndpointWritten, pe: peApp}}},
		{"ce_rn_pls_pending.json", []want{{kind: ResourceNotification, pls: []string{plsChat}, hasPending: ptr(true)}}},
		{"ce_storage_write.json", []want{{kind: Irrelevant}}},
		{"ce_pls_delete_no_subject.json", []want{{kind: ResourceChanged, pls: []string{plsChat}}}},
		{"ce_batch.json", []want{{kind: Irrelevant}, {kind: ResourceChanged, pls: []string{plsChat}}}},
		{"ce_batch_as_string.json", []want{{kind: Irrelevant}, {kind: ResourceChanged, pls: []string{plsChat}}}},
	}
	c := NewClassifier(testScope)
	covered := map[string]bool{}
	for _, tc := range cases {
		covered[tc.file] = true
		t.Run(tc.file, func(t *testing.T) {
			evs, err := Decode(load(t, tc.file))
			if err != nil {
				t.Fatal(err)
			}
			if len(evs) != len(tc.want) {
				t.Fatalf("%d events, want %d", len(evs), len(tc.want))
			}
			for i, e := range evs {
				h, err := c.Classify(e)
				w := tc.want[i]
				if (err != nil) != (w.err != "") || (err != nil && !strings.Contains(err.Error(), w.err)) {
					t.Errorf("event %d: err = %v, want %q", i, err, w.err)
				}
				if h.Kind != w.kind || !slices.Equal(h.ResourceIDs, w.pls) || h.PrivateEndpointID != w.pe ||
					(h.HasPending == nil) != (w.hasPending == nil) || (h.HasPending != nil && *h.HasPending != *w.hasPending) {
					t.Errorf("event %d: hint = %+v, want %+v", i, h, w)
				}
				if h.Why == "" || h.EventID != e.ID || h.EventType != e.Type || h.Schema != e.Schema {
					t.Errorf("event %d: hint does not describe the event: %+v", i, h)
				}
			}
		})
	}
	for _, f := range inputs(t) {
		if !covered[filepath.Base(f)] {
			t.Errorf("testdata/%s has no expectation in TestClassify", filepath.Base(f))
		}
	}
}

func TestClassifyScope(t *testing.T) {
	e := func(file string) Event {
		evs, err := Decode(load(t, file))
		if err != nil {
			t.Fatal(err)
		}
		return evs[0]
	}
	conn, pe, rn := e("eg_connection_write.json"), e("eg_private_endpoint_write.json"), e("eg_rn_pls_listed_id_tags_string.json")
	cases := []struct {
		name          string
		scope         Scope
		conn, pe, rn  Kind
		inScopeChatUp bool
	}{
		{"everything", Scope{}, ResourceChanged, PrivateEndpointWritten, ResourceNotification, true},
		{"owner subscription", Scope{Subscriptions: []string{ownSub}}, ResourceChanged, Irrelevant, Irrelevant, true},
		{"only the partner PLS", Scope{PLSIDs: []string{strings.ToLower(partner) + "/"}}, Irrelevant, Irrelevant, ResourceNotification, false},
		{"the chat PLS by ID watches its subscription", Scope{PLSIDs: []string{strings.ToUpper(plsChat)}}, ResourceChanged, Irrelevant, Irrelevant, true},
		{"app subscription only", Scope{Subscriptions: []string{appSub}}, Irrelevant, PrivateEndpointWritten, Irrelevant, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := NewClassifier(tc.scope)
			for _, x := range []struct {
				e    Event
				want Kind
			}{{conn, tc.conn}, {pe, tc.pe}, {rn, tc.rn}} {
				h, err := c.Classify(x.e)
				if err != nil || h.Kind != x.want {
					t.Errorf("%s: kind %v (%s), err %v, want %v", x.e.ID, h.Kind, h.Why, err, x.want)
				}
			}
			if got := c.InScope("/SUBSCRIPTIONS/11111111-1111-1111-1111-111111111111/resourceGroups/RG-NET/providers/Microsoft.Network/privateLinkServices/PLS-CHAT"); got != tc.inScopeChatUp {
				t.Errorf("InScope(upper-case chat) = %v", got)
			}
		})
	}
}

func TestClassifyMalformedData(t *testing.T) {
	base := func(typ, subject, data string) Event {
		return Event{Schema: SchemaEventGrid, ID: "x1", Type: typ, Subject: subject, Data: json.RawMessage(data)}
	}
	pls := "/subscriptions/" + ownSub + "/resourceGroups/rg/providers/Microsoft.Network/privateLinkServices/p"
	cases := []struct {
		name string
		e    Event
		want string
	}{
		{"no data", base("Microsoft.Resources.ResourceWriteSuccess", pls, ""), "no data"},
		{"data not an object", base("Microsoft.Resources.ResourceWriteSuccess", pls, `[1,2]`), "data:"},
		{"broken data", base("Microsoft.Resources.ResourceWriteSuccess", pls, `{"operationName": }`), "data:"},
		{"neither operation nor uri", base("Microsoft.Resources.ResourceWriteSuccess", pls, `{"status":"Succeeded"}`), "neither operationName nor resourceUri"},
		{"PLS operation without a PLS", base("Microsoft.Resources.ResourceWriteSuccess", pls,
			`{"operationName":"Microsoft.Network/privateLinkServices/write","resourceUri":"/subscriptions/s/resourceGroups/rg"}`), "names none"},
		{"PE write on a non-PE", base("Microsoft.Resources.ResourceWriteSuccess", "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/privateEndpoints/pe",
			`{"operationName":"Microsoft.Network/privateEndpoints/write","resourceUri":"/subscriptions/s/resourceGroups/rg"}`), "resourceUri"},
		{"notification without resourceInfo", base("Microsoft.ResourceNotifications.Resources.CreatedOrUpdated", pls, `{"apiVersion":"1"}`), "no resourceInfo"},
		{"notification with a bad id", base("Microsoft.ResourceNotifications.Resources.CreatedOrUpdated", pls,
			`{"resourceInfo":{"id":"pls","type":"Microsoft.Network/privateLinkServices"}}`), "resourceInfo.id"},
	}
	c := NewClassifier(Scope{})
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h, err := c.Classify(tc.e)
			if !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), `"x1"`) {
				t.Errorf("err = %v, want ErrMalformed mentioning %q and the event id", err, tc.want)
			}
			if h.Kind != Irrelevant || h.EventID != "x1" {
				t.Errorf("hint = %+v", h)
			}
		})
	}
}

// TestIrrelevantWithoutReadingData: an irrelevant event is recognised from its
// type and subject; its data is not even looked at (broken data proves it).
func TestIrrelevantWithoutReadingData(t *testing.T) {
	c := NewClassifier(Scope{})
	for _, e := range []Event{
		{ID: "1", Type: "Microsoft.Resources.ResourceWriteFailure", Subject: plsChat, Data: json.RawMessage(`{broken`)},
		{ID: "2", Type: "Microsoft.Resources.ResourceWriteSuccess", Subject: "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm", Data: json.RawMessage(`{broken`)},
		{ID: "3", Type: "Microsoft.ResourceNotifications.Resources.CreatedOrUpdated", Subject: "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/privateEndpoints/pe", Data: json.RawMessage(`{broken`)},
		{ID: "4", Type: "Microsoft.Storage.BlobCreated", Subject: "/blobServices/default/containers/c/blobs/b", Data: json.RawMessage(`{broken`)},
	} {
		h, err := c.Classify(e)
		if err != nil || h.Kind != Irrelevant || h.Why == "" {
			t.Errorf("event %s: %+v, %v", e.ID, h, err)
		}
	}
}

func TestDecodeMalformed(t *testing.T) {
	cases := []struct {
		name, payload, want string
	}{
		{"empty", "", "empty payload"},
		{"spaces", "  \n", "empty payload"},
		{"number", "42", "not a JSON object, array or string"},
		{"empty array", "[]", "empty array"},
		{"array of numbers", "[1]", "event[0] is not a JSON object"},
		{"truncated object", `{"id":"a","eventType":"t"`, "unexpected end"},
		{"truncated array", `[{"id":"a","eventType":"t","subject":"s"}`, "after event[0]"},
		{"trailing garbage", `{"id":"a","eventType":"t","subject":"s"} x`, "data after the event object"},
		{"garbage after array", `[{"id":"a","eventType":"t","subject":"s"}] x`, "data after the array"},
		{"bad JSON inside data", `{"id":"a","eventType":"t","subject":"s","data":{"x":tru}}`, "invalid literal"},
		{"unknown schema", `{"id":"a","subject":"s"}`, `neither "eventType"`},
		{"Event Grid without id", `{"eventType":"t","subject":"s"}`, `missing "id"`},
		{"id not a string", `{"id":7,"eventType":"t","subject":"s"}`, `"id" is not a string`},
		{"control character in id", "{\"id\":\"a\x01\",\"eventType\":\"t\",\"subject\":\"s\"}", `"id" is not a string`},
		{"CloudEvents 0.3", `{"specversion":"0.3","id":"a","type":"t","source":"s"}`, `specversion "0.3" is not 1.0`},
		{"CloudEvents without source", `{"specversion":"1.0","id":"a","type":"t"}`, `missing "source"`},
		{"CloudEvents without type", `{"specversion":"1.0","id":"a","source":"s"}`, `missing "type"`},
		{"string holding garbage", `"{not json"`, "invalid JSON"},
		{"string nested three times", `"\"\\\"{}\\\"\""`, "nested more than 2 times"},
		{"broken string", `"abc`, "not a valid JSON string"},
		{"second event broken", `[{"id":"a","eventType":"t","subject":"s"},{"id":"b"}]`, `event[1]: malformed event: Event Grid event "b": neither "eventType"`},
		{"missing member value", `{"id":}`, "want a value"},
		{"missing colon", `{"id" "a"}`, "want ':'"},
		{"bad number", `{"id":"a","eventType":"t","subject":"s","data":01}`, "want ',' or '}'"},
		{"too deep", `{"id":"a","eventType":"t","subject":"s","data":` + strings.Repeat("[", maxDepth+2) + strings.Repeat("]", maxDepth+2) + `}`, "nested too deeply"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			evs, err := Decode([]byte(tc.payload))
			if !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want ErrMalformed mentioning %q", err, tc.want)
			}
			if evs != nil {
				t.Errorf("events returned with an error: %+v", evs)
			}
		})
	}
}

func TestDecodeOddButValid(t *testing.T) {
	cases := []struct {
		name, payload string
		want          Event
	}{
		{"escaped member names and values", `{"\u0069d":"a\u00e9","eventType":"t\/x","subject":"s","data":{"k":"\"}"}}`,
			Event{Schema: SchemaEventGrid, ID: "aé", Type: "t/x", Subject: "s", Data: json.RawMessage(`{"k":"\"}"}`)}},
		{"null members", `{"id":"a","eventType":"t","subject":"s","topic":null,"data":null}`,
			Event{Schema: SchemaEventGrid, ID: "a", Type: "t", Subject: "s"}},
		{"duplicate members: the last wins", `{"id":"a","id":"b","eventType":"t","subject":"s"}`,
			Event{Schema: SchemaEventGrid, ID: "b", Type: "t", Subject: "s"}},
		{"CloudEvents binary data", `{"specversion":"1.0","id":"a","type":"t","source":"/s","data_base64":"eyJrIjoxfQ=="}`,
			Event{Schema: SchemaCloudEvents, ID: "a", Type: "t", Source: "/s", Data: json.RawMessage(`{"k":1}`)}},
		{"whitespace everywhere", " \n{ \"id\" : \"a\" ,\t\"eventType\":\"t\", \"subject\" :\"s\" , \"data\" : [ 1 , -2.5e+3 , true , null ] } \n",
			Event{Schema: SchemaEventGrid, ID: "a", Type: "t", Subject: "s", Data: json.RawMessage(`[ 1 , -2.5e+3 , true , null ]`)}},
		{"invalid UTF-8 is replaced as encoding/json does", "{\"id\":\"a\xff\",\"eventType\":\"t\",\"subject\":\"s\"}",
			Event{Schema: SchemaEventGrid, ID: "a\ufffd", Type: "t", Subject: "s"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			evs, err := Decode([]byte(tc.payload))
			if err != nil {
				t.Fatal(err)
			}
			if len(evs) != 1 || !sameEvent(evs[0], tc.want) {
				t.Errorf("got %+v\nwant %+v", evs, tc.want)
			}
		})
	}
}

func sameEvent(a, b Event) bool {
	return a.Schema == b.Schema && a.ID == b.ID && a.Type == b.Type && a.Subject == b.Subject && a.Source == b.Source &&
		a.Time == b.Time && a.DataVersion == b.DataVersion && bytes.Equal(a.Data, b.Data)
}

// refDecodeObject is the envelope decode done with encoding/json, for one
// event object: the fast scanner must agree with it.
func refDecodeObject(payload []byte) (Event, bool) {
	var m map[string]json.RawMessage
	if json.Unmarshal(payload, &m) != nil || m == nil {
		return Event{}, false
	}
	s := func(k string) (string, bool) {
		raw, ok := m[k]
		if !ok || string(raw) == "null" {
			return "", true
		}
		var v string
		return v, json.Unmarshal(raw, &v) == nil
	}
	var e Event
	var ok [8]bool
	_, isCE := m["specversion"]
	if isCE {
		var sv string
		sv, ok[0] = s("specversion")
		if sv != "1.0" {
			return Event{}, false
		}
		e.Schema = SchemaCloudEvents
		e.Type, ok[1] = s("type")
		e.Source, ok[2] = s("source")
		e.Time, ok[3] = s("time")
		ok[4] = true
	} else {
		if _, has := m["eventType"]; !has {
			return Event{}, false
		}
		e.Schema = SchemaEventGrid
		ok[0] = true
		e.Type, ok[1] = s("eventType")
		e.Source, ok[2] = s("topic")
		e.Time, ok[3] = s("eventTime")
		e.DataVersion, ok[4] = s("dataVersion")
	}
	e.ID, ok[5] = s("id")
	e.Subject, ok[6] = s("subject")
	ok[7] = true
	if d, has := m["data"]; has && string(d) != "null" {
		e.Data = d
	} else if _, has := m["data_base64"]; has && isCE {
		return Event{}, false // not compared
	}
	for _, o := range ok {
		if !o {
			return Event{}, false
		}
	}
	if e.ID == "" || e.Type == "" || (isCE && e.Source == "") {
		return Event{}, false
	}
	return e, true
}

func TestDecodeAgreesWithEncodingJSON(t *testing.T) {
	for _, f := range inputs(t) {
		payload := load(t, filepath.Base(f))
		evs, err := Decode(payload)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		var raws []json.RawMessage
		if payload[0] == '[' {
			if err := json.Unmarshal(payload, &raws); err != nil {
				t.Fatal(err)
			}
		} else if payload[0] == '{' {
			raws = []json.RawMessage{payload}
		} else {
			continue // string payloads: covered by TestClassify
		}
		for i, raw := range raws {
			want, ok := refDecodeObject(raw)
			if !ok || !sameEvent(evs[i], want) {
				t.Errorf("%s[%d]: got %+v, encoding/json gives %+v (ok=%v)", f, i, evs[i], want, ok)
			}
		}
	}
}

func TestRelevantListsAreConsistent(t *testing.T) {
	for _, op := range OperationNames() {
		if !slices.ContainsFunc(OperationNamePrefixes(), func(p string) bool { return hasPrefixFold(op, p) }) {
			t.Errorf("%s matches no prefix in OperationNamePrefixes", op)
		}
	}
	if len(EventTypes) != len(ResourceEventTypes)+len(NotificationEventTypes) {
		t.Errorf("EventTypes = %v", EventTypes)
	}
	for _, typ := range EventTypes {
		if strings.Contains(typ, "Failure") || strings.Contains(typ, "Cancel") {
			t.Errorf("%s: failures and cancels change nothing", typ)
		}
	}
	// Every relevant testdata event passes the lists an Event Grid filter would use.
	c := NewClassifier(Scope{})
	for _, f := range inputs(t) {
		evs, err := Decode(load(t, filepath.Base(f)))
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range evs {
			h, err := c.Classify(e)
			if err != nil || h.Kind == Irrelevant {
				continue
			}
			if !oneOfFold(e.Type, EventTypes) {
				t.Errorf("%s: relevant type %s not in EventTypes", f, e.Type)
			}
			if oneOfFold(e.Type, ResourceEventTypes) {
				d, _ := decodeResourceData(e)
				if !slices.ContainsFunc(OperationNamePrefixes(), func(p string) bool { return hasPrefixFold(d.OperationName, p) }) &&
					!NewClassifier(Scope{}).namesKind(d.ResourceURI) {
					t.Errorf("%s: relevant operation %s would not pass the operationName filter", f, d.OperationName)
				}
			}
		}
	}
}

func TestContainsLower(t *testing.T) {
	for _, tc := range []struct {
		s, needle string
		want      bool
	}{
		{"/Providers/Microsoft.Network/PrivateLinkServices/x", "/providers/microsoft.network/privatelinkservices/", true},
		{"/providers/microsoft.network/privatelinkservice", "/providers/microsoft.network/privatelinkservices/", false},
		{"", "a", false},
		{"abc", "", true},
		{"aab", "ab", true},
	} {
		if got := containsLower(tc.s, tc.needle); got != tc.want {
			t.Errorf("containsLower(%q, %q) = %v", tc.s, tc.needle, got)
		}
	}
}

func FuzzDecode(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*.json"))
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err == nil {
			f.Add(b)
		}
	}
	for _, s := range []string{
		"", "{}", "[]", `"x"`, `[{"id":"a","eventType":"t","subject":"s"}]`, `{"specversion":"1.0","id":"a","type":"t","source":"s"}`,
		`{"id":"a","eventType":"Microsoft.Resources.ResourceWriteSuccess","subject":"/subscriptions/s/resourceGroups/r/providers/Microsoft.Network/privateLinkServices/p","data":"{\"operationName\":\"x\"}"}`,
		`{"id":"\ud800","eventType":"t","subject":"s"}`, "{\"id\":\"\\\\\",\"eventType\":\"t\",\"subject\":\"s\"}",
	} {
		f.Add([]byte(s))
	}
	c := NewClassifier(testScope)
	f.Fuzz(func(t *testing.T, payload []byte) {
		evs, err := Decode(payload)
		if err != nil {
			if !errors.Is(err, ErrMalformed) || evs != nil {
				t.Fatalf("error %v does not wrap ErrMalformed or events returned", err)
			}
		}
		for _, e := range evs {
			h, err := c.Classify(e) // must not panic
			if err != nil && (!errors.Is(err, ErrMalformed) || h.Kind != Irrelevant) {
				t.Fatalf("classify error %v with kind %v", err, h.Kind)
			}
			if h.Kind != Irrelevant && len(h.ResourceIDs) == 0 && h.PrivateEndpointID == "" {
				t.Fatalf("relevant hint without a target: %+v", h)
			}
		}
		// Differential: whatever encoding/json reads as a valid event object,
		// Decode reads the same way.
		if i := skipSpace(payload, 0); i < len(payload) && payload[i] == '{' && json.Valid(payload) {
			want, ok := refDecodeObject(payload)
			if ok {
				if err != nil || len(evs) != 1 || !sameEvent(evs[0], want) {
					t.Fatalf("Decode = %+v, %v; encoding/json reads %+v", evs, err, want)
				}
			} else if err == nil && !hasBinaryData(payload) {
				t.Fatalf("Decode accepted %q, which encoding/json does not read as an event", payload)
			}
		}
	})
}

func hasBinaryData(payload []byte) bool {
	var m map[string]json.RawMessage
	_ = json.Unmarshal(payload, &m)
	_, ok := m["data_base64"]
	return ok
}
