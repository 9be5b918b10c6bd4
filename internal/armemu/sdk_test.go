package armemu

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/network/armnetwork/v7"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/resourcegraph/armresourcegraph"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/webpubsub/armwebpubsub"
)

var fastPoll = &runtime.PollUntilDoneOptions{Frequency: time.Millisecond}

func plsClient(t *testing.T, url, sub string) *armnetwork.PrivateLinkServicesClient {
	t.Helper()
	c, err := armnetwork.NewPrivateLinkServicesClient(sub, staticCred("test-token"), armOptions(url))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func peClient(t *testing.T, url, sub string) *armnetwork.PrivateEndpointsClient {
	t.Helper()
	c, err := armnetwork.NewPrivateEndpointsClient(sub, staticCred("test-token"), armOptions(url))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestSDKGetPrivateLinkService(t *testing.T) {
	e, url := startEmu(t, Options{Seed: 1}, testWorld())
	ctx := context.Background()
	resp, err := plsClient(t, url, ownerSub).Get(ctx, plsRG, "pls-a", nil)
	if err != nil {
		t.Fatal(err)
	}
	p := resp.PrivateLinkService
	if !strings.EqualFold(*p.ID, plsA) || *p.Name != "pls-a" || *p.Location != "westeurope" || *p.Tags["plsgate"] != "enabled" || p.Etag == nil {
		t.Fatalf("pls = %+v", p)
	}
	pr := p.Properties
	if *pr.ProvisioningState != armnetwork.ProvisioningStateSucceeded || *pr.Visibility.Subscriptions[0] != "*" ||
		*pr.AutoApproval.Subscriptions[0] != autoSub || *pr.Fqdns[0] != "api.contoso.example" || !strings.HasPrefix(*pr.Alias, "pls-a.") {
		t.Fatalf("properties = %+v", pr)
	}
	var got []string
	for _, c := range pr.PrivateEndpointConnections {
		st := c.Properties.PrivateLinkServiceConnectionState
		got = append(got, *c.Name+"="+*st.Status+"/"+*st.Description+"/"+*c.Properties.LinkIdentifier+"/"+*c.Properties.PrivateEndpointLocation)
		if !strings.HasPrefix(*c.ID, plsA+"/privateEndpointConnections/") || *c.Type != typePLSConn || c.Etag == nil || *c.Properties.PrivateEndpoint.ID == "" {
			t.Errorf("connection %+v", c)
		}
	}
	want := []string{"pe-pending.0a1b=Pending/please approve/536870913/westeurope", "pe-approved.0a1c=Approved/ok/536870914/westeurope", "pe-rejected.0a1d=Rejected/no/536870915/westeurope"}
	if !slices.Equal(got, want) {
		t.Fatalf("connections\n got %v\nwant %v", got, want)
	}
	_, err = plsClient(t, url, ownerSub).Get(ctx, plsRG, "missing", nil)
	if re := respErr(t, err); re.StatusCode != 404 || re.ErrorCode != CodeResourceNotFound {
		t.Fatalf("missing pls: %v", err)
	}
	if c := e.Counters(); c[OpPLSGet] != 2 || len(c) != 1 {
		t.Fatalf("counters = %v", c)
	}
}

// TestSDKListPaging pages 7 services, 2 per page, with one empty page (with
// nextLink) before each non-empty page, by subscription and by resource group.
func TestSDKListPaging(t *testing.T) {
	w := GenerateWorld(7, 1, 2, []string{ownerSub})
	w.PrivateLinkServices = append(w.PrivateLinkServices, &PrivateLinkService{SubscriptionID: consumerSub, ResourceGroup: "rg-other", Name: "elsewhere"})
	tests := []struct {
		name       string
		pageSize   int
		emptyPages int
		wantPages  int
	}{
		{"one page", 100, 0, 1},
		{"two per page", 2, 0, 4},
		{"with empty pages", 2, 1, 8},
		{"two empty pages", 3, 2, 9},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e, url := startEmu(t, Options{Seed: 2, PageSize: tc.pageSize, EmptyPages: tc.emptyPages}, w)
			c := plsClient(t, url, ownerSub)
			ctx := context.Background()
			var names []string
			pages, empty := 0, 0
			for p := c.NewListBySubscriptionPager(nil); p.More(); {
				page, err := p.NextPage(ctx)
				if err != nil {
					t.Fatal(err)
				}
				pages++
				if len(page.Value) == 0 {
					empty++
					if page.NextLink == nil {
						t.Fatal("empty page without nextLink")
					}
				}
				for _, v := range page.Value {
					names = append(names, *v.Name)
				}
			}
			want := []string{"pls-00000", "pls-00001", "pls-00002", "pls-00003", "pls-00004", "pls-00005", "pls-00006"}
			if !slices.Equal(names, want) {
				t.Fatalf("names %v", names)
			}
			if pages != tc.wantPages || (tc.emptyPages > 0) != (empty > 0) {
				t.Fatalf("pages=%d empty=%d, want %d pages", pages, empty, tc.wantPages)
			}
			names = names[:0]
			for p := c.NewListPager("rg-000", nil); p.More(); {
				page, err := p.NextPage(ctx)
				if err != nil {
					t.Fatal(err)
				}
				for _, v := range page.Value {
					names = append(names, *v.Name)
				}
			}
			if !slices.Equal(names, want) {
				t.Fatalf("by resource group: %v", names)
			}
			if got := e.Counters(); got[OpPLSListBySubscription] != tc.wantPages || got[OpPLSList] != tc.wantPages {
				t.Fatalf("counters %v, want %d pages each", got, tc.wantPages)
			}
		})
	}
}

