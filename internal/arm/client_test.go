package arm

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	azfake "github.com/Azure/azure-sdk-for-go/sdk/azcore/fake"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/network/armnetwork/v7"
	netfake "github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/network/armnetwork/v7/fake"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/webpubsub/armwebpubsub"
	wpsfake "github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/webpubsub/armwebpubsub/fake"
)

const (
	subNet = "11111111-1111-1111-1111-111111111111"
	plsID  = "/subscriptions/" + subNet + "/resourceGroups/rg-net/providers/Microsoft.Network/privateLinkServices/pls-chat"
	// the same ID as events spell it
	plsIDOddCase = "/SUBSCRIPTIONS/" + subNet + "/resourcegroups/rg-net/providers/microsoft.network/PRIVATELINKSERVICES/pls-chat/"
	pendingConn  = "pls-chat.9f3c6a2e-7d41-4b8e-a0c5-2e6f1b9d4c73"
	wpsPE        = "/subscriptions/33333333-3333-3333-3333-333333333333/resourceGroups/wps-managed/providers/Microsoft.Network/privateEndpoints/wps-chat-spl"
)

func wantPLS() *PrivateLinkService {
	return &PrivateLinkService{
		Type:           "Microsoft.Network/privateLinkServices",
		ID:             plsID,
		Name:           "pls-chat",
		SubscriptionID: subNet,
		ResourceGroup:  "rg-net",
		Location:       "westeurope",
		Alias:          "pls-chat.4d8e1c2a-0b7f-4f3e-9a55-1c2d3e4f5a6b.westeurope.azure.privatelinkservice",
		Tags:           map[string]string{"plsgate": "enabled", "owner": "team-chat"},
		Visibility:     []string{"*"},
		AutoApproval:   []string{"22222222-2222-2222-2222-222222222222"},
		Fqdns:          []string{"chat.contoso.internal"},
		Connections: []Connection{
			{
				ID:                      plsID + "/privateEndpointConnections/" + pendingConn,
				Name:                    pendingConn,
				PrivateEndpointID:       wpsPE,
				PrivateEndpointLocation: "westeurope",
				Status:                  "Pending",
				Description:             "please approve",
				ActionsRequired:         "None",
				LinkIdentifier:          "536873049",
				ProvisioningState:       "Succeeded",
				ETag:                    `W/"0b2a4e6c-8d1f-4a3b-9c5e-7f0a2b4c6d8e"`,
			},
			{
				ID:                      plsID + "/privateEndpointConnections/pe-app.5e1d",
				Name:                    "pe-app.5e1d",
				PrivateEndpointID:       "/subscriptions/22222222-2222-2222-2222-222222222222/resourceGroups/rg-app/providers/Microsoft.Network/privateEndpoints/pe-app",
				PrivateEndpointLocation: "northeurope",
				Status:                  "Approved",
				Description:             "Auto-Approved",
				ActionsRequired:         "None",
				LinkIdentifier:          "536873050",
				ProvisioningState:       "Succeeded",
				ETag:                    `W/"1c3e5a7b-9d2f-4b4c-8e6a-0f1b3d5e7a9c"`,
			},
		},
	}
}

func TestGetPrivateLinkServiceMapsEveryField(t *testing.T) {
	var body armnetwork.PrivateLinkService
	readJSON(t, "pls_get.json", &body)
	var gotRG, gotName string
	c, rec := newFakeClient(t, &netfake.ServerFactory{PrivateLinkServicesServer: netfake.PrivateLinkServicesServer{
		Get: func(_ context.Context, rg, name string, _ *armnetwork.PrivateLinkServicesClientGetOptions) (resp azfake.Responder[armnetwork.PrivateLinkServicesClientGetResponse], errResp azfake.ErrorResponder) {
			gotRG, gotName = rg, name
			resp.SetResponse(http.StatusOK, armnetwork.PrivateLinkServicesClientGetResponse{PrivateLinkService: body}, nil)
			return
		},
	}}, nil)

	got, err := c.GetPrivateLinkService(context.Background(), plsIDOddCase)
	if err != nil {
		t.Fatal(err)
	}
	if gotRG != "rg-net" || gotName != "pls-chat" {
		t.Errorf("SDK got rg=%q name=%q", gotRG, gotName)
	}
	if want := wantPLS(); !reflect.DeepEqual(got, want) {
		t.Errorf("mapping:\n got %+v\nwant %+v", got, want)
	}
	calls := rec.Calls()
	if len(calls) != 1 || calls[0].Method != http.MethodGet || !strings.Contains(calls[0].URL, "api-version="+NetworkAPIVersion) {
		t.Errorf("calls = %+v", calls)
	}
	if !strings.Contains(calls[0].URL, "/subscriptions/"+strings.ToUpper(subNet)) && !strings.Contains(calls[0].URL, "/subscriptions/"+subNet) {
		t.Errorf("URL %s does not name the subscription", calls[0].URL)
	}
}

