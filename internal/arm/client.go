package arm

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	azarm "github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/network/armnetwork/v7"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/webpubsub/armwebpubsub"

	"github.com/plsgate/plsgate/internal/redact"
)

// Options configures New.
type Options struct {
	// Endpoint is the Resource Manager endpoint (ARM_ENDPOINT); "" = Azure public
	// cloud. The Azure Government and Azure China endpoints select their
	// predefined cloud; any other endpoint (an emulator, Azure Stack) is used
	// with Audience.
	Endpoint   string
	Credential azcore.TokenCredential
	// AllowHTTP lets the bearer token travel over plain HTTP
	// (InsecureAllowCredentialWithHTTP). Only for the emulator: New refuses it
	// unless Endpoint is a loopback address.
	AllowHTTP bool
	Transport policy.Transporter   // optional (tests)
	Retry     *policy.RetryOptions // optional; nil = azcore's defaults
	// Audience is the token audience for a custom Endpoint; "" = the endpoint
	// itself. Ignored for the public, Government and China clouds.
	Audience string
}

// Client implements PrivateEndpoints, SharedPrivateLinks and the private link
// service operations its PLSProvider serves, on the Azure SDK. It is safe for concurrent use.
type Client struct {
	cred  azcore.TokenCredential
	opts  *azarm.ClientOptions
	subs  sync.Map // lower-case subscription ID → *subClients
	graph graphClient
}

// subClients are the SDK clients bound to one subscription. They share the
// pipelines of their ClientFactory, so building them is cheap, and they are
// built once per subscription.
type subClients struct {
	pls *armnetwork.PrivateLinkServicesClient
	pe  *armnetwork.PrivateEndpointsClient
	spl *armwebpubsub.SharedPrivateLinkResourcesClient
}

// New validates o and returns a Client. It makes no network call.
func New(o Options) (*Client, error) {
	if o.Credential == nil {
		return nil, errors.New("arm: a credential is required")
	}
	cfg, err := cloudConfig(o.Endpoint, o.Audience, o.AllowHTTP)
	if err != nil {
		return nil, fmt.Errorf("arm: %w", err)
	}
	opts := &azarm.ClientOptions{
		ClientOptions: policy.ClientOptions{
			Cloud:                           cfg,
			InsecureAllowCredentialWithHTTP: o.AllowHTTP,
			Telemetry:                       policy.TelemetryOptions{ApplicationID: "plsgate"},
			// Transport errors quote the request URL; its query ($skipToken, …) stays out.
			// boundaryPolicy (errors.go) gives every failed call its fault code once.
			PerCallPolicies: []policy.Policy{boundaryPolicy{}, redact.Policy{}},
		},
		// The registration policy would POST .../providers/{ns}/register on a 409
		// MissingSubscriptionRegistration: a write plsgate's role does not grant
		// and that Operations does not list.
		DisableRPRegistration: true,
	}
	if o.Transport != nil {
		opts.Transport = o.Transport
	}
	if o.Retry != nil {
		opts.Retry = *o.Retry
	}
	c := &Client{cred: o.Credential, opts: opts}
	// Build one set of clients now so that bad options fail here, not on the
	// first event.
	if _, err := c.build("00000000-0000-0000-0000-000000000000"); err != nil {
		return nil, fmt.Errorf("arm: %w", err)
	}
	return c, nil
}