func TestSDKConnections(t *testing.T) {
	e, url := startEmu(t, Options{Seed: 3, PageSize: 2, EmptyPages: 1}, testWorld())
	c := plsClient(t, url, ownerSub)
	ctx := context.Background()

	var names []string
	for p := c.NewListPrivateEndpointConnectionsPager(plsRG, "pls-a", nil); p.More(); {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range page.Value {
			names = append(names, *v.Name)
		}
	}
	if len(names) != 3 {
		t.Fatalf("connections %v", names)
	}

	before, err := c.GetPrivateEndpointConnection(ctx, plsRG, "pls-a", "pe-pending.0a1b", nil)
	if err != nil {
		t.Fatal(err)
	}
	plsBefore, _ := e.PLS(plsA)
	upd := armnetwork.PrivateEndpointConnection{
		Name: to.Ptr("pe-pending.0a1b"),
		Properties: &armnetwork.PrivateEndpointConnectionProperties{
			PrivateEndpoint: before.Properties.PrivateEndpoint,
			PrivateLinkServiceConnectionState: &armnetwork.PrivateLinkServiceConnectionState{
				Status: to.Ptr("Approved"), Description: to.Ptr("approved by plsgate rule r1"),
			},
		},
	}
	after, err := c.UpdatePrivateEndpointConnection(ctx, plsRG, "pls-a", "pe-pending.0a1b", upd, nil)
	if err != nil {
		t.Fatal(err)
	}
	st := after.Properties.PrivateLinkServiceConnectionState
	if *st.Status != "Approved" || *st.Description != "approved by plsgate rule r1" || *after.Etag == *before.Etag {
		t.Fatalf("after update: %+v etag %s→%s", st, *before.Etag, *after.Etag)
	}
	if plsAfter, _ := e.PLS(plsA); plsAfter.ETag == plsBefore.ETag {
		t.Fatal("PLS etag did not change")
	}

	tests := []struct {
		name, conn, status string
		wantStatus         int
		wantCode           string
	}{
		{"create by provider", "pe-new.ffff", "Approved", 400, CodeConnectionNotCreatable},
		{"approve rejected", "pe-rejected.0a1d", "Approved", 400, CodeRejectedIsTerminal},
		{"re-pend rejected", "pe-rejected.0a1d", "Pending", 400, CodeRejectedIsTerminal},
		{"bad status", "pe-approved.0a1c", "Maybe", 400, CodeInvalidConnectionStatus},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			u := upd
			u.Properties = &armnetwork.PrivateEndpointConnectionProperties{PrivateLinkServiceConnectionState: &armnetwork.PrivateLinkServiceConnectionState{Status: to.Ptr(tc.status)}}
			_, err := c.UpdatePrivateEndpointConnection(ctx, plsRG, "pls-a", tc.conn, u, nil)
			if re := respErr(t, err); re.StatusCode != tc.wantStatus || re.ErrorCode != tc.wantCode {
				t.Fatalf("got %d %s, want %d %s", re.StatusCode, re.ErrorCode, tc.wantStatus, tc.wantCode)
			}
		})
	}
	// Rejecting an approved connection is allowed; rejecting again is idempotent.
	for range 2 {
		u := upd
		u.Properties = &armnetwork.PrivateEndpointConnectionProperties{PrivateLinkServiceConnectionState: &armnetwork.PrivateLinkServiceConnectionState{Status: to.Ptr("Rejected"), Description: to.Ptr("bye")}}
		if _, err := c.UpdatePrivateEndpointConnection(ctx, plsRG, "pls-a", "pe-approved.0a1c", u, nil); err != nil {
			t.Fatal(err)
		}
	}

	// DELETE is long-running: 202 + Location/Azure-AsyncOperation, polled to done.
	e.SetLRO(LROOptions{InProgressPolls: 1})
	poller, err := c.BeginDeletePrivateEndpointConnection(ctx, plsRG, "pls-a", "pe-approved.0a1c", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := poller.PollUntilDone(ctx, fastPoll); err != nil {
		t.Fatal(err)
	}
	_, err = c.GetPrivateEndpointConnection(ctx, plsRG, "pls-a", "pe-approved.0a1c", nil)
	if re := respErr(t, err); re.StatusCode != 404 || re.ErrorCode != CodeResourceNotFound {
		t.Fatalf("deleted connection: %v", err)
	}
	// Deleting again: 204, done at once.
	poller, err = c.BeginDeletePrivateEndpointConnection(ctx, plsRG, "pls-a", "pe-approved.0a1c", nil)
	if err != nil || !poller.Done() {
		t.Fatalf("second delete: %v done=%v", err, poller.Done())
	}

	want := map[string]int{
		OpPLSListConnections:     4, // 3 connections, 2 per page, an empty page before each
		OpPLSGetConnection:       2,
		OpPLSUpdateConnection:    7,
		OpPLSDeleteConnection:    2,
		OpNetworkOperationStatus: 2, // one InProgress, one Succeeded
	}
	if got := e.Counters(); !mapsEqual(got, want) {
		t.Fatalf("counters\n got %v\nwant %v", got, want)
	}
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

func TestSDKPrivateEndpoints(t *testing.T) {
	tests := []struct {
		name       string
		sub        string
		target     string
		manual     bool
		wantStatus string
		wantDesc   string
		wantCode   string
	}{
		{"manual request is pending", consumerSub, plsA, true, "Pending", "please let me in", ""},
		{"auto path not in autoApproval is pending", consumerSub, plsA, false, "Pending", "please let me in", ""},
		{"auto path in autoApproval is approved", autoSub, plsA, false, "Approved", "Auto-Approved", ""},
		{"by alias", consumerSub, "pls-a.11111111-aaaa-4aaa-8aaa-aaaaaaaaaaaa.westeurope.azure.privatelinkservice", true, "Pending", "please let me in", ""},
		{"visible to this subscription", consumerSub, plsB, true, "Pending", "please let me in", ""},
		{"not visible", autoSub, plsB, true, "", "", CodePrivateLinkServiceMissing},
		{"no such service", consumerSub, plsIDOf(ownerSub, plsRG, "nope"), true, "", "", CodePrivateLinkServiceMissing},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e, url := startEmu(t, Options{Seed: 4}, testWorld())
			ctx := context.Background()
			c := peClient(t, url, tc.sub)
			link := &armnetwork.PrivateLinkServiceConnection{
				Name: to.Ptr("conn1"),
				Properties: &armnetwork.PrivateLinkServiceConnectionProperties{
					PrivateLinkServiceID: to.Ptr(tc.target),
					RequestMessage:       to.Ptr("please let me in"),
				},
			}
			pe := armnetwork.PrivateEndpoint{Location: to.Ptr("northeurope"), Properties: &armnetwork.PrivateEndpointProperties{
				Subnet: &armnetwork.Subnet{ID: to.Ptr(fmt.Sprintf("/subscriptions/%s/resourceGroups/rg-c/providers/Microsoft.Network/virtualNetworks/v/subnets/s", tc.sub))},
			}}
			if tc.manual {
				pe.Properties.ManualPrivateLinkServiceConnections = []*armnetwork.PrivateLinkServiceConnection{link}
			} else {
				pe.Properties.PrivateLinkServiceConnections = []*armnetwork.PrivateLinkServiceConnection{link}
			}
			poller, err := c.BeginCreateOrUpdate(ctx, "rg-c", "my-pe", pe, nil)
			if tc.wantCode != "" {
				if re := respErr(t, err); re.StatusCode != 400 || re.ErrorCode != tc.wantCode {
					t.Fatalf("got %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			res, err := poller.PollUntilDone(ctx, fastPoll)
			if err != nil {
				t.Fatal(err)
			}
			links := res.Properties.PrivateLinkServiceConnections
			if tc.manual {
				links = res.Properties.ManualPrivateLinkServiceConnections
			}
			if len(links) != 1 || *links[0].Properties.PrivateLinkServiceConnectionState.Status != tc.wantStatus {
				t.Fatalf("pe links %+v", links)
			}
			target := e.st.lookupPLS(tc.target).ID
			if !sameID(*links[0].Properties.PrivateLinkServiceID, target) {
				t.Fatalf("link targets %s", *links[0].Properties.PrivateLinkServiceID)
			}
			// The PLS owner sees the new connection.
			p, _ := e.PLS(target)
			cn := p.Connections[len(p.Connections)-1]
			peID := peIDOf(tc.sub, "rg-c", "my-pe")
			if !strings.HasPrefix(cn.Name, "my-pe.") || len(cn.Name) != len("my-pe.")+36 || cn.PrivateEndpointID != peID ||
				cn.Status != tc.wantStatus || cn.Description != tc.wantDesc || cn.PrivateEndpointLocation != "northeurope" {
				t.Fatalf("connection %+v", cn)
			}
			if _, err := strconv.ParseUint(cn.LinkIdentifier, 10, 32); err != nil {
				t.Fatalf("linkIdentifier %q", cn.LinkIdentifier)
			}
			got, err := c.Get(ctx, "rg-c", "my-pe", nil)
			if err != nil || !sameID(*got.ID, peID) {
				t.Fatalf("get pe: %v", err)
			}
			// Deleting the private endpoint removes the connection.
			dp, err := c.BeginDelete(ctx, "rg-c", "my-pe", nil)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := dp.PollUntilDone(ctx, fastPoll); err != nil {
				t.Fatal(err)
			}
			if _, ok := e.Connection(target, cn.Name); ok {
				t.Fatal("connection survived its private endpoint")
			}
		})
	}
}

// TestSDKPrivateEndpointRerequest: a consumer re-requests a Rejected
// connection by PUTting its endpoint with status Pending; dropping a link
// removes its connection.
func TestSDKPrivateEndpointRerequest(t *testing.T) {
	e, url := startEmu(t, Options{Seed: 5}, testWorld())
	ctx := context.Background()
	c := peClient(t, url, consumerSub)
	mk := func(status string, links ...string) armnetwork.PrivateEndpoint {
		pe := armnetwork.PrivateEndpoint{Location: to.Ptr("westeurope"), Properties: &armnetwork.PrivateEndpointProperties{}}
		for _, l := range links {
			pl := &armnetwork.PrivateLinkServiceConnection{Name: to.Ptr(l), Properties: &armnetwork.PrivateLinkServiceConnectionProperties{
				PrivateLinkServiceID: to.Ptr(plsA), RequestMessage: to.Ptr("try " + status)}}
			if status != "" {
				pl.Properties.PrivateLinkServiceConnectionState = &armnetwork.PrivateLinkServiceConnectionState{Status: to.Ptr(status)}
			}
			pe.Properties.ManualPrivateLinkServiceConnections = append(pe.Properties.ManualPrivateLinkServiceConnections, pl)
		}
		return pe
	}
	put := func(pe armnetwork.PrivateEndpoint) armnetwork.PrivateEndpoint {
		t.Helper()
		p, err := c.BeginCreateOrUpdate(ctx, "rg-c", "pe-x", pe, nil)
		if err != nil {
			t.Fatal(err)
		}
		r, err := p.PollUntilDone(ctx, fastPoll)
		if err != nil {
			t.Fatal(err)
		}
		return r.PrivateEndpoint
	}
	put(mk("", "l1", "l2"))
	pe, _ := e.PrivateEndpoint(peIDOf(consumerSub, "rg-c", "pe-x"))
	c1, c2 := pe.Links[0].ConnectionName, pe.Links[1].ConnectionName
	if err := e.SetConnectionStatus(plsA, c1, "Rejected", "no"); err != nil {
		t.Fatal(err)
	}
	got := put(mk("Pending", "l1"))
	if s := *got.Properties.ManualPrivateLinkServiceConnections[0].Properties.PrivateLinkServiceConnectionState.Status; s != "Pending" {
		t.Fatalf("re-request: %s", s)
	}
	if cn, _ := e.Connection(plsA, c1); cn.Status != "Pending" || cn.Description != "try Pending" {
		t.Fatalf("connection after re-request %+v", cn)
	}
	if _, ok := e.Connection(plsA, c2); ok {
		t.Fatal("dropped link kept its connection")
	}
}

// TestSDKSharedPrivateLinkFlow replays the seed's manual flow with the real
// clients: create the shared private link resource (LRO polled to
// Succeeded), see the connection Pending on the PLS, approve it, see the
// shared private link resource Approved — and the events delivered.
func TestSDKSharedPrivateLinkFlow(t *testing.T) {
	for _, schema := range []string{SchemaEventGrid, SchemaCloudEvents} {
		t.Run(schema, func(t *testing.T) {
			s := &sink{}
			srv := newSink(t, s)
			e, url := startEmu(t, Options{
				Seed:   6,
				LRO:    LROOptions{InProgressPolls: 2},
				Events: EventOptions{SinkURL: srv, Schema: schema, RetryScale: 0.001},
			}, testWorld())
			ctx := context.Background()
			spl, err := armwebpubsub.NewSharedPrivateLinkResourcesClient(ownerSub, staticCred("test-token"), armOptions(url))
			if err != nil {
				t.Fatal(err)
			}
			poller, err := spl.BeginCreateOrUpdate(ctx, "upstream", wpsRG, "wps-1", armwebpubsub.SharedPrivateLinkResource{
				Properties: &armwebpubsub.SharedPrivateLinkResourceProperties{
					PrivateLinkResourceID: to.Ptr(plsA),
					RequestMessage:        to.Ptr("wps-1 upstream, ticket 42"),
				},
			}, nil)
			if err != nil {
				t.Fatal(err)
			}
			if poller.Done() {
				t.Fatal("LRO done at once; want InProgress first")
			}
			res, err := poller.PollUntilDone(ctx, fastPoll)
			if err != nil {
				t.Fatal(err)
			}
			if *res.Properties.ProvisioningState != armwebpubsub.ProvisioningStateSucceeded || *res.Properties.Status != armwebpubsub.SharedPrivateLinkResourceStatusPending {
				t.Fatalf("after create: %s/%s", *res.Properties.ProvisioningState, *res.Properties.Status)
			}

			// The PLS owner sees a Pending connection from the service's managed subscription.
			pc := plsClient(t, url, ownerSub)
			p, err := pc.Get(ctx, plsRG, "pls-a", nil)
			if err != nil {
				t.Fatal(err)
			}
			var conn *armnetwork.PrivateEndpointConnection
			for _, c := range p.Properties.PrivateEndpointConnections {
				if *c.Properties.PrivateLinkServiceConnectionState.Description == "wps-1 upstream, ticket 42" {
					conn = c
				}
			}
			if conn == nil || *conn.Properties.PrivateLinkServiceConnectionState.Status != "Pending" ||
				subscriptionOf(*conn.Properties.PrivateEndpoint.ID) != DefaultServiceSubscription {
				t.Fatalf("service connection %+v", conn)
			}

			// Approve through armnetwork (what internal/arm does).
			_, err = pc.UpdatePrivateEndpointConnection(ctx, plsRG, "pls-a", *conn.Name, armnetwork.PrivateEndpointConnection{
				Name: conn.Name,
				Properties: &armnetwork.PrivateEndpointConnectionProperties{
					PrivateEndpoint: conn.Properties.PrivateEndpoint,
					PrivateLinkServiceConnectionState: &armnetwork.PrivateLinkServiceConnectionState{
						Status: to.Ptr("Approved"), Description: to.Ptr("approved by plsgate"),
					},
				},
			}, nil)
			if err != nil {
				t.Fatal(err)
			}
			got, err := spl.Get(ctx, "upstream", wpsRG, "wps-1", nil)
			if err != nil {
				t.Fatal(err)
			}
			if *got.Properties.Status != armwebpubsub.SharedPrivateLinkResourceStatusApproved || !sameID(*got.Properties.PrivateLinkResourceID, plsA) {
				t.Fatalf("shared link %+v", got.Properties)
			}
			var listed []string
			for pg := spl.NewListPager(wpsRG, "wps-1", nil); pg.More(); {
				page, err := pg.NextPage(ctx)
				if err != nil {
					t.Fatal(err)
				}
				for _, v := range page.Value {
					listed = append(listed, *v.Name+"="+string(*v.Properties.Status))
				}
			}
			if !slices.Equal(listed, []string{"upstream=Approved"}) {
				t.Fatalf("list %v", listed)
			}
			wc, _ := armwebpubsub.NewClient(ownerSub, staticCred("t"), armOptions(url))
			wr, err := wc.Get(ctx, wpsRG, "wps-1", nil)
			if err != nil || len(wr.Properties.SharedPrivateLinkResources) != 1 {
				t.Fatalf("web pubsub get: %v", err)
			}

			want := map[string]int{
				OpSharedLinkCreate:       1,
				OpSignalROperationStatus: 3, // InProgress, InProgress, Succeeded
				OpSharedLinkGet:          2, // the poller's final GET + ours
				OpSharedLinkList:         1,
				OpWebPubSubGet:           1,
				OpPLSGet:                 1,
				OpPLSUpdateConnection:    1,
			}
			if got := e.Counters(); !mapsEqual(got, want) {
				t.Fatalf("counters\n got %v\nwant %v", got, want)
			}

			// Events: the SPL write in the Web PubSub's subscription; nothing for
			// the service's request in the owner's (CrossNone); the approval's
			// write + resource notification in the owner's.
			waitIdle(t, e)
			evs := decodeDelivered(t, s, schema)
			var kinds []string
			for _, ev := range evs {
				kinds = append(kinds, ev.typ+" "+ev.op)
			}
			wantKinds := []string{
				EventResourceWriteSuccess + " Microsoft.SignalRService/webPubSub/sharedPrivateLinkResources/write",
				EventResourceWriteSuccess + " Microsoft.Network/privateLinkServices/privateEndpointConnections/write",
				EventResourceCreatedOrUpd + " ",
			}
			if !slices.Equal(kinds, wantKinds) {
				t.Fatalf("events\n got %q\nwant %q", kinds, wantKinds)
			}
			if !strings.EqualFold(evs[1].subject, plsA+"/privateEndpointConnections/"+*conn.Name) || evs[2].connStatus[*conn.Name] != "Approved" {
				t.Fatalf("approval events %+v", evs[1:])
			}
		})
	}
}

func TestSDKResourceGraph(t *testing.T) {
	w := GenerateWorld(30, 2, 3, []string{ownerSub, consumerSub})
	_, url := startEmu(t, Options{Seed: 7}, w)
	c, err := armresourcegraph.NewClient(staticCred("t"), armOptions(url))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	query := `resources
| where type =~ "microsoft.network/privatelinkservices"
| mv-expand pec = properties.privateEndpointConnections
| extend status = tostring(pec.properties.privateLinkServiceConnectionState.status)
| where status =~ "Pending"
| project subscriptionId, plsId = id, connId = tostring(pec.id), connName = tostring(pec.name),
          privateEndpointId = tostring(pec.properties.privateEndpoint.id),
          description = tostring(pec.properties.privateLinkServiceConnectionState.description), tags`
	var rows int
	var skip *string
	pages := 0
	for {
		opts := &armresourcegraph.QueryRequestOptions{Top: to.Ptr[int32](7), SkipToken: skip}
		resp, err := c.Resources(ctx, armresourcegraph.QueryRequest{Query: to.Ptr(query), Options: opts,
			Subscriptions: []*string{to.Ptr(ownerSub), to.Ptr(consumerSub)}}, nil)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		data := resp.Data.([]any)
		for _, d := range data {
			row := d.(map[string]any)
			if row["connId"] == "" || !strings.HasPrefix(row["connId"].(string), row["plsId"].(string)) {
				t.Fatalf("row %v", row)
			}
		}
		rows += len(data)
		if *resp.TotalRecords != 20 || int(*resp.Count) != len(data) {
			t.Fatalf("total %d count %d", *resp.TotalRecords, *resp.Count)
		}
		if resp.SkipToken == nil {
			break
		}
		skip = resp.SkipToken
	}
	if rows != 20 || pages != 3 { // 60 connections, every 3rd Pending
		t.Fatalf("rows=%d pages=%d", rows, pages)
	}
}

func TestAuthAndAPIVersion(t *testing.T) {
	e, url := startEmu(t, Options{Seed: 8}, testWorld())
	get := url + "/subscriptions/" + ownerSub + "/resourceGroups/" + plsRG + "/providers/Microsoft.Network/privateLinkServices/pls-a"
	tests := []struct {
		name, url, auth string
		want            int
		code            string
	}{
		{"no auth", get + "?api-version=2025-01-01", "", 401, CodeAuthenticationFailed},
		{"basic auth", get + "?api-version=2025-01-01", "Basic dTpw", 401, CodeAuthenticationFailed},
		{"empty bearer", get + "?api-version=2025-01-01", "Bearer ", 401, CodeAuthenticationFailed},
		{"no api-version", get, "Bearer x", 400, CodeMissingAPIVersion},
		{"bad api-version", get + "?api-version=latest", "Bearer x", 400, CodeInvalidAPIVersion},
		{"unknown api-version", get + "?api-version=2019-01-01", "Bearer x", 400, CodeNoRegisteredProvider},
		{"old api-version ok", get + "?api-version=2024-05-01", "Bearer x", 200, ""},
		{"casing of path", strings.ToLower(get) + "?api-version=2025-01-01", "bearer x", 200, ""},
		{"other tenant", url + "/subscriptions/" + DefaultServiceSubscription + "/providers/Microsoft.Network/privateLinkServices?api-version=2025-01-01", "Bearer x", 401, CodeInvalidTokenTenant},
		{"unknown path", url + "/subscriptions/" + ownerSub + "/providers/Microsoft.Compute/virtualMachines?api-version=2025-01-01", "Bearer x", 404, CodeNotImplementedByEmulator},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st, h, body := rawDo(t, http.MethodGet, tc.url, tc.auth, "")
			if st != tc.want {
				t.Fatalf("status %d body %s", st, body)
			}
			if tc.code != "" && errCode(t, body) != tc.code {
				t.Fatalf("code %s", body)
			}
			if st == 401 && tc.code == CodeAuthenticationFailed && h.Get("WWW-Authenticate") == "" {
				t.Fatal("401 without WWW-Authenticate")
			}
		})
	}
	if got := e.Counters(); got[OpPLSGet] != 8 || got[OpPLSListBySubscription] != 1 || got[OpUnknown] != 1 {
		t.Fatalf("every request counted, also failures: %v", got)
	}
}