func TestGetPrivateLinkServiceRefusesOtherIDs(t *testing.T) {
	c, rec := newFakeClient(t, nil, nil)
	for _, id := range []string{
		"",
		"pls-chat",
		"/subscriptions/" + subNet + "/resourceGroups/rg-net/providers/Microsoft.Network/privateEndpoints/pe",
		"/subscriptions/" + subNet + "/resourceGroups/rg-net/providers/Microsoft.Network/privateLinkServices",
		plsID + "/privateEndpointConnections/x",
	} {
		_, err := c.GetPrivateLinkService(context.Background(), id)
		if !errors.Is(err, ErrInvalidArgument) || IsRetryable(err) {
			t.Errorf("%q: err = %v, want ErrInvalidArgument", id, err)
		}
	}
	if n := len(rec.Calls()); n != 0 {
		t.Errorf("%d ARM calls for invalid IDs", n)
	}
}

func plsItem(name string) *armnetwork.PrivateLinkService {
	return &armnetwork.PrivateLinkService{
		ID:       to.Ptr("/subscriptions/" + subNet + "/resourceGroups/rg-net/providers/Microsoft.Network/privateLinkServices/" + name),
		Name:     to.Ptr(name),
		Location: to.Ptr("westeurope"),
	}
}

func names(pages [][]*PrivateLinkService) [][]string {
	var out [][]string
	for _, p := range pages {
		var ns []string
		for _, s := range p {
			ns = append(ns, s.Name)
		}
		out = append(out, ns)
	}
	return out
}

func TestListPrivateLinkServicesStreamsPagesAndSkipsEmptyOnes(t *testing.T) {
	pages := [][]*armnetwork.PrivateLinkService{
		{plsItem("a"), plsItem("b")},
		{}, // empty page with a nextLink: ARM does this
		{plsItem("c")},
		{},
	}
	bySub := func(*armnetwork.PrivateLinkServicesClientListBySubscriptionOptions) (resp azfake.PagerResponder[armnetwork.PrivateLinkServicesClientListBySubscriptionResponse]) {
		for _, p := range pages {
			resp.AddPage(http.StatusOK, armnetwork.PrivateLinkServicesClientListBySubscriptionResponse{PrivateLinkServiceListResult: armnetwork.PrivateLinkServiceListResult{Value: p}}, nil)
		}
		return
	}
	byRG := func(rg string, _ *armnetwork.PrivateLinkServicesClientListOptions) (resp azfake.PagerResponder[armnetwork.PrivateLinkServicesClientListResponse]) {
		if rg != "rg-net" {
			resp.AddResponseError(http.StatusNotFound, "ResourceGroupNotFound")
			return
		}
		for _, p := range pages {
			resp.AddPage(http.StatusOK, armnetwork.PrivateLinkServicesClientListResponse{PrivateLinkServiceListResult: armnetwork.PrivateLinkServiceListResult{Value: p}}, nil)
		}
		return
	}
	c, rec := newFakeClient(t, &netfake.ServerFactory{PrivateLinkServicesServer: netfake.PrivateLinkServicesServer{
		NewListBySubscriptionPager: bySub,
		NewListPager:               byRG,
	}}, nil)
	ctx := context.Background()
	for name, seq := range map[string]func() ([][]*PrivateLinkService, []int, error){
		"by subscription": func() (out [][]*PrivateLinkService, seen []int, err error) {
			for page, err := range c.ListPrivateLinkServices(ctx, subNet) {
				if err != nil {
					return out, seen, err
				}
				out = append(out, page)
				seen = append(seen, len(rec.Calls()))
			}
			return out, seen, nil
		},
		"by resource group": func() (out [][]*PrivateLinkService, seen []int, err error) {
			for page, err := range c.ListPrivateLinkServicesByResourceGroup(ctx, subNet, "rg-net") {
				if err != nil {
					return out, seen, err
				}
				out = append(out, page)
				seen = append(seen, len(rec.Calls()))
			}
			return out, seen, nil
		},
	} {
		t.Run(name, func(t *testing.T) {
			before := len(rec.Calls())
			got, seen, err := seq()
			if err != nil {
				t.Fatal(err)
			}
			if want := [][]string{{"a", "b"}, {"c"}}; !reflect.DeepEqual(names(got), want) {
				t.Errorf("pages = %v, want %v", names(got), want)
			}
			// The first page is handed out before the second is fetched: pages stream.
			if seen[0]-before != 1 || seen[1]-before != 3 {
				t.Errorf("ARM calls made when pages were yielded = %v (from %d), want [1 3]", seen, before)
			}
			if n := len(rec.Calls()) - before; n != 4 {
				t.Errorf("%d page requests, want 4", n)
			}
			if got[0][0].SubscriptionID != subNet || got[0][0].ResourceGroup != "rg-net" {
				t.Errorf("first item = %+v", got[0][0])
			}
		})
	}

	t.Run("stop early", func(t *testing.T) {
		before := len(rec.Calls())
		for range c.ListPrivateLinkServices(ctx, subNet) {
			break
		}
		if n := len(rec.Calls()) - before; n != 1 {
			t.Errorf("%d ARM calls after breaking on the first page, want 1", n)
		}
	})

	t.Run("error ends the sequence", func(t *testing.T) {
		var errs []error
		for _, err := range c.ListPrivateLinkServicesByResourceGroup(ctx, subNet, "rg-gone") {
			errs = append(errs, err)
		}
		if len(errs) != 1 || !IsNotFound(errs[0]) {
			t.Errorf("errs = %v", errs)
		}
	})
}

