package armemu

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/messaging"
	"github.com/Azure/azure-sdk-for-go/sdk/messaging/eventgrid/azsystemevents"
)

func newSink(t *testing.T, s *sink) string {
	t.Helper()
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	return srv.URL
}

// delivered is one event as a consumer decodes it with azsystemevents.
type delivered struct {
	id, typ, topic, subject string
	op                      string            // ResourceWriteSuccess: data.operationName
	connStatus              map[string]string // ResourceNotifications: connection name → status
	write                   *azsystemevents.ResourceWriteSuccessEventData
	arn                     *azsystemevents.ResourceNotificationsResourceManagementCreatedOrUpdatedEventData
}

// decodeEvent decodes one event's data with the azsystemevents types, as
// internal/events will (round-trip check of the emulator's field names).
func decodeEvent(t *testing.T, id, typ, topic, subject string, data []byte) delivered {
	t.Helper()
	d := delivered{id: id, typ: typ, topic: topic, subject: subject}
	switch typ {
	case EventResourceWriteSuccess, EventResourceDeleteSuccess:
		var w azsystemevents.ResourceWriteSuccessEventData
		if err := json.Unmarshal(data, &w); err != nil {
			t.Fatalf("write data: %v", err)
		}
		if w.Authorization == nil || w.Authorization.Action == nil || w.Authorization.Evidence["principalId"] == nil || w.Claims["aud"] == nil ||
			w.HTTPRequest == nil || w.HTTPRequest.Method == nil || w.HTTPRequest.URL == nil || w.CorrelationID == nil ||
			*w.Status != "Succeeded" || w.TenantID == nil || *w.SubscriptionID != subscriptionOf(topic) || *w.ResourceURI != subject ||
			*w.ResourceProvider != strings.SplitN(*w.OperationName, "/", 2)[0] {
			t.Fatalf("write data incomplete: %s", data)
		}
		d.op, d.write = *w.OperationName, &w
	case EventResourceCreatedOrUpd:
		var a azsystemevents.ResourceNotificationsResourceManagementCreatedOrUpdatedEventData
		if err := json.Unmarshal(data, &a); err != nil {
			t.Fatalf("arn data: %v", err)
		}
		if a.ResourceDetails == nil || *a.ResourceDetails.ID != subject || *a.ResourceDetails.Type != typePLS || a.APIVersion == nil ||
			a.OperationalDetails == nil || a.OperationalDetails.ResourceEventTime == nil || a.ResourceDetails.Properties == nil {
			t.Fatalf("arn data incomplete: %s", data)
		}
		d.arn = &a
		d.connStatus = map[string]string{}
		pecs, _ := a.ResourceDetails.Properties["privateEndpointConnections"].([]any)
		for _, x := range pecs {
			m := x.(map[string]any)
			st := m["properties"].(map[string]any)["privateLinkServiceConnectionState"].(map[string]any)["status"].(string)
			d.connStatus[m["name"].(string)] = st
		}
	default:
		t.Fatalf("unexpected event type %s", typ)
	}
	return d
}

// decodeDelivered decodes every body the sink received, in arrival order.
func decodeDelivered(t *testing.T, s *sink, schema string) []delivered {
	t.Helper()
	bodies, ctypes, _ := s.snapshot()
	var out []delivered
	for i, b := range bodies {
		if schema == SchemaCloudEvents {
			if !strings.HasPrefix(ctypes[i], "application/cloudevents-batch+json") {
				t.Fatalf("content type %q", ctypes[i])
			}
			var ces []messaging.CloudEvent
			if err := json.Unmarshal(b, &ces); err != nil {
				t.Fatalf("cloud events %s: %v", b, err)
			}
			for _, ce := range ces {
				if ce.SpecVersion != "1.0" || ce.Time == nil || ce.Subject == nil {
					t.Fatalf("cloud event %+v", ce)
				}
				out = append(out, decodeEvent(t, ce.ID, ce.Type, ce.Source, *ce.Subject, ce.Data.([]byte)))
			}
			continue
		}
		if ctypes[i] != "application/json" {
			t.Fatalf("content type %q", ctypes[i])
		}
		var egs []azsystemevents.EventGridEvent
		if err := json.Unmarshal(b, &egs); err != nil {
			t.Fatalf("event grid events %s: %v", b, err)
		}
		for _, eg := range egs {
			if eg.EventTime == nil || eg.DataVersion == nil || *eg.MetadataVersion != "1" || eg.Topic == nil {
				t.Fatalf("event grid envelope %s", b)
			}
			out = append(out, decodeEvent(t, *eg.ID, *eg.EventType, *eg.Topic, *eg.Subject, eg.Data.([]byte)))
		}
	}
	return out
}

