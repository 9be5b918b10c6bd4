package arm_test

// Integration tests: internal/arm's Client (the real armnetwork and
// armwebpubsub SDK clients underneath) against the local ARM emulator over
// loopback HTTP, and the emulator's Event Grid deliveries through
// internal/events.

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	azarm "github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/webpubsub/armwebpubsub"

	"github.com/plsgate/plsgate/internal/arm"
	"github.com/plsgate/plsgate/internal/armemu"
	"github.com/plsgate/plsgate/internal/events"
)

const (
	emuOwner    = "0b6f3c1e-1111-4a2b-9c3d-000000000001"
	emuConsumer = "0b6f3c1e-2222-4a2b-9c3d-000000000002"
	emuPLS      = "/subscriptions/" + emuOwner + "/resourceGroups/rg-net/providers/Microsoft.Network/privateLinkServices/pls-chat"
	emuWPS      = "/subscriptions/" + emuOwner + "/resourceGroups/rg-wps/providers/Microsoft.SignalRService/webPubSub/wps-chat"
)

// fastRetry keeps azcore's retry policy but without its 0.8 s base delay.
var fastRetry = &policy.RetryOptions{MaxRetries: 3, RetryDelay: time.Millisecond, MaxRetryDelay: 10 * time.Millisecond}

// eventSink is the Event Grid subscriber endpoint: it keeps every delivery.
type eventSink struct {
	mu     sync.Mutex
	bodies [][]byte
}

func (s *eventSink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	s.mu.Lock()
	s.bodies = append(s.bodies, b)
	s.mu.Unlock()
	w.WriteHeader(http.StatusOK)
}

func (s *eventSink) Bodies() [][]byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.bodies)
}