func TestListPagerErrorMidwayIsRetryable(t *testing.T) {
	c, _ := newFakeClient(t, &netfake.ServerFactory{PrivateLinkServicesServer: netfake.PrivateLinkServicesServer{
		NewListBySubscriptionPager: func(*armnetwork.PrivateLinkServicesClientListBySubscriptionOptions) (resp azfake.PagerResponder[armnetwork.PrivateLinkServicesClientListBySubscriptionResponse]) {
			resp.AddPage(http.StatusOK, armnetwork.PrivateLinkServicesClientListBySubscriptionResponse{PrivateLinkServiceListResult: armnetwork.PrivateLinkServiceListResult{Value: []*armnetwork.PrivateLinkService{plsItem("a")}}}, nil)
			resp.AddResponseError(http.StatusServiceUnavailable, "ServiceUnavailable")
			return
		},
	}}, nil)
	var pages int
	var last error
	for page, err := range c.ListPrivateLinkServices(context.Background(), subNet) {
		if err != nil {
			last = err
			continue
		}
		pages += len(page)
	}
	if pages != 1 || !IsRetryable(last) || StatusCode(last) != 503 {
		t.Errorf("pages=%d err=%v", pages, last)
	}
	if !strings.Contains(last.Error(), "page 2") {
		t.Errorf("error does not say which page: %v", last)
	}
}

func TestListStopsOnRepeatedNextLink(t *testing.T) {
	var base string
	c, err := New(Options{Credential: StaticToken("t"), Transport: transportFunc(func(req *http.Request) (*http.Response, error) {
		if base == "" {
			base = "https://" + req.URL.Host + req.URL.Path + "?api-version=" + NetworkAPIVersion + "&$skipToken=same"
		}
		return jsonResponse(req, 200, fmt.Sprintf(`{"value":[{"id":%q,"name":"x"}],"nextLink":%q}`, plsID, base)), nil
	})})
	if err != nil {
		t.Fatal(err)
	}
	var n int
	var last error
	for _, err := range c.ListPrivateLinkServices(context.Background(), subNet) {
		n++
		last = err
		if n > 10 {
			t.Fatal("pager loops")
		}
	}
	if last == nil || !strings.Contains(last.Error(), "same nextLink") {
		t.Errorf("last err = %v", last)
	}
}

func jsonResponse(req *http.Request, status int, body string) *http.Response {
	return &http.Response{
		StatusCode: status,
		Header:     http.Header{"Content-Type": {"application/json"}},
		Body:       io.NopCloser(strings.NewReader(body)),
		Request:    req,
	}
}