// TestWebPubSubPreviewAPI: the seed's raw PUT with api-version
// 2024-08-01-preview and fqdns.
func TestWebPubSubPreviewAPI(t *testing.T) {
	e, url := startEmu(t, Options{Seed: 9}, testWorld())
	u := url + "/subscriptions/" + ownerSub + "/resourceGroups/" + wpsRG + "/providers/Microsoft.SignalRService/webPubSub/wps-1/sharedPrivateLinkResources/spl1?api-version=2024-08-01-preview"
	st, h, body := rawDo(t, http.MethodPut, u, "Bearer x", `{"properties":{"privateLinkResourceId":"`+plsA+`","fqdns":["api.contoso.example"],"requestMessage":"please"}}`)
	if st != 201 || h.Get("Azure-AsyncOperation") == "" || !strings.Contains(h.Get("Azure-AsyncOperation"), "/operationStatuses/") || !strings.Contains(string(body), `"fqdns":["api.contoso.example"]`) {
		t.Fatalf("%d %v %s", st, h, body)
	}
	st, _, body = rawDo(t, http.MethodGet, h.Get("Azure-AsyncOperation"), "Bearer x", "")
	if st != 200 || !strings.Contains(string(body), `"status":"Succeeded"`) {
		t.Fatalf("op status %d %s", st, body)
	}
	st, _, _ = rawDo(t, http.MethodGet, h.Get("Location"), "Bearer x", "")
	if st != 204 {
		t.Fatalf("op result %d", st)
	}
	s, _ := e.SharedPrivateLinkResource(splIDOf(wps1, "spl1"))
	if s.ProvisioningState != "Succeeded" || s.Status != "Pending" {
		t.Fatalf("%+v", s)
	}
	// Target not visible to the service: the operation fails.
	u2 := strings.Replace(u, "/spl1?", "/spl2?", 1)
	st, h, _ = rawDo(t, http.MethodPut, u2, "Bearer x", `{"properties":{"privateLinkResourceId":"`+plsB+`","requestMessage":"please"}}`)
	if st != 201 {
		t.Fatal(st)
	}
	_, _, body = rawDo(t, http.MethodGet, h.Get("Azure-AsyncOperation"), "Bearer x", "")
	if !strings.Contains(string(body), `"status":"Failed"`) || !strings.Contains(string(body), CodePrivateLinkServiceMissing) {
		t.Fatalf("op %s", body)
	}
}