// consumerRequest makes consumerSub request a manual connection on plsA.
func consumerRequest(t *testing.T, e *Emulator, name string) string {
	t.Helper()
	pe, err := e.CreatePrivateEndpoint(PrivateEndpoint{SubscriptionID: consumerSub, ResourceGroup: "rg-c", Name: name,
		Links: []*PrivateEndpointLink{{Name: "l", Manual: true, PrivateLinkServiceID: plsA, RequestMessage: "hi"}}})
	if err != nil {
		t.Fatal(err)
	}
	return pe.Links[0].ConnectionName
}

// TestCrossSubscriptionEvents: which events a consumer's request from another
// subscription causes in the PLS owner's subscription.
func TestCrossSubscriptionEvents(t *testing.T) {
	tests := []struct {
		mode      string
		wantOwner []string
	}{
		{CrossNone, nil},
		{CrossResourceNotifications, []string{EventResourceCreatedOrUpd}},
		{CrossWriteSuccess, []string{EventResourceWriteSuccess}},
	}
	for _, tc := range tests {
		t.Run(tc.mode, func(t *testing.T) {
			e, _ := startEmu(t, Options{Seed: 20, Events: EventOptions{CrossSubscription: tc.mode}}, testWorld())
			conn := consumerRequest(t, e, "pe-1")
			var owner, consumer []string
			for _, ev := range e.Events() {
				switch subscriptionOf(ev.Topic) {
				case ownerSub:
					owner = append(owner, ev.EventType)
					if ev.EventType == EventResourceWriteSuccess && !strings.EqualFold(ev.Subject, connIDOf(plsA, conn)) {
						t.Errorf("owner write subject %s", ev.Subject)
					}
				case consumerSub:
					consumer = append(consumer, ev.EventType)
					if !strings.EqualFold(ev.Subject, peIDOf(consumerSub, "rg-c", "pe-1")) {
						t.Errorf("consumer subject %s", ev.Subject)
					}
				}
			}
			if !slices.Equal(owner, tc.wantOwner) || !slices.Equal(consumer, []string{EventResourceWriteSuccess}) {
				t.Fatalf("owner %v consumer %v", owner, consumer)
			}
		})
	}
}

func TestSameSubscriptionRequestEmitsResourceNotification(t *testing.T) {
	e, _ := startEmu(t, Options{Seed: 21}, testWorld())
	if _, err := e.CreatePrivateEndpoint(PrivateEndpoint{SubscriptionID: ownerSub, ResourceGroup: "rg-own", Name: "pe-own",
		Links: []*PrivateEndpointLink{{Name: "l", PrivateLinkServiceID: plsA, RequestMessage: "mine"}}}); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, ev := range e.Events() {
		got = append(got, ev.EventType+" "+ev.Subject)
	}
	want := []string{EventResourceWriteSuccess + " " + peIDOf(ownerSub, "rg-own", "pe-own"), EventResourceCreatedOrUpd + " " + plsA}
	if !slices.Equal(got, want) {
		t.Fatalf("got %q", got)
	}
}

func TestEventKindsCanBeDisabled(t *testing.T) {
	tests := []struct {
		name string
		o    EventOptions
		want []string
	}{
		{"both", EventOptions{}, []string{EventResourceWriteSuccess, EventResourceCreatedOrUpd}},
		{"no write success", EventOptions{DisableWriteSuccess: true}, []string{EventResourceCreatedOrUpd}},
		{"no notifications", EventOptions{DisableResourceNotifications: true}, []string{EventResourceWriteSuccess}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e, _ := startEmu(t, Options{Seed: 22, Events: tc.o}, testWorld())
			if err := e.SetConnectionStatus(plsA, "pe-pending.0a1b", "Approved", "ok"); err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, ev := range e.Events() {
				got = append(got, ev.EventType)
			}
			if !slices.Equal(got, tc.want) {
				t.Fatalf("got %v", got)
			}
		})
	}
}

func TestDeliveryDuplicatesAndSubscriptionFilter(t *testing.T) {
	s := &sink{}
	e, _ := startEmu(t, Options{Seed: 23, Events: EventOptions{SinkURL: newSink(t, s), Duplicate: 1, Subscriptions: []string{strings.ToUpper(ownerSub)}}}, testWorld())
	consumerRequest(t, e, "pe-1") // consumer-subscription event: filtered
	if err := e.SetConnectionStatus(plsA, "pe-pending.0a1b", "Approved", "ok"); err != nil {
		t.Fatal(err)
	}
	waitIdle(t, e)
	evs := decodeDelivered(t, s, SchemaEventGrid)
	ids := map[string]int{}
	for _, ev := range evs {
		ids[ev.id]++
		if subscriptionOf(ev.topic) != ownerSub {
			t.Fatalf("delivered an unwatched subscription's event: %s", ev.topic)
		}
	}
	if len(evs) != 4 || len(ids) != 2 {
		t.Fatalf("want 2 events each delivered twice, got %d deliveries of %d ids", len(evs), len(ids))
	}
	st := e.DeliveryStats()
	if st.Emitted != 3 || st.Filtered != 1 || st.Delivered != 4 || st.Duplicates != 2 || st.Attempts != 4 || st.Pending != 0 {
		t.Fatalf("stats %+v", st)
	}
	var dups int
	for _, d := range e.Deliveries() {
		if d.Duplicate {
			dups++
		}
	}
	if dups != 2 {
		t.Fatalf("log shows %d duplicates", dups)
	}
}