func TestUpdateConnectionSendsExactlyTheExpectedBody(t *testing.T) {
	var answer armnetwork.PrivateEndpointConnection
	readJSON(t, "connection_update_response.json", &answer)
	var gotConn string
	c, rec := newFakeClient(t, &netfake.ServerFactory{PrivateLinkServicesServer: netfake.PrivateLinkServicesServer{
		UpdatePrivateEndpointConnection: func(_ context.Context, rg, svc, conn string, _ armnetwork.PrivateEndpointConnection, _ *armnetwork.PrivateLinkServicesClientUpdatePrivateEndpointConnectionOptions) (resp azfake.Responder[armnetwork.PrivateLinkServicesClientUpdatePrivateEndpointConnectionResponse], errResp azfake.ErrorResponder) {
			gotConn = conn
			resp.SetResponse(http.StatusOK, armnetwork.PrivateLinkServicesClientUpdatePrivateEndpointConnectionResponse{PrivateEndpointConnection: answer}, nil)
			return
		},
	}}, nil)

	got, err := c.UpdateConnection(context.Background(), plsIDOddCase, ConnectionUpdate{
		Name:              pendingConn,
		PrivateEndpointID: wpsPE,
		Status:            StatusApproved,
		Description:       "approved by plsgate rule webpubsub-shared-endpoints",
	})
	if err != nil {
		t.Fatal(err)
	}
	if gotConn != pendingConn {
		t.Errorf("connection name in path = %q", gotConn)
	}
	calls := rec.Calls()
	if len(calls) != 1 {
		t.Fatalf("%d calls", len(calls))
	}
	put := calls[0]
	if put.Method != http.MethodPut || put.API != "PrivateLinkServicesClient.UpdatePrivateEndpointConnection" {
		t.Errorf("call = %s %s", put.Method, put.API)
	}
	u, _ := url.Parse(put.URL)
	if !strings.HasSuffix(u.Path, "/privateLinkServices/pls-chat/privateEndpointConnections/"+pendingConn) || u.Query().Get("api-version") != NetworkAPIVersion {
		t.Errorf("URL = %s", put.URL)
	}
	if put.Header.Get("If-Match") != "" {
		t.Errorf("If-Match sent: %q (the REST spec declares none)", put.Header.Get("If-Match"))
	}
	want, err := os.ReadFile(filepath.Join("testdata", "connection_update_request.json"))
	if err != nil {
		t.Fatal(err)
	}
	sameJSON(t, put.Body, want)
	if got.Status != StatusApproved || got.ETag == "" || got.LinkIdentifier != "536873049" {
		t.Errorf("returned connection = %+v", got)
	}

	t.Run("actionsRequired when given", func(t *testing.T) {
		if _, err := c.UpdateConnection(context.Background(), plsID, ConnectionUpdate{
			Name: pendingConn, PrivateEndpointID: wpsPE, Status: StatusRejected, Description: "", ActionsRequired: "Recreate",
		}); err != nil {
			t.Fatal(err)
		}
		calls := rec.Calls()
		sameJSON(t, calls[len(calls)-1].Body, []byte(`{"name":"`+pendingConn+`","properties":{"privateEndpoint":{"id":"`+wpsPE+`"},
			"privateLinkServiceConnectionState":{"status":"Rejected","description":"","actionsRequired":"Recreate"}}}`))
	})
}

func TestUpdateConnectionRefusesIncompleteUpdatesWithoutCallingARM(t *testing.T) {
	c, rec := newFakeClient(t, nil, nil)
	ok := ConnectionUpdate{Name: pendingConn, PrivateEndpointID: wpsPE, Status: StatusApproved}
	for name, tc := range map[string]struct {
		pls string
		u   func(ConnectionUpdate) ConnectionUpdate
	}{
		"no name":             {plsID, func(u ConnectionUpdate) ConnectionUpdate { u.Name = ""; return u }},
		"no status":           {plsID, func(u ConnectionUpdate) ConnectionUpdate { u.Status = ""; return u }},
		"no private endpoint": {plsID, func(u ConnectionUpdate) ConnectionUpdate { u.PrivateEndpointID = ""; return u }},
		"bad pls":             {"/subscriptions/x", func(u ConnectionUpdate) ConnectionUpdate { return u }},
	} {
		_, err := c.UpdateConnection(context.Background(), tc.pls, tc.u(ok))
		if !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("%s: err = %v", name, err)
		}
	}
	if n := len(rec.Calls()); n != 0 {
		t.Errorf("%d ARM calls", n)
	}
}

func TestUpdateConnectionUnknownNameIsTerminal(t *testing.T) {
	c, _ := newFakeClient(t, &netfake.ServerFactory{PrivateLinkServicesServer: netfake.PrivateLinkServicesServer{
		UpdatePrivateEndpointConnection: func(context.Context, string, string, string, armnetwork.PrivateEndpointConnection, *armnetwork.PrivateLinkServicesClientUpdatePrivateEndpointConnectionOptions) (resp azfake.Responder[armnetwork.PrivateLinkServicesClientUpdatePrivateEndpointConnectionResponse], errResp azfake.ErrorResponder) {
			errResp.SetResponseError(http.StatusBadRequest, "PrivateEndpointConnectionCannotBeCreatedByServiceProvider")
			return
		},
	}}, nil)
	_, err := c.UpdateConnection(context.Background(), plsID, ConnectionUpdate{Name: "nope", PrivateEndpointID: wpsPE, Status: StatusApproved})
	if StatusCode(err) != 400 || ErrorCode(err) != "PrivateEndpointConnectionCannotBeCreatedByServiceProvider" || IsRetryable(err) {
		t.Errorf("err = %v (status %d, code %q)", err, StatusCode(err), ErrorCode(err))
	}
	if !strings.Contains(err.Error(), `set connection "nope" on `+plsID) {
		t.Errorf("error does not say what was done: %v", err)
	}
}