// cloudConfig maps ARM_ENDPOINT to an azcore cloud configuration.
func cloudConfig(endpoint, audience string, allowHTTP bool) (cloud.Configuration, error) {
	if endpoint == "" {
		if allowHTTP {
			return cloud.Configuration{}, errors.New("AllowHTTP needs a loopback Endpoint (the local emulator)")
		}
		return cloud.AzurePublic, nil
	}
	u, err := url.Parse(endpoint)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return cloud.Configuration{}, fmt.Errorf("endpoint %q is not an absolute http(s) URL", endpoint)
	}
	loopback := isLoopback(u.Hostname())
	if allowHTTP && !loopback {
		return cloud.Configuration{}, fmt.Errorf("AllowHTTP is only for a loopback endpoint (the local emulator), not %q", endpoint)
	}
	if u.Scheme == "http" && !allowHTTP {
		return cloud.Configuration{}, fmt.Errorf("endpoint %q is plain http: set AllowHTTP (loopback emulator only) or use https", endpoint)
	}
	switch strings.ToLower(u.Host) {
	case "management.azure.com":
		return cloud.AzurePublic, nil
	case "management.usgovcloudapi.net":
		return cloud.AzureGovernment, nil
	case "management.chinacloudapi.cn":
		return cloud.AzureChina, nil
	}
	if audience == "" {
		audience = strings.TrimRight(endpoint, "/")
	}
	return cloud.Configuration{Services: map[cloud.ServiceName]cloud.ServiceConfiguration{
		cloud.ResourceManager: {Endpoint: endpoint, Audience: audience},
	}}, nil
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// clients returns the cached SDK clients of a subscription, building them on
// first use. Concurrent first uses may build twice; one wins, both are valid.
func (c *Client) clients(subscriptionID string) (*subClients, error) {
	if subscriptionID == "" {
		return nil, fmt.Errorf("%w: empty subscription ID", ErrInvalidArgument)
	}
	key := strings.ToLower(subscriptionID)
	if v, ok := c.subs.Load(key); ok {
		return v.(*subClients), nil
	}
	sc, err := c.build(subscriptionID)
	if err != nil {
		return nil, err
	}
	v, _ := c.subs.LoadOrStore(key, sc)
	return v.(*subClients), nil
}

func (c *Client) build(subscriptionID string) (*subClients, error) {
	nf, err := armnetwork.NewClientFactory(subscriptionID, c.cred, c.opts)
	if err != nil {
		return nil, fmt.Errorf("create network clients for subscription %s: %w", subscriptionID, err)
	}
	wf, err := armwebpubsub.NewClientFactory(subscriptionID, c.cred, c.opts)
	if err != nil {
		return nil, fmt.Errorf("create Web PubSub clients for subscription %s: %w", subscriptionID, err)
	}
	return &subClients{
		pls: nf.NewPrivateLinkServicesClient(),
		pe:  nf.NewPrivateEndpointsClient(),
		spl: wf.NewSharedPrivateLinkResourcesClient(),
	}, nil
}

func invalid(err error) error { return fmt.Errorf("%w: %w", ErrInvalidArgument, err) }

// GetPrivateLinkService reads a private link service with its connections
// (PrivateLinkServices_Get).
func (c *Client) GetPrivateLinkService(ctx context.Context, plsID string) (*PrivateLinkService, error) {
	sub, rg, name, err := ParsePrivateLinkServiceID(plsID)
	if err != nil {
		return nil, fmt.Errorf("get private link service: %w", invalid(err))
	}
	cl, err := c.clients(sub)
	if err != nil {
		return nil, fmt.Errorf("get private link service %s: %w", plsID, err)
	}
	resp, err := cl.pls.Get(ctx, rg, name, nil)
	if err != nil {
		return nil, fmt.Errorf("get private link service %s: %w", plsID, err)
	}
	return plsFromSDK(&resp.PrivateLinkService), nil
}

// ListPrivateLinkServices streams the private link services of a subscription one
// ARM page at a time (PrivateLinkServices_ListBySubscription). Empty pages that
// carry a nextLink are skipped; an error ends the sequence.
func (c *Client) ListPrivateLinkServices(ctx context.Context, subscriptionID string) iter.Seq2[[]*PrivateLinkService, error] {
	what := "list private link services in subscription " + subscriptionID
	return func(yield func([]*PrivateLinkService, error) bool) {
		cl, err := c.clients(subscriptionID)
		if err != nil {
			yield(nil, fmt.Errorf("%s: %w", what, err))
			return
		}
		pager := cl.pls.NewListBySubscriptionPager(nil)
		streamPages(ctx, what, pager.More, func(ctx context.Context) ([]*armnetwork.PrivateLinkService, *string, error) {
			p, err := pager.NextPage(ctx)
			return p.Value, p.NextLink, err
		}, yield)
	}
}

// ListPrivateLinkServicesByResourceGroup streams the private link services of a
// resource group one ARM page at a time (PrivateLinkServices_List).
func (c *Client) ListPrivateLinkServicesByResourceGroup(ctx context.Context, subscriptionID, resourceGroup string) iter.Seq2[[]*PrivateLinkService, error] {
	what := fmt.Sprintf("list private link services in subscription %s resource group %s", subscriptionID, resourceGroup)
	return func(yield func([]*PrivateLinkService, error) bool) {
		if resourceGroup == "" {
			yield(nil, fmt.Errorf("%s: %w: empty resource group", what, ErrInvalidArgument))
			return
		}
		cl, err := c.clients(subscriptionID)
		if err != nil {
			yield(nil, fmt.Errorf("%s: %w", what, err))
			return
		}
		pager := cl.pls.NewListPager(resourceGroup, nil)
		streamPages(ctx, what, pager.More, func(ctx context.Context) ([]*armnetwork.PrivateLinkService, *string, error) {
			p, err := pager.NextPage(ctx)
			return p.Value, p.NextLink, err
		}, yield)
	}
}