// TestSharedLinkStatusDelayAndDelete: a shared private link resource's status lags its connection
// by SharedLinkStatusDelay. With an hour's delay it is still Pending right after the owner approves
// (no timing involved: nothing can have fired yet); with 20 ms it follows; a deleted connection
// shows Disconnected at once without a delay.
func TestSharedLinkStatusDelayAndDelete(t *testing.T) {
	e, _ := startEmu(t, Options{Seed: 10, SharedLinkStatusDelay: time.Hour}, testWorld())
	approve := func(name string) string {
		t.Helper()
		if err := e.CreateSharedPrivateLinkResource(wps1, name, SharedPrivateLinkResource{PrivateLinkResourceID: plsA, RequestMessage: "m"}); err != nil {
			t.Fatal(err)
		}
		splID := splIDOf(wps1, name)
		s, _ := e.SharedPrivateLinkResource(splID)
		if s.Status != "Pending" {
			t.Fatalf("%s created %s, want Pending", name, s.Status)
		}
		if err := e.SetConnectionStatus(plsA, s.ConnectionName, "Approved", "ok"); err != nil {
			t.Fatal(err)
		}
		return splID
	}
	slow := approve("slow")
	if s, _ := e.SharedPrivateLinkResource(slow); s.Status != "Pending" {
		t.Fatalf("an hour's delay: status %s right after the approval, want Pending until the delay passes", s.Status)
	}

	e.SetSharedLinkStatusDelay(20 * time.Millisecond)
	splID := approve("up")
	deadline := time.Now().Add(10 * time.Second)
	var s SharedPrivateLinkResource
	for {
		s, _ = e.SharedPrivateLinkResource(splID)
		if s.Status == "Approved" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("status never followed: %+v", s)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if s, _ := e.SharedPrivateLinkResource(slow); s.Status != "Pending" {
		t.Fatalf("the hour-delayed link followed early: %s", s.Status)
	}
	// The owner deletes the connection: the shared link shows Disconnected.
	e.SetSharedLinkStatusDelay(0)
	if err := e.DeleteConnection(plsA, s.ConnectionName); err != nil {
		t.Fatal(err)
	}
	if s, _ = e.SharedPrivateLinkResource(splID); s.Status != "Disconnected" {
		t.Fatalf("after delete: %s", s.Status)
	}
}

func TestSDKSharedLinkDeleteAndPrivateEndpointLists(t *testing.T) {
	e, url := startEmu(t, Options{Seed: 11, LRO: LROOptions{InProgressPolls: 1}}, testWorld())
	ctx := context.Background()
	if err := e.CreateSharedPrivateLinkResource(wps1, "gone", SharedPrivateLinkResource{PrivateLinkResourceID: plsA, RequestMessage: "m"}); err != nil {
		t.Fatal(err)
	}
	spl, _ := armwebpubsub.NewSharedPrivateLinkResourcesClient(ownerSub, staticCred("t"), armOptions(url))
	dp, err := spl.BeginDelete(ctx, "gone", wpsRG, "wps-1", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := dp.PollUntilDone(ctx, fastPoll); err != nil {
		t.Fatal(err)
	}
	_, err = spl.Get(ctx, "gone", wpsRG, "wps-1", nil)
	if re := respErr(t, err); re.StatusCode != 404 || re.ErrorCode != CodeResourceNotFound {
		t.Fatalf("deleted: %v", err)
	}
	_, err = spl.Get(ctx, "x", wpsRG, "no-such-wps", nil)
	if re := respErr(t, err); re.StatusCode != 404 {
		t.Fatalf("missing web pubsub: %v", err)
	}

	for _, n := range []string{"pe-c", "pe-a", "pe-b"} {
		if _, err := e.CreatePrivateEndpoint(PrivateEndpoint{SubscriptionID: consumerSub, ResourceGroup: "rg-c", Name: n,
			Links: []*PrivateEndpointLink{{Name: "l", Manual: true, PrivateLinkServiceID: plsA}}}); err != nil {
			t.Fatal(err)
		}
	}
	e.SetPaging(1, 1)
	pc := peClient(t, url, consumerSub)
	collect := func(p interface {
		More() bool
	}, next func() ([]*armnetwork.PrivateEndpoint, error)) []string {
		var names []string
		for p.More() {
			v, err := next()
			if err != nil {
				t.Fatal(err)
			}
			for _, pe := range v {
				names = append(names, *pe.Name)
			}
		}
		return names
	}
	byRG := pc.NewListPager("rg-c", nil)
	got := collect(byRG, func() ([]*armnetwork.PrivateEndpoint, error) {
		r, err := byRG.NextPage(ctx)
		return r.Value, err
	})
	bySub := pc.NewListBySubscriptionPager(nil)
	got2 := collect(bySub, func() ([]*armnetwork.PrivateEndpoint, error) {
		r, err := bySub.NextPage(ctx)
		return r.Value, err
	})
	if want := []string{"pe-a", "pe-b", "pe-c"}; !slices.Equal(got, want) || !slices.Equal(got2, want) {
		t.Fatalf("by rg %v, by subscription %v", got, got2)
	}
	if c := e.Counters(); c[OpPEList] != 6 || c[OpPEListBySubscription] != 6 {
		t.Fatalf("counters %v", c)
	}
}