func TestGetConnection(t *testing.T) {
	var answer armnetwork.PrivateEndpointConnection
	readJSON(t, "connection_update_response.json", &answer)
	c, _ := newFakeClient(t, &netfake.ServerFactory{PrivateLinkServicesServer: netfake.PrivateLinkServicesServer{
		GetPrivateEndpointConnection: func(_ context.Context, rg, svc, conn string, _ *armnetwork.PrivateLinkServicesClientGetPrivateEndpointConnectionOptions) (resp azfake.Responder[armnetwork.PrivateLinkServicesClientGetPrivateEndpointConnectionResponse], errResp azfake.ErrorResponder) {
			if conn != pendingConn {
				errResp.SetResponseError(http.StatusNotFound, "NotFound")
				return
			}
			resp.SetResponse(http.StatusOK, armnetwork.PrivateLinkServicesClientGetPrivateEndpointConnectionResponse{PrivateEndpointConnection: answer}, nil)
			return
		},
	}}, nil)
	got, err := c.GetConnection(context.Background(), plsIDOddCase, pendingConn)
	if err != nil {
		t.Fatal(err)
	}
	want := Connection{
		ID: plsID + "/privateEndpointConnections/" + pendingConn, Name: pendingConn, PrivateEndpointID: wpsPE,
		PrivateEndpointLocation: "westeurope", Status: "Approved", Description: "approved by plsgate rule webpubsub-shared-endpoints",
		ActionsRequired: "None", LinkIdentifier: "536873049", ProvisioningState: "Succeeded", ETag: `W/"7d9f1b3c-5e7a-4c9e-b1d3-f5a7c9e1b3d5"`,
	}
	if *got != want {
		t.Errorf("got %+v\nwant %+v", *got, want)
	}
	if _, err := c.GetConnection(context.Background(), plsID, "gone"); !IsNotFound(err) {
		t.Errorf("err = %v", err)
	}
}

func TestGetPrivateEndpointTargets(t *testing.T) {
	var body armnetwork.PrivateEndpoint
	readJSON(t, "private_endpoint_get.json", &body)
	c, _ := newFakeClient(t, &netfake.ServerFactory{PrivateEndpointsServer: netfake.PrivateEndpointsServer{
		Get: func(_ context.Context, rg, name string, _ *armnetwork.PrivateEndpointsClientGetOptions) (resp azfake.Responder[armnetwork.PrivateEndpointsClientGetResponse], errResp azfake.ErrorResponder) {
			resp.SetResponse(http.StatusOK, armnetwork.PrivateEndpointsClientGetResponse{PrivateEndpoint: body}, nil)
			return
		},
	}}, nil)
	got, err := c.GetPrivateEndpoint(context.Background(), "/subscriptions/22222222-2222-2222-2222-222222222222/resourcegroups/rg-app/providers/Microsoft.Network/privateEndpoints/pe-app")
	if err != nil {
		t.Fatal(err)
	}
	want := &PrivateEndpoint{
		ID:             "/subscriptions/22222222-2222-2222-2222-222222222222/resourceGroups/rg-app/providers/Microsoft.Network/privateEndpoints/pe-app",
		SubscriptionID: "22222222-2222-2222-2222-222222222222",
		Location:       "northeurope",
		TargetIDs: []string{
			plsID, // the storage account is not a PLS; the second "pls-chat" is the same ID in other casing
			"/subscriptions/11111111-1111-1111-1111-111111111111/resourcegroups/RG-NET/providers/microsoft.network/privatelinkservices/pls-billing",
		},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v\nwant %+v", got, want)
	}
}

