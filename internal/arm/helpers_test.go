package arm

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	azfake "github.com/Azure/azure-sdk-for-go/sdk/azcore/fake"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	netfake "github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/network/armnetwork/v7/fake"
	wpsfake "github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/webpubsub/armwebpubsub/fake"
)

// call is one request the SDK sent, as the transport saw it.
type call struct {
	API    string // azcore's name of the SDK method, e.g. PrivateLinkServicesClient.Get
	Method string
	URL    string
	Header http.Header
	Body   []byte
}

// recorder records every request and hands it to next.
type recorder struct {
	next  policy.Transporter
	mu    sync.Mutex
	calls []call
}

func (r *recorder) Do(req *http.Request) (*http.Response, error) {
	api, _ := req.Context().Value(runtime.CtxAPINameKey{}).(string)
	var body []byte
	if req.Body != nil {
		body, _ = io.ReadAll(req.Body)
		req.Body = io.NopCloser(bytes.NewReader(body))
	}
	r.mu.Lock()
	r.calls = append(r.calls, call{API: api, Method: req.Method, URL: req.URL.String(), Header: req.Header.Clone(), Body: body})
	r.mu.Unlock()
	return r.next.Do(req)
}

func (r *recorder) Calls() []call {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]call(nil), r.calls...)
}

// router sends Web PubSub calls to the armwebpubsub fakes and everything else
// to the armnetwork fakes: one Options.Transport serves both SDK modules.
type router struct{ network, webpubsub policy.Transporter }

func (r router) Do(req *http.Request) (*http.Response, error) {
	api, _ := req.Context().Value(runtime.CtxAPINameKey{}).(string)
	if strings.HasPrefix(api, "SharedPrivateLinkResourcesClient.") {
		return r.webpubsub.Do(req)
	}
	if api == "Client.Resources" { // armresourcegraph ships no fake for Resources
		return graphOK(req)
	}
	return r.network.Do(req)
}

// transportFunc serves raw HTTP answers (shapes the SDK models cannot express).
type transportFunc func(*http.Request) (*http.Response, error)

func (f transportFunc) Do(req *http.Request) (*http.Response, error) { return f(req) }

// newFakeClient returns a Client wired to the SDK fake servers, without
// retries so error tests see the first answer.
func newFakeClient(t *testing.T, nsrv *netfake.ServerFactory, wsrv *wpsfake.ServerFactory) (*Client, *recorder) {
	t.Helper()
	if nsrv == nil {
		nsrv = &netfake.ServerFactory{}
	}
	if wsrv == nil {
		wsrv = &wpsfake.ServerFactory{}
	}
	rec := &recorder{next: router{
		network:   netfake.NewServerFactoryTransport(nsrv),
		webpubsub: wpsfake.NewServerFactoryTransport(wsrv),
	}}
	c, err := New(Options{Credential: &azfake.TokenCredential{}, Transport: rec, Retry: &policy.RetryOptions{MaxRetries: -1}})
	if err != nil {
		t.Fatal(err)
	}
	return c, rec
}

func readJSON(t *testing.T, name string, v any) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
}

// sameJSON compares two JSON documents by value.
func sameJSON(t *testing.T, got, want []byte) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("got invalid JSON %s: %v", got, err)
	}
	if err := json.Unmarshal(want, &w); err != nil {
		t.Fatalf("want invalid JSON %s: %v", want, err)
	}
	gb, _ := json.MarshalIndent(g, "", "  ")
	wb, _ := json.MarshalIndent(w, "", "  ")
	if !bytes.Equal(gb, wb) {
		t.Errorf("JSON differs\n got: %s\nwant: %s", gb, wb)
	}
}

// graphOK answers a Resource Graph query with one Pending row, as the service does.
func graphOK(req *http.Request) (*http.Response, error) {
	body := `{"totalRecords":1,"count":1,"resultTruncated":"false","data":[{"subscriptionId":"s","plsId":"/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/privateLinkServices/p","connId":"x"}],"facets":[]}`
	return &http.Response{StatusCode: http.StatusOK, Header: http.Header{"Content-Type": {"application/json"}}, Body: io.NopCloser(strings.NewReader(body)), Request: req}, nil
}