// streamPages drives an SDK pager, mapping and yielding each non-empty page.
// A nextLink that repeats the previous one would loop forever: it ends the
// sequence with an error instead.
func streamPages(ctx context.Context, what string, more func() bool,
	next func(context.Context) ([]*armnetwork.PrivateLinkService, *string, error),
	yield func([]*PrivateLinkService, error) bool) {
	var prev string
	for page := 1; more(); page++ {
		items, nextLink, err := next(ctx)
		if err != nil {
			yield(nil, fmt.Errorf("%s (page %d): %w", what, page, err))
			return
		}
		if nextLink != nil && *nextLink != "" {
			if *nextLink == prev {
				yield(nil, fmt.Errorf("%s (page %d): ARM returned the same nextLink twice", what, page))
				return
			}
			prev = *nextLink
		}
		out := make([]*PrivateLinkService, 0, len(items))
		for _, it := range items {
			if it != nil {
				out = append(out, plsFromSDK(it))
			}
		}
		if len(out) == 0 {
			continue
		}
		if !yield(out, nil) {
			return
		}
	}
}

// GetConnection reads one private endpoint connection
// (PrivateLinkServices_GetPrivateEndpointConnection).
func (c *Client) GetConnection(ctx context.Context, plsID, connectionName string) (*Connection, error) {
	what := fmt.Sprintf("get connection %q on %s", connectionName, plsID)
	sub, rg, name, err := ParsePrivateLinkServiceID(plsID)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, invalid(err))
	}
	if connectionName == "" {
		return nil, fmt.Errorf("%s: %w: empty connection name", what, ErrInvalidArgument)
	}
	cl, err := c.clients(sub)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	resp, err := cl.pls.GetPrivateEndpointConnection(ctx, rg, name, connectionName, nil)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	conn := connFromSDK(&resp.PrivateEndpointConnection)
	return &conn, nil
}

// UpdateConnection writes the state of an existing connection
// (PrivateLinkServices_UpdatePrivateEndpointConnection, a synchronous PUT).
// The body names the connection and its private endpoint so that ARM updates
// it; it never creates a connection (ARM refuses that with 400
// PrivateEndpointConnectionCannotBeCreatedByServiceProvider, which is returned
// as is). No If-Match is sent: the REST spec declares none.
func (c *Client) UpdateConnection(ctx context.Context, plsID string, u ConnectionUpdate) (*Connection, error) {
	what := fmt.Sprintf("set connection %q on %s to %s", u.Name, plsID, u.Status)
	sub, rg, name, err := ParsePrivateLinkServiceID(plsID)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, invalid(err))
	}
	switch {
	case u.Name == "":
		return nil, fmt.Errorf("%s: %w: empty connection name", what, ErrInvalidArgument)
	case u.Status == "":
		return nil, fmt.Errorf("%s: %w: empty status", what, ErrInvalidArgument)
	case u.PrivateEndpointID == "":
		return nil, fmt.Errorf("%s: %w: the connection's private endpoint ID is required", what, ErrInvalidArgument)
	}
	cl, err := c.clients(sub)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	resp, err := cl.pls.UpdatePrivateEndpointConnection(ctx, rg, name, u.Name, connectionBody(u), nil)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	conn := connFromSDK(&resp.PrivateEndpointConnection)
	return &conn, nil
}

// connectionBody is the PUT body: {name, properties:{privateEndpoint:{id},
// privateLinkServiceConnectionState:{status, description[, actionsRequired]}}}.
// Read-only fields (etag, provisioningState, linkIdentifier, ...) stay out.
func connectionBody(u ConnectionUpdate) armnetwork.PrivateEndpointConnection {
	state := &armnetwork.PrivateLinkServiceConnectionState{
		Status:      ptr(u.Status),
		Description: ptr(u.Description),
	}
	if u.ActionsRequired != "" {
		state.ActionsRequired = ptr(u.ActionsRequired)
	}
	return armnetwork.PrivateEndpointConnection{
		Name: ptr(u.Name),
		Properties: &armnetwork.PrivateEndpointConnectionProperties{
			PrivateEndpoint:                   &armnetwork.PrivateEndpoint{ID: ptr(u.PrivateEndpointID)},
			PrivateLinkServiceConnectionState: state,
		},
	}
}