func TestDeliveryRetryUntilSuccess(t *testing.T) {
	// The sink fails the first two attempts of everything with 500.
	s := &sink{status: func(n int) int {
		if n < 2 {
			return http.StatusInternalServerError
		}
		return http.StatusOK
	}}
	e, _ := startEmu(t, Options{Seed: 24, Events: EventOptions{SinkURL: newSink(t, s), RetryScale: 0.001, DisableResourceNotifications: true}}, testWorld())
	if err := e.SetConnectionStatus(plsA, "pe-pending.0a1b", "Approved", "ok"); err != nil {
		t.Fatal(err)
	}
	waitIdle(t, e)
	bodies, _, counts := s.snapshot()
	if len(bodies) != 3 || !slices.Equal(counts, []string{"0", "1", "2"}) {
		t.Fatalf("attempts %d, aeg-delivery-count %v", len(bodies), counts)
	}
	if bodies[0] == nil || string(bodies[0]) != string(bodies[2]) {
		t.Fatal("retry must resend the same batch")
	}
	var outcomes []string
	for _, d := range e.Deliveries() {
		outcomes = append(outcomes, d.Outcome)
	}
	if !slices.Equal(outcomes, []string{"retry", "retry", "delivered"}) {
		t.Fatalf("outcomes %v", outcomes)
	}
	if st := e.DeliveryStats(); st.Retried != 2 || st.Delivered != 1 || st.Dropped != 0 {
		t.Fatalf("stats %+v", st)
	}
}

func TestDeliveryDropsAfterMaxAttemptsOrOn400(t *testing.T) {
	tests := []struct {
		name         string
		status       int
		maxAttempts  int
		wantAttempts int
	}{
		{"400 is not retried", 400, 30, 1},
		{"413 is not retried", 413, 30, 1},
		{"503 until max attempts", 503, 4, 4},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := &sink{status: func(int) int { return tc.status }}
			e, _ := startEmu(t, Options{Seed: 25, Events: EventOptions{SinkURL: newSink(t, s), RetryScale: 0.0001, MaxAttempts: tc.maxAttempts, DisableResourceNotifications: true}}, testWorld())
			if err := e.SetConnectionStatus(plsA, "pe-pending.0a1b", "Approved", "ok"); err != nil {
				t.Fatal(err)
			}
			waitIdle(t, e)
			if st := e.DeliveryStats(); st.Attempts != tc.wantAttempts || st.Dropped != 1 || st.Delivered != 0 {
				t.Fatalf("stats %+v", st)
			}
		})
	}
}

// TestDeliveryShuffle: a backlog released at once arrives in a seeded shuffle.
func TestDeliveryShuffle(t *testing.T) {
	order := func(shuffle bool, seed uint64) []string {
		s := &sink{}
		e, _ := startEmu(t, Options{Seed: seed, Events: EventOptions{SinkURL: newSink(t, s), Shuffle: shuffle, DisableResourceNotifications: true}}, testWorld())
		e.PauseDeliveries()
		for i := range 12 {
			st := "Approved"
			if i%2 == 1 {
				st = "Pending"
			}
			if err := e.SetConnectionStatus(plsA, "pe-approved.0a1c", st, "flip"); err != nil {
				t.Fatal(err)
			}
		}
		emitted := e.Events()
		e.ResumeDeliveries()
		waitIdle(t, e)
		var got []string
		for _, ev := range decodeDelivered(t, s, SchemaEventGrid) {
			got = append(got, ev.id)
		}
		var want []string
		for _, ev := range emitted {
			want = append(want, ev.ID)
		}
		if len(got) != len(want) {
			t.Fatalf("delivered %d of %d", len(got), len(want))
		}
		// Arrival order as letters of emission order (a = first emitted).
		pos := make([]string, len(got))
		for i, id := range got {
			if j := slices.Index(want, id); j >= 0 {
				pos[i] = string(rune('a' + j))
			}
		}
		return pos
	}
	inOrder := order(false, 26)
	if strings.Join(inOrder, "") != "abcdefghijkl" {
		t.Fatalf("without shuffle: %v", inOrder)
	}
	a, b := order(true, 26), order(true, 26)
	if !slices.Equal(a, b) {
		t.Fatalf("same seed, different order: %v vs %v", a, b)
	}
	if strings.Join(a, "") == "abcdefghijkl" {
		t.Fatal("shuffle kept emission order")
	}
}