func TestSharedPrivateLinkResources(t *testing.T) {
	const wpsID = "/subscriptions/" + subNet + "/resourceGroups/rg-wps/providers/Microsoft.SignalRService/webPubSub/wps-chat"
	spl := func(name, status string) *armwebpubsub.SharedPrivateLinkResource {
		return &armwebpubsub.SharedPrivateLinkResource{
			ID:   to.Ptr(wpsID + "/sharedPrivateLinkResources/" + name),
			Name: to.Ptr(name),
			Properties: &armwebpubsub.SharedPrivateLinkResourceProperties{
				GroupID:               to.Ptr(""),
				PrivateLinkResourceID: to.Ptr(plsID),
				RequestMessage:        to.Ptr("please approve"),
				ProvisioningState:     to.Ptr(armwebpubsub.ProvisioningStateSucceeded),
				Status:                to.Ptr(armwebpubsub.SharedPrivateLinkResourceStatus(status)),
			},
		}
	}
	var gotArgs []string
	c, rec := newFakeClient(t, nil, &wpsfake.ServerFactory{SharedPrivateLinkResourcesServer: wpsfake.SharedPrivateLinkResourcesServer{
		Get: func(_ context.Context, name, rg, wps string, _ *armwebpubsub.SharedPrivateLinkResourcesClientGetOptions) (resp azfake.Responder[armwebpubsub.SharedPrivateLinkResourcesClientGetResponse], errResp azfake.ErrorResponder) {
			gotArgs = []string{name, rg, wps}
			resp.SetResponse(http.StatusOK, armwebpubsub.SharedPrivateLinkResourcesClientGetResponse{SharedPrivateLinkResource: *spl(name, "Approved")}, nil)
			return
		},
		NewListPager: func(rg, wps string, _ *armwebpubsub.SharedPrivateLinkResourcesClientListOptions) (resp azfake.PagerResponder[armwebpubsub.SharedPrivateLinkResourcesClientListResponse]) {
			resp.AddPage(http.StatusOK, armwebpubsub.SharedPrivateLinkResourcesClientListResponse{SharedPrivateLinkResourceList: armwebpubsub.SharedPrivateLinkResourceList{Value: []*armwebpubsub.SharedPrivateLinkResource{spl("a", "Pending")}}}, nil)
			resp.AddPage(http.StatusOK, armwebpubsub.SharedPrivateLinkResourcesClientListResponse{}, nil)
			resp.AddPage(http.StatusOK, armwebpubsub.SharedPrivateLinkResourcesClientListResponse{SharedPrivateLinkResourceList: armwebpubsub.SharedPrivateLinkResourceList{Value: []*armwebpubsub.SharedPrivateLinkResource{spl("b", "Rejected")}}}, nil)
			return
		},
	}})
	ctx := context.Background()
	got, err := c.GetSharedPrivateLinkResource(ctx, strings.ToLower(wpsID)+"/sharedprivatelinkresources/upstream")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(gotArgs, []string{"upstream", "rg-wps", "wps-chat"}) {
		t.Errorf("SDK args = %v", gotArgs)
	}
	want := SharedPrivateLinkResource{
		ID: wpsID + "/sharedPrivateLinkResources/upstream", Name: "upstream", WebPubSubID: wpsID,
		PrivateLinkResourceID: plsID, RequestMessage: "please approve", Status: "Approved", ProvisioningState: "Succeeded",
	}
	if !reflect.DeepEqual(*got, want) {
		t.Errorf("got %+v\nwant %+v", *got, want)
	}
	if api := rec.Calls()[0].URL; !strings.Contains(api, "api-version="+WebPubSubAPIVersion) {
		t.Errorf("URL %s", api)
	}

	list, err := c.ListSharedPrivateLinkResources(ctx, wpsID)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].Name != "a" || list[0].Status != "Pending" || list[1].Name != "b" || list[1].Status != "Rejected" || list[1].WebPubSubID != wpsID {
		t.Errorf("list = %+v", list)
	}
}

func TestSharedPrivateLinkResourceFqdnsFromNewerAPIVersions(t *testing.T) {
	body, err := os.ReadFile(filepath.Join("testdata", "shared_private_link_resource_get.json"))
	if err != nil {
		t.Fatal(err)
	}
	c, err := New(Options{Credential: StaticToken("t"), Transport: transportFunc(func(req *http.Request) (*http.Response, error) {
		if strings.HasSuffix(req.URL.Path, "/sharedPrivateLinkResources") {
			return jsonResponse(req, 200, `{"value":[`+string(body)+`]}`), nil
		}
		return jsonResponse(req, 200, string(body)), nil
	})})
	if err != nil {
		t.Fatal(err)
	}
	const id = "/subscriptions/" + subNet + "/resourceGroups/rg-wps/providers/Microsoft.SignalRService/webPubSub/wps-chat/sharedPrivateLinkResources/chat-upstream"
	got, err := c.GetSharedPrivateLinkResource(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got.Fqdns, []string{"chat.contoso.internal"}) || got.Status != "Pending" || got.GroupID != "" {
		t.Errorf("got %+v", got)
	}
	if want := time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC); !got.CreatedAt.Equal(want) {
		t.Errorf("CreatedAt = %v, want %v (systemData.createdAt)", got.CreatedAt, want)
	}
	list, err := c.ListSharedPrivateLinkResources(context.Background(), "/subscriptions/"+subNet+"/resourceGroups/rg-wps/providers/Microsoft.SignalRService/webPubSub/wps-chat")
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 || !reflect.DeepEqual(list[0].Fqdns, []string{"chat.contoso.internal"}) {
		t.Errorf("list = %+v", list)
	}
}