// GetPrivateEndpoint reads a private endpoint (PrivateEndpoints_Get).
func (c *Client) GetPrivateEndpoint(ctx context.Context, id string) (*PrivateEndpoint, error) {
	sub, rg, name, err := ParsePrivateEndpointID(id)
	if err != nil {
		return nil, fmt.Errorf("get private endpoint: %w", invalid(err))
	}
	cl, err := c.clients(sub)
	if err != nil {
		return nil, fmt.Errorf("get private endpoint %s: %w", id, err)
	}
	resp, err := cl.pe.Get(ctx, rg, name, nil)
	if err != nil {
		return nil, fmt.Errorf("get private endpoint %s: %w", id, err)
	}
	return peFromSDK(&resp.PrivateEndpoint), nil
}

// ListSharedPrivateLinkResources reads every shared private link resource of a
// Web PubSub resource (WebPubSubSharedPrivateLinkResources_List, all pages).
func (c *Client) ListSharedPrivateLinkResources(ctx context.Context, webPubSubID string) ([]SharedPrivateLinkResource, error) {
	what := "list shared private link resources of " + webPubSubID
	sub, rg, name, err := ParseWebPubSubID(webPubSubID)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, invalid(err))
	}
	cl, err := c.clients(sub)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	var raw *http.Response
	ctx = policy.WithCaptureResponse(ctx, &raw)
	var out []SharedPrivateLinkResource
	pager := cl.spl.NewListPager(rg, name, nil)
	var prev string
	for page := 1; pager.More(); page++ {
		p, err := pager.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("%s (page %d): %w", what, page, err)
		}
		if p.NextLink != nil && *p.NextLink != "" {
			if *p.NextLink == prev {
				return nil, fmt.Errorf("%s (page %d): ARM returned the same nextLink twice", what, page)
			}
			prev = *p.NextLink
		}
		fqdns := rawSPLFqdns(raw)
		for _, v := range p.Value {
			if v != nil {
				out = append(out, splFromSDK(v, webPubSubID, fqdns))
			}
		}
	}
	return out, nil
}

// GetSharedPrivateLinkResource reads one shared private link resource
// (WebPubSubSharedPrivateLinkResources_Get).
func (c *Client) GetSharedPrivateLinkResource(ctx context.Context, id string) (*SharedPrivateLinkResource, error) {
	wpsID, sub, rg, wps, name, err := ParseSharedPrivateLinkResourceID(id)
	if err != nil {
		return nil, fmt.Errorf("get shared private link resource: %w", invalid(err))
	}
	cl, err := c.clients(sub)
	if err != nil {
		return nil, fmt.Errorf("get shared private link resource %s: %w", id, err)
	}
	var raw *http.Response
	resp, err := cl.spl.Get(policy.WithCaptureResponse(ctx, &raw), name, rg, wps, nil)
	if err != nil {
		return nil, fmt.Errorf("get shared private link resource %s: %w", id, err)
	}
	spl := splFromSDK(&resp.SharedPrivateLinkResource, wpsID, rawSPLFqdns(raw))
	return &spl, nil
}

// rawSPLFqdns reads properties.fqdns from a captured shared private link
// resource answer (one resource or a list page), keyed by normalized ID.
// armwebpubsub v1.3.0 (api-version 2024-03-01) has no Fqdns field although
// newer api-versions return it; missing or unreadable fqdns are not an error.
func rawSPLFqdns(resp *http.Response) map[string][]string {
	if resp == nil {
		return nil
	}
	body, err := runtime.Payload(resp)
	if err != nil || len(body) == 0 {
		return nil
	}
	type item struct {
		ID         string `json:"id"`
		Properties struct {
			Fqdns []string `json:"fqdns"`
		} `json:"properties"`
	}
	var doc struct {
		item
		Value []item `json:"value"`
	}
	if json.Unmarshal(body, &doc) != nil {
		return nil
	}
	out := map[string][]string{}
	for _, it := range append(doc.Value, doc.item) {
		if it.ID != "" && len(it.Properties.Fqdns) > 0 {
			out[NormalizeID(it.ID)] = it.Properties.Fqdns
		}
	}
	return out
}