func TestMaxEventsPerBatch(t *testing.T) {
	s := &sink{}
	e, _ := startEmu(t, Options{Seed: 27, Events: EventOptions{SinkURL: newSink(t, s), MaxEventsPerBatch: 10}}, testWorld())
	e.PauseDeliveries()
	if err := e.SetConnectionStatus(plsA, "pe-pending.0a1b", "Approved", "ok"); err != nil {
		t.Fatal(err)
	}
	e.ResumeDeliveries()
	waitIdle(t, e)
	bodies, _, _ := s.snapshot()
	if len(bodies) != 1 || len(decodeDelivered(t, s, SchemaEventGrid)) != 2 {
		t.Fatalf("want one batch of two events, got %d bodies", len(bodies))
	}
}

// TestEventDataRoundTripsThroughAzsystemevents: every key the emulator emits
// is one the azsystemevents v1.0.0 types know (decode into the SDK type,
// marshal back, compare key paths), envelope included.
func TestEventDataRoundTripsThroughAzsystemevents(t *testing.T) {
	e, _ := startEmu(t, Options{Seed: 28, Events: EventOptions{CrossSubscription: CrossWriteSuccess}}, testWorld())
	consumerRequest(t, e, "pe-rt")
	if err := e.DeletePrivateEndpoint(peIDOf(consumerSub, "rg-c", "pe-rt")); err != nil {
		t.Fatal(err)
	}
	if err := e.SetConnectionStatus(plsA, "pe-pending.0a1b", "Approved", "ok"); err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, ev := range e.Events() {
		seen[ev.EventType] = true
		var sdk any
		switch ev.EventType {
		case EventResourceWriteSuccess:
			sdk = &azsystemevents.ResourceWriteSuccessEventData{}
		case EventResourceDeleteSuccess:
			sdk = &azsystemevents.ResourceDeleteSuccessEventData{}
		case EventResourceCreatedOrUpd:
			sdk = &azsystemevents.ResourceNotificationsResourceManagementCreatedOrUpdatedEventData{}
		}
		if err := json.Unmarshal(ev.Data, sdk); err != nil {
			t.Fatal(err)
		}
		back, _ := json.Marshal(sdk)
		theirs := keyPaths(t, back)
		for _, k := range keyPaths(t, ev.Data) {
			if !slices.Contains(theirs, k) {
				t.Errorf("%s: data key %q unknown to azsystemevents", ev.EventType, k)
			}
		}
		raw, _ := json.Marshal(ev)
		var env azsystemevents.EventGridEvent
		if err := json.Unmarshal(raw, &env); err != nil {
			t.Fatal(err)
		}
		envBack, _ := json.Marshal(env)
		for _, k := range []string{"id", "topic", "subject", "eventType", "eventTime", "data", "dataVersion", "metadataVersion"} {
			if !strings.Contains(string(envBack), `"`+k+`"`) {
				t.Errorf("envelope key %s lost in round trip: %s", k, envBack)
			}
		}
	}
	for _, typ := range []string{EventResourceWriteSuccess, EventResourceDeleteSuccess, EventResourceCreatedOrUpd} {
		if !seen[typ] {
			t.Errorf("no %s emitted", typ)
		}
	}
}

func TestEventLogLimitAndLateSink(t *testing.T) {
	s := &sink{}
	e, _ := startEmu(t, Options{Seed: 29, Events: EventOptions{LogLimit: 3, DisableResourceNotifications: true}}, testWorld())
	for i := range 10 {
		st := []string{"Approved", "Pending"}[i%2]
		if err := e.SetConnectionStatus(plsA, "pe-approved.0a1c", st, "x"); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(e.Events()); n != 3 {
		t.Fatalf("log keeps %d events, want 3", n)
	}
	if st := e.DeliveryStats(); st.Emitted != 10 || st.Batches != 0 {
		t.Fatalf("without a sink nothing is queued: %+v", st)
	}
	if err := e.SetEventSink(newSink(t, s), SchemaCloudEvents); err != nil {
		t.Fatal(err)
	}
	if err := e.SetEventSink("http://x", "soap"); err == nil {
		t.Fatal("bad schema accepted")
	}
	if err := e.SetConnectionStatus(plsA, "pe-approved.0a1c", "Approved", "y"); err != nil {
		t.Fatal(err)
	}
	waitIdle(t, e)
	if got := decodeDelivered(t, s, SchemaCloudEvents); len(got) != 1 {
		t.Fatalf("delivered %d", len(got))
	}
	if got := e.Events(EventResourceCreatedOrUpd); len(got) != 0 {
		t.Fatalf("filter by type: %d", len(got))
	}
}