func TestErrorClassification(t *testing.T) {
	type want struct {
		retryable, notFound, forbidden bool
		status                         int
	}
	answers := []struct {
		status int
		code   string
		want   want
	}{
		{400, "InvalidRequestFormat", want{status: 400}},
		{401, "InvalidAuthenticationToken", want{forbidden: true, status: 401}},
		{403, "AuthorizationFailed", want{forbidden: true, status: 403}},
		{404, "ResourceNotFound", want{notFound: true, status: 404}},
		{408, "RequestTimeout", want{retryable: true, status: 408}},
		{409, "Conflict", want{status: 409}},
		{409, "AnotherOperationInProgress", want{retryable: true, status: 409}},
		{429, "TooManyRequests", want{retryable: true, status: 429}},
		{500, "InternalServerError", want{retryable: true, status: 500}},
		{502, "BadGateway", want{retryable: true, status: 502}},
		{503, "ServiceUnavailable", want{retryable: true, status: 503}},
		{504, "GatewayTimeout", want{retryable: true, status: 504}},
	}
	for _, a := range answers {
		t.Run(fmt.Sprintf("%d %s", a.status, a.code), func(t *testing.T) {
			c, _ := newFakeClient(t, &netfake.ServerFactory{PrivateLinkServicesServer: netfake.PrivateLinkServicesServer{
				Get: func(context.Context, string, string, *armnetwork.PrivateLinkServicesClientGetOptions) (resp azfake.Responder[armnetwork.PrivateLinkServicesClientGetResponse], errResp azfake.ErrorResponder) {
					errResp.SetResponseError(a.status, a.code)
					return
				},
			}}, nil)
			_, err := c.GetPrivateLinkService(context.Background(), plsID)
			got := want{IsRetryable(err), IsNotFound(err), IsForbidden(err), StatusCode(err)}
			if got != a.want {
				t.Errorf("got %+v, want %+v (err %v)", got, a.want, err)
			}
			if ErrorCode(err) != a.code {
				t.Errorf("ErrorCode = %q", ErrorCode(err))
			}
			var re *azcore.ResponseError
			if !errors.As(err, &re) {
				t.Errorf("%v does not wrap *azcore.ResponseError", err)
			}
		})
	}

	transportErrs := []struct {
		name      string
		err       error
		retryable bool
	}{
		{"connection refused", &url.Error{Op: "Get", URL: "https://x", Err: syscall.ECONNREFUSED}, true},
		{"connection reset", &url.Error{Op: "Get", URL: "https://x", Err: syscall.ECONNRESET}, true},
		{"truncated answer", &url.Error{Op: "Get", URL: "https://x", Err: io.ErrUnexpectedEOF}, true},
		{"caller canceled", context.Canceled, false},
		{"caller deadline", context.DeadlineExceeded, false},
		{"other", errors.New("boom"), false},
	}
	for _, tc := range transportErrs {
		t.Run(tc.name, func(t *testing.T) {
			c, err := New(Options{Credential: StaticToken("t"), Retry: &policy.RetryOptions{MaxRetries: -1},
				Transport: transportFunc(func(*http.Request) (*http.Response, error) { return nil, tc.err })})
			if err != nil {
				t.Fatal(err)
			}
			_, err = c.GetPrivateLinkService(context.Background(), plsID)
			if err == nil || IsRetryable(err) != tc.retryable || StatusCode(err) != 0 {
				t.Errorf("err %v: retryable=%v status=%d", err, IsRetryable(err), StatusCode(err))
			}
		})
	}
	if IsRetryable(nil) || IsNotFound(nil) || IsForbidden(nil) || StatusCode(nil) != 0 {
		t.Error("nil error classified")
	}
}

func TestRetriesHonourOptions(t *testing.T) {
	var mu sync.Mutex
	n := 0
	c, err := New(Options{Credential: StaticToken("t"), Retry: &policy.RetryOptions{MaxRetries: 2, RetryDelay: 1, MaxRetryDelay: 1},
		Transport: transportFunc(func(req *http.Request) (*http.Response, error) {
			mu.Lock()
			defer mu.Unlock()
			n++
			if n < 3 {
				return jsonResponse(req, 503, `{"error":{"code":"ServiceUnavailable","message":"try later"}}`), nil
			}
			return jsonResponse(req, 200, fmt.Sprintf(`{"id":%q,"name":"pls-chat"}`, plsID)), nil
		})})
	if err != nil {
		t.Fatal(err)
	}
	got, err := c.GetPrivateLinkService(context.Background(), plsID)
	if err != nil || got.Name != "pls-chat" || n != 3 {
		t.Errorf("got %+v err %v after %d tries", got, err, n)
	}
}

