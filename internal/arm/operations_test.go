package arm

import (
	"context"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	azfake "github.com/Azure/azure-sdk-for-go/sdk/azcore/fake"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/network/armnetwork/v7"
	netfake "github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/network/armnetwork/v7/fake"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/webpubsub/armwebpubsub"
	wpsfake "github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/webpubsub/armwebpubsub/fake"
)

// allOKFakes answers every operation plsgate uses with an empty success.
func allOKFakes() (*netfake.ServerFactory, *wpsfake.ServerFactory) {
	n := &netfake.ServerFactory{
		PrivateLinkServicesServer: netfake.PrivateLinkServicesServer{
			Get: func(context.Context, string, string, *armnetwork.PrivateLinkServicesClientGetOptions) (resp azfake.Responder[armnetwork.PrivateLinkServicesClientGetResponse], errResp azfake.ErrorResponder) {
				resp.SetResponse(http.StatusOK, armnetwork.PrivateLinkServicesClientGetResponse{}, nil)
				return
			},
			NewListBySubscriptionPager: func(*armnetwork.PrivateLinkServicesClientListBySubscriptionOptions) (resp azfake.PagerResponder[armnetwork.PrivateLinkServicesClientListBySubscriptionResponse]) {
				resp.AddPage(http.StatusOK, armnetwork.PrivateLinkServicesClientListBySubscriptionResponse{}, nil)
				return
			},
			NewListPager: func(string, *armnetwork.PrivateLinkServicesClientListOptions) (resp azfake.PagerResponder[armnetwork.PrivateLinkServicesClientListResponse]) {
				resp.AddPage(http.StatusOK, armnetwork.PrivateLinkServicesClientListResponse{}, nil)
				return
			},
			GetPrivateEndpointConnection: func(context.Context, string, string, string, *armnetwork.PrivateLinkServicesClientGetPrivateEndpointConnectionOptions) (resp azfake.Responder[armnetwork.PrivateLinkServicesClientGetPrivateEndpointConnectionResponse], errResp azfake.ErrorResponder) {
				resp.SetResponse(http.StatusOK, armnetwork.PrivateLinkServicesClientGetPrivateEndpointConnectionResponse{}, nil)
				return
			},
			UpdatePrivateEndpointConnection: func(context.Context, string, string, string, armnetwork.PrivateEndpointConnection, *armnetwork.PrivateLinkServicesClientUpdatePrivateEndpointConnectionOptions) (resp azfake.Responder[armnetwork.PrivateLinkServicesClientUpdatePrivateEndpointConnectionResponse], errResp azfake.ErrorResponder) {
				resp.SetResponse(http.StatusOK, armnetwork.PrivateLinkServicesClientUpdatePrivateEndpointConnectionResponse{}, nil)
				return
			},
		},
		PrivateEndpointsServer: netfake.PrivateEndpointsServer{
			Get: func(context.Context, string, string, *armnetwork.PrivateEndpointsClientGetOptions) (resp azfake.Responder[armnetwork.PrivateEndpointsClientGetResponse], errResp azfake.ErrorResponder) {
				resp.SetResponse(http.StatusOK, armnetwork.PrivateEndpointsClientGetResponse{}, nil)
				return
			},
		},
	}
	w := &wpsfake.ServerFactory{SharedPrivateLinkResourcesServer: wpsfake.SharedPrivateLinkResourcesServer{
		Get: func(context.Context, string, string, string, *armwebpubsub.SharedPrivateLinkResourcesClientGetOptions) (resp azfake.Responder[armwebpubsub.SharedPrivateLinkResourcesClientGetResponse], errResp azfake.ErrorResponder) {
			resp.SetResponse(http.StatusOK, armwebpubsub.SharedPrivateLinkResourcesClientGetResponse{}, nil)
			return
		},
		NewListPager: func(string, string, *armwebpubsub.SharedPrivateLinkResourcesClientListOptions) (resp azfake.PagerResponder[armwebpubsub.SharedPrivateLinkResourcesClientListResponse]) {
			resp.AddPage(http.StatusOK, armwebpubsub.SharedPrivateLinkResourcesClientListResponse{}, nil)
			return
		},
	}}
	return n, w
}

// templateRE turns "/subscriptions/{subscriptionId}/..." into a regexp.
func templateRE(path string) *regexp.Regexp {
	return regexp.MustCompile("^" + regexp.MustCompile(`\\\{[^}]+\\\}`).ReplaceAllString(regexp.QuoteMeta(path), `[^/]+`) + "$")
}