func startEmulator(t *testing.T, o armemu.Options) (*armemu.Emulator, string) {
	t.Helper()
	e := armemu.New(o)
	if _, err := e.AddPLS(armemu.PrivateLinkService{
		ID: emuPLS, Location: "westeurope", Visibility: []string{"*"}, Fqdns: []string{"chat.contoso.internal"},
		Tags: map[string]string{"plsgate": "enabled"},
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.AddWebPubSub(armemu.WebPubSub{ID: emuWPS, Location: "westeurope"}); err != nil {
		t.Fatal(err)
	}
	url, err := e.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Close)
	return e, url
}

func newClient(t *testing.T, url string, retry *policy.RetryOptions) *arm.Client {
	t.Helper()
	c, err := arm.New(arm.Options{Endpoint: url, Credential: arm.StaticToken("emulator-token"), AllowHTTP: true, Retry: retry})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// webPubSubOwner is the Web PubSub owner's own SDK client (not plsgate's).
func webPubSubOwner(t *testing.T, url string) *armwebpubsub.SharedPrivateLinkResourcesClient {
	t.Helper()
	c, err := armwebpubsub.NewSharedPrivateLinkResourcesClient(emuOwner, arm.StaticToken("owner-token"), &azarm.ClientOptions{
		ClientOptions: policy.ClientOptions{
			Cloud:                           cloud.Configuration{Services: map[cloud.ServiceName]cloud.ServiceConfiguration{cloud.ResourceManager: {Endpoint: url, Audience: url}}},
			InsecureAllowCredentialWithHTTP: true,
			Retry:                           *fastRetry,
		},
		DisableRPRegistration: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestEmulatorSeedFlow replays the seed's manual flow: a Web PubSub shared
// private link resource is created (LRO polled to Succeeded), its connection
// shows Pending on the PLS, internal/arm approves it, the shared private link
// resource turns Approved — and the emulated Event Grid deliveries classify
// as plsgate expects.
func TestEmulatorSeedFlow(t *testing.T) {
	for _, schema := range []string{armemu.SchemaEventGrid, armemu.SchemaCloudEvents} {
		t.Run(schema, func(t *testing.T) {
			sink := &eventSink{}
			srv := httptest.NewServer(sink)
			t.Cleanup(srv.Close)
			e, url := startEmulator(t, armemu.Options{
				Seed:   7,
				LRO:    armemu.LROOptions{InProgressPolls: 2},
				Events: armemu.EventOptions{SinkURL: srv.URL, Schema: schema, RetryScale: 0.001},
			})
			ctx := context.Background()

			// 1. The Web PubSub owner creates the shared private link resource.
			const msg = "wps-chat upstream, ticket 42"
			poller, err := webPubSubOwner(t, url).BeginCreateOrUpdate(ctx, "upstream", "rg-wps", "wps-chat", armwebpubsub.SharedPrivateLinkResource{
				Properties: &armwebpubsub.SharedPrivateLinkResourceProperties{
					GroupID: to.Ptr(""), PrivateLinkResourceID: to.Ptr(emuPLS), RequestMessage: to.Ptr(msg),
				},
			}, nil)
			if err != nil {
				t.Fatal(err)
			}
			res, err := poller.PollUntilDone(ctx, &runtime.PollUntilDoneOptions{Frequency: time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			if *res.Properties.ProvisioningState != armwebpubsub.ProvisioningStateSucceeded {
				t.Fatalf("shared private link resource %s", *res.Properties.ProvisioningState)
			}
			e.ResetCounters()

			// 2. plsgate reads the PLS: the connection is Pending with the request message.
			c := newClient(t, url, fastRetry)
			pls, err := c.GetPrivateLinkService(ctx, arm.NormalizeID(emuPLS)) // events hand over lower-case IDs
			if err != nil {
				t.Fatal(err)
			}
			if !arm.SameID(pls.ID, emuPLS) || pls.SubscriptionID != emuOwner || pls.ResourceGroup != "rg-net" ||
				!slices.Equal(pls.Visibility, []string{"*"}) || pls.Tags["plsgate"] != "enabled" || pls.Alias == "" {
				t.Fatalf("pls = %+v", pls)
			}
			i := slices.IndexFunc(pls.Connections, func(c arm.Connection) bool { return c.Description == msg })
			if i < 0 {
				t.Fatalf("no connection with the request message: %+v", pls.Connections)
			}
			conn := pls.Connections[i]
			if conn.Status != arm.StatusPending || conn.PrivateEndpointID == "" || conn.ETag == "" || conn.LinkIdentifier == "" ||
				arm.SubscriptionOf(conn.PrivateEndpointID) == emuOwner {
				t.Fatalf("connection = %+v", conn)
			}

			// 3. The verification fact: a shared private link resource of ours
			// points at this PLS, Pending, with the same message.
			spls, err := c.ListSharedPrivateLinkResources(ctx, emuWPS)
			if err != nil {
				t.Fatal(err)
			}
			if len(spls) != 1 || !arm.SameID(spls[0].PrivateLinkResourceID, emuPLS) || spls[0].RequestMessage != msg ||
				spls[0].Status != "Pending" || spls[0].ProvisioningState != "Succeeded" || !arm.SameID(spls[0].WebPubSubID, emuWPS) {
				t.Fatalf("shared private link resources = %+v", spls)
			}

			// 4. Approve through internal/arm.
			got, err := c.UpdateConnection(ctx, pls.ID, arm.ConnectionUpdate{
				Name: conn.Name, PrivateEndpointID: conn.PrivateEndpointID, Status: arm.StatusApproved, Description: "approved by plsgate rule webpubsub",
			})
			if err != nil {
				t.Fatal(err)
			}
			if got.Status != arm.StatusApproved || got.Description != "approved by plsgate rule webpubsub" || got.ETag == conn.ETag {
				t.Fatalf("after update: %+v (etag before %s)", got, conn.ETag)
			}

			// 5. The shared private link resource follows.
			spl, err := c.GetSharedPrivateLinkResource(ctx, spls[0].ID)
			if err != nil {
				t.Fatal(err)
			}
			if spl.Status != "Approved" {
				t.Fatalf("shared private link resource status %q", spl.Status)
			}
			again, err := c.GetConnection(ctx, pls.ID, conn.Name)
			if err != nil || again.Status != arm.StatusApproved {
				t.Fatalf("connection re-read: %+v, %v", again, err)
			}

			want := map[string]int{
				"PrivateLinkServices_Get":                             1,
				"WebPubSubSharedPrivateLinkResources_List":            1,
				"PrivateLinkServices_UpdatePrivateEndpointConnection": 1,
				"WebPubSubSharedPrivateLinkResources_Get":             1,
				"PrivateLinkServices_GetPrivateEndpointConnection":    1,
			}
			if got := e.Counters(); !mapsEqual(got, want) {
				t.Errorf("ARM calls\n got %v\nwant %v", got, want)
			}
			for op := range e.Counters() {
				if !slices.ContainsFunc(arm.Operations, func(o arm.Operation) bool { return o.Name == op }) {
					t.Errorf("the emulator counted %s, which arm.Operations does not list", op)
				}
			}

			// 6. The deliveries, through internal/events: the approval's write in
			// the owner's subscription names the PLS, and the resource
			// notification says nothing is Pending any more.
			wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			defer cancel()
			if err := e.WaitIdle(wctx); err != nil {
				t.Fatal(err)
			}
			cl := events.NewClassifier(events.Scope{Subscriptions: []string{emuOwner}})
			var hints []string
			for _, body := range sink.Bodies() {
				evs, err := events.Decode(body)
				if err != nil {
					t.Fatalf("decode delivery %s: %v", body, err)
				}
				for _, ev := range evs {
					if ev.Schema != schema {
						t.Errorf("event %s in schema %s", ev.ID, ev.Schema)
					}
					h, err := cl.Classify(ev)
					if err != nil {
						t.Fatalf("classify %s: %v", ev.ID, err)
					}
					s := h.Kind.String()
					if len(h.ResourceIDs) > 0 {
						s += " " + strings.Join(h.ResourceIDs, ",")
					}
					if h.HasPending != nil {
						s += map[bool]string{true: " pending", false: " nothing-pending"}[*h.HasPending]
					}
					hints = append(hints, s)
				}
			}
			plsKey := arm.NormalizeID(emuPLS)
			wantHints := []string{
				"irrelevant", // the shared private link resource write (Microsoft.SignalRService)
				"resource-changed " + plsKey,
				"resource-notification " + plsKey + " nothing-pending",
			}
			if !slices.Equal(hints, wantHints) {
				t.Errorf("hints\n got %q\nwant %q", hints, wantHints)
			}
		})
	}
}

// TestEmulatorConsumerPrivateEndpoint: a consumer in a watched subscription
// creates a private endpoint with a manual request; the event asks plsgate to
// read the endpoint, which names the PLS.
func TestEmulatorConsumerPrivateEndpoint(t *testing.T) {
	sink := &eventSink{}
	srv := httptest.NewServer(sink)
	t.Cleanup(srv.Close)
	e, url := startEmulator(t, armemu.Options{Seed: 8, Events: armemu.EventOptions{SinkURL: srv.URL, RetryScale: 0.001}})
	pe, err := e.CreatePrivateEndpoint(armemu.PrivateEndpoint{
		SubscriptionID: emuConsumer, ResourceGroup: "rg-app", Name: "pe-app", Location: "northeurope",
		Links: []*armemu.PrivateEndpointLink{{Name: "to-chat", Manual: true, PrivateLinkServiceID: emuPLS, RequestMessage: "ticket: CHG-7"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := e.WaitIdle(wctx); err != nil {
		t.Fatal(err)
	}
	cl := events.NewClassifier(events.Scope{Subscriptions: []string{emuOwner, emuConsumer}})
	var peID string
	for _, body := range sink.Bodies() {
		evs, err := events.Decode(body)
		if err != nil {
			t.Fatal(err)
		}
		for _, ev := range evs {
			if h, err := cl.Classify(ev); err == nil && h.Kind == events.PrivateEndpointWritten {
				peID = h.PrivateEndpointID
			}
		}
	}
	if !arm.SameID(peID, pe.ID) {
		t.Fatalf("no PrivateEndpointWritten hint for %s (got %q)", pe.ID, peID)
	}

	c := newClient(t, url, fastRetry)
	got, err := c.GetPrivateEndpoint(ctx, peID)
	if err != nil {
		t.Fatal(err)
	}
	if got.SubscriptionID != emuConsumer || got.Location != "northeurope" || len(got.TargetIDs) != 1 || !arm.SameID(got.TargetIDs[0], emuPLS) {
		t.Fatalf("private endpoint = %+v", got)
	}
	pls, err := c.GetPrivateLinkService(ctx, got.TargetIDs[0])
	if err != nil {
		t.Fatal(err)
	}
	if len(pls.Connections) != 1 || pls.Connections[0].Status != arm.StatusPending || pls.Connections[0].Description != "ticket: CHG-7" ||
		!arm.SameID(pls.Connections[0].PrivateEndpointID, pe.ID) || pls.Connections[0].PrivateEndpointLocation != "northeurope" {
		t.Fatalf("connections = %+v", pls.Connections)
	}
}

// TestEmulatorPagingStreams lists 23 services, 5 per page, with an empty page
// (carrying a nextLink) before each non-empty one.
func TestEmulatorPagingStreams(t *testing.T) {
	e := armemu.New(armemu.Options{Seed: 9, PageSize: 5, EmptyPages: 1})
	if err := e.Seed(armemu.GenerateWorld(23, 2, 3, []string{emuOwner})); err != nil {
		t.Fatal(err)
	}
	url, err := e.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Close)
	c := newClient(t, url, fastRetry)
	ctx := context.Background()

	var sizes []int
	var pending int
	seen := map[string]bool{}
	for page, err := range c.ListPrivateLinkServices(ctx, emuOwner) {
		if err != nil {
			t.Fatal(err)
		}
		sizes = append(sizes, len(page))
		for _, p := range page {
			seen[arm.NormalizeID(p.ID)] = true
			for _, conn := range p.Connections {
				if conn.Status == arm.StatusPending {
					pending++
				}
			}
		}
	}
	if !slices.Equal(sizes, []int{5, 5, 5, 5, 3}) || len(seen) != 23 || pending == 0 {
		t.Errorf("page sizes %v, %d distinct services, %d pending", sizes, len(seen), pending)
	}
	// 5 non-empty pages, each after an empty one.
	if n := e.Counters()["PrivateLinkServices_ListBySubscription"]; n != 10 {
		t.Errorf("%d list requests, want 10", n)
	}

	// By resource group, stopping after the first page fetches no more.
	e.ResetCounters()
	rg := ""
	for p := range seen {
		_, rg, _, _ = arm.ParsePrivateLinkServiceID(p)
		break
	}
	for page, err := range c.ListPrivateLinkServicesByResourceGroup(ctx, emuOwner, rg) {
		if err != nil || len(page) == 0 {
			t.Fatalf("page %v err %v", page, err)
		}
		break
	}
	if n := e.Counters()["PrivateLinkServices_List"]; n != 2 {
		t.Errorf("%d list requests after breaking on the first page, want 2 (one empty page first)", n)
	}
}

// TestEmulatorErrors: Azure's answers to what plsgate must not do, and faults.
func TestEmulatorErrors(t *testing.T) {
	e, url := startEmulator(t, armemu.Options{Seed: 10})
	ctx := context.Background()
	pe, err := e.CreatePrivateEndpoint(armemu.PrivateEndpoint{
		SubscriptionID: emuConsumer, ResourceGroup: "rg-app", Name: "pe-x", Location: "westeurope",
		Links: []*armemu.PrivateEndpointLink{{Name: "l", Manual: true, PrivateLinkServiceID: emuPLS, RequestMessage: "hello"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	connName := pe.Links[0].ConnectionName
	noRetry := newClient(t, url, &policy.RetryOptions{MaxRetries: -1})

	t.Run("unknown connection is never created", func(t *testing.T) {
		_, err := noRetry.UpdateConnection(ctx, emuPLS, arm.ConnectionUpdate{Name: "not-there", PrivateEndpointID: pe.ID, Status: arm.StatusApproved})
		if arm.StatusCode(err) != 400 || arm.ErrorCode(err) != "PrivateEndpointConnectionCannotBeCreatedByServiceProvider" || arm.IsRetryable(err) {
			t.Errorf("err = %v", err)
		}
		if p, _ := e.PLS(emuPLS); len(p.Connections) != 1 {
			t.Errorf("connections now %d", len(p.Connections))
		}
	})

	t.Run("rejected is terminal", func(t *testing.T) {
		if _, err := noRetry.UpdateConnection(ctx, emuPLS, arm.ConnectionUpdate{Name: connName, PrivateEndpointID: pe.ID, Status: arm.StatusRejected, Description: "no"}); err != nil {
			t.Fatal(err)
		}
		_, err := noRetry.UpdateConnection(ctx, emuPLS, arm.ConnectionUpdate{Name: connName, PrivateEndpointID: pe.ID, Status: arm.StatusApproved})
		if arm.StatusCode(err) != 400 || arm.IsRetryable(err) {
			t.Errorf("approving a rejected connection: %v", err)
		}
		if c, _ := e.Connection(emuPLS, connName); c.Status != arm.StatusRejected {
			t.Errorf("status %s", c.Status)
		}
	})

	t.Run("not found", func(t *testing.T) {
		_, err := noRetry.GetPrivateLinkService(ctx, strings.Replace(emuPLS, "pls-chat", "pls-gone", 1))
		if !arm.IsNotFound(err) || arm.IsRetryable(err) {
			t.Errorf("err = %v", err)
		}
	})

	t.Run("throttled is retryable, and retried", func(t *testing.T) {
		if err := e.SetFaults(armemu.Faults{Rules: []armemu.FaultRule{{Operation: "PrivateLinkServices_Get", Script: []int{429}, RetryAfter: 1}}}); err != nil {
			t.Fatal(err)
		}
		_, err := noRetry.GetPrivateLinkService(ctx, emuPLS)
		var re *azcore.ResponseError
		if !arm.IsRetryable(err) || arm.StatusCode(err) != 429 || !errors.As(err, &re) || re.RawResponse.Header.Get("Retry-After") != "1" {
			t.Errorf("err = %v", err)
		}
		if err := e.SetFaults(armemu.Faults{Rules: []armemu.FaultRule{{Operation: "PrivateLinkServices_Get", Script: []int{503, 500}}}}); err != nil {
			t.Fatal(err)
		}
		e.ResetCounters()
		if _, err := newClient(t, url, fastRetry).GetPrivateLinkService(ctx, emuPLS); err != nil {
			t.Errorf("after retries: %v", err)
		}
		if n := e.Counters()["PrivateLinkServices_Get"]; n != 3 {
			t.Errorf("%d GETs, want 3 (two faults, then success)", n)
		}
		_ = e.SetFaults(armemu.Faults{})
	})

	t.Run("plain HTTP only to loopback", func(t *testing.T) {
		remote := strings.Replace(url, "127.0.0.1", "emulator.example.com", 1)
		if _, err := arm.New(arm.Options{Endpoint: remote, Credential: arm.StaticToken("t"), AllowHTTP: true}); err == nil {
			t.Error("AllowHTTP accepted for a remote host")
		}
	})
}

func mapsEqual(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}