func TestEndpointTokenAndHTTP(t *testing.T) {
	type seen struct {
		url, auth string
	}
	var mu sync.Mutex
	var last seen
	tr := transportFunc(func(req *http.Request) (*http.Response, error) {
		mu.Lock()
		last = seen{req.URL.Scheme + "://" + req.URL.Host, req.Header.Get("Authorization")}
		mu.Unlock()
		return jsonResponse(req, 200, fmt.Sprintf(`{"id":%q}`, plsID)), nil
	})
	c, err := New(Options{Endpoint: "http://127.0.0.1:7071/", Credential: StaticToken("emulator-token"), AllowHTTP: true, Transport: tr})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetPrivateLinkService(context.Background(), plsID); err != nil {
		t.Fatal(err)
	}
	if last.url != "http://127.0.0.1:7071" || last.auth != "Bearer emulator-token" {
		t.Errorf("request went to %q with Authorization %q", last.url, last.auth)
	}

	// A custom https endpoint asks the credential for its own audience.
	cred := &scopeRecorder{}
	c, err = New(Options{Endpoint: "https://management.local.azurestack.external", Credential: cred, Transport: tr})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetPrivateLinkService(context.Background(), plsID); err != nil {
		t.Fatal(err)
	}
	if want := []string{"https://management.local.azurestack.external/.default"}; !reflect.DeepEqual(cred.scopes, want) {
		t.Errorf("scopes = %v, want %v", cred.scopes, want)
	}
}

type scopeRecorder struct{ scopes []string }

func (s *scopeRecorder) GetToken(_ context.Context, o policy.TokenRequestOptions) (azcore.AccessToken, error) {
	s.scopes = o.Scopes
	return StaticToken("x").GetToken(context.Background(), o)
}

func TestNewValidatesOptions(t *testing.T) {
	cases := []struct {
		name string
		o    Options
		ok   bool
	}{
		{"public cloud", Options{}, true},
		{"emulator on loopback", Options{Endpoint: "http://127.0.0.1:8443", AllowHTTP: true}, true},
		{"emulator on localhost", Options{Endpoint: "http://localhost:8443", AllowHTTP: true}, true},
		{"emulator on ::1", Options{Endpoint: "http://[::1]:8443", AllowHTTP: true}, true},
		{"sovereign cloud", Options{Endpoint: "https://management.usgovcloudapi.net/"}, true},
		{"azure stack", Options{Endpoint: "https://management.local.azurestack.external"}, true},
		{"no credential", Options{}, false},
		{"http without AllowHTTP", Options{Endpoint: "http://127.0.0.1:8443"}, false},
		{"AllowHTTP to a remote host", Options{Endpoint: "http://arm.example.com", AllowHTTP: true}, false},
		{"AllowHTTP to a remote https host", Options{Endpoint: "https://management.azure.com", AllowHTTP: true}, false},
		{"AllowHTTP without endpoint", Options{AllowHTTP: true}, false},
		{"not a URL", Options{Endpoint: "management.azure.com"}, false},
		{"ftp", Options{Endpoint: "ftp://127.0.0.1"}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.name != "no credential" {
				tc.o.Credential = StaticToken("t")
			}
			_, err := New(tc.o)
			if (err == nil) != tc.ok {
				t.Errorf("New(%+v) err = %v", tc.o, err)
			}
		})
	}
}

func TestClientsAreBuiltOncePerSubscription(t *testing.T) {
	c, err := New(Options{Credential: StaticToken("t")})
	if err != nil {
		t.Fatal(err)
	}
	subs := []string{subNet, strings.ToUpper(subNet), "22222222-2222-2222-2222-222222222222"}
	got := make([]*subClients, 64)
	var wg sync.WaitGroup
	for i := range got {
		wg.Go(func() {
			sc, err := c.clients(subs[i%len(subs)])
			if err != nil {
				t.Error(err)
			}
			got[i] = sc
		})
	}
	wg.Wait()
	for i := range got {
		want := got[0] // subs[0] and subs[1] are the same subscription
		if i%len(subs) == 2 {
			want = got[2]
		}
		if got[i] != want {
			t.Fatalf("goroutine %d got another client set for %s", i, subs[i%len(subs)])
		}
	}
	if got[0] == got[2] {
		t.Error("two subscriptions share clients")
	}
	if _, err := c.clients(""); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("empty subscription: %v", err)
	}
}