// TestOperationsListEveryCallMade runs every Client method and checks that
// each request the SDK sent is in Operations with the same method, path
// template and api-version — and that Operations lists nothing unused.
func TestOperationsListEveryCallMade(t *testing.T) {
	n, w := allOKFakes()
	c, rec := newFakeClient(t, n, w)
	ctx := context.Background()
	const wpsID = "/subscriptions/" + subNet + "/resourceGroups/rg/providers/Microsoft.SignalRService/webPubSub/wps"
	mustOK := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	_, err := c.GetPrivateLinkService(ctx, plsID)
	mustOK(err)
	for _, err := range c.ListPrivateLinkServices(ctx, subNet) {
		mustOK(err)
	}
	for _, err := range c.ListPrivateLinkServicesByResourceGroup(ctx, subNet, "rg-net") {
		mustOK(err)
	}
	_, err = c.GetConnection(ctx, plsID, "c")
	mustOK(err)
	_, err = c.UpdateConnection(ctx, plsID, ConnectionUpdate{Name: "c", PrivateEndpointID: wpsPE, Status: StatusApproved})
	mustOK(err)
	_, err = c.GetPrivateEndpoint(ctx, wpsPE)
	mustOK(err)
	_, err = c.ListSharedPrivateLinkResources(ctx, wpsID)
	mustOK(err)
	_, err = c.GetSharedPrivateLinkResource(ctx, wpsID+"/sharedPrivateLinkResources/s")
	mustOK(err)
	for _, err := range c.PendingServices(ctx, []string{subNet}) {
		mustOK(err)
	}

	used := map[string]bool{}
	for _, call := range rec.Calls() {
		i := slices.IndexFunc(Operations, func(op Operation) bool { return op.SDK == call.API })
		if i < 0 {
			t.Errorf("SDK method %s (%s %s) is not in Operations", call.API, call.Method, call.URL)
			continue
		}
		op := Operations[i]
		used[op.Name] = true
		u, _ := url.Parse(call.URL)
		if call.Method != op.Method || !templateRE(op.Path).MatchString(u.Path) || u.Query().Get("api-version") != op.APIVersion {
			t.Errorf("%s: sent %s %s, Operations says %s %s api-version=%s", op.Name, call.Method, call.URL, op.Method, op.Path, op.APIVersion)
		}
	}
	for _, op := range Operations {
		if !used[op.Name] {
			t.Errorf("Operations lists %s but no Client method calls it", op.Name)
		}
	}
}

// TestOperationsCoverEverySDKMethodInTheSource catches a new SDK call in the
// source even before a test exercises it.
func TestOperationsCoverEverySDKMethodInTheSource(t *testing.T) {
	clientOf := map[string]string{"pls": "PrivateLinkServicesClient", "pe": "PrivateEndpointsClient", "spl": "SharedPrivateLinkResourcesClient", "graph.c": "Client"}
	callRE := regexp.MustCompile(`\.(pls|pe|spl|graph\.c)\.(\w+)\(`)
	entries, err := os.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	found := 0
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".go") || strings.HasSuffix(e.Name(), "_test.go") {
			continue
		}
		src, err := os.ReadFile(e.Name())
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range callRE.FindAllStringSubmatch(string(src), -1) {
			found++
			sdk := clientOf[m[1]] + "." + m[2]
			if !slices.ContainsFunc(Operations, func(op Operation) bool { return op.SDK == sdk }) {
				t.Errorf("%s calls %s, which is not in Operations", e.Name(), sdk)
			}
		}
	}
	if found < len(Operations) {
		t.Errorf("found %d SDK calls in the source, fewer than the %d Operations: is the scan still right?", found, len(Operations))
	}
}

func TestOperationsAreWellFormed(t *testing.T) {
	seen := map[string]bool{}
	for _, op := range Operations {
		if seen[op.Name] {
			t.Errorf("%s listed twice", op.Name)
		}
		seen[op.Name] = true
		graph := op.Name == "Resources" // Resource Graph: a query (POST) that only reads
		if op.Name == "" || op.SDK == "" || op.Action == "" || op.APIVersion == "" || !graph && !strings.HasPrefix(op.Path, "/subscriptions/{subscriptionId}/") {
			t.Errorf("incomplete: %+v", op)
		}
		if op.Method != http.MethodGet && op.Method != http.MethodPut && !(graph && op.Method == http.MethodPost) {
			t.Errorf("%s: method %s", op.Name, op.Method)
		}
		// Reads need read actions; the only write is the connection update.
		if (op.Method == http.MethodGet || graph) != strings.HasSuffix(op.Action, "/read") {
			t.Errorf("%s: %s with action %s", op.Name, op.Method, op.Action)
		}
	}
	want := []string{
		"Microsoft.Network/privateLinkServices/read",
		"Microsoft.Network/privateLinkServices/privateEndpointConnections/read",
		"Microsoft.Network/privateLinkServices/privateEndpointConnections/write",
		"Microsoft.Network/privateEndpoints/read",
		"Microsoft.SignalRService/webPubSub/sharedPrivateLinkResources/read",
		"Microsoft.ResourceGraph/resources/read",
	}
	if got := Actions(); !slices.Equal(got, want) {
		t.Errorf("Actions() = %v, want %v", got, want)
	}
}
