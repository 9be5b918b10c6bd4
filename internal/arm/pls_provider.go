package arm

import (
	"context"
	"iter"

	"github.com/plsgate/plsgate/internal/resource"
)

// The private link service is the first provider: the Network resource
// provider's PrivateLinkServices operations (Operations lists them with their
// api-version and RBAC action; resource.PrivateLinkService names the actions
// and the event prefix).
func init() {
	RegisterProvider(resource.PrivateLinkService, func(c *Client) resource.Provider { return NewPLSProvider(c) })
}

// PLSProvider is resource.Provider for private link services on a Client.
type PLSProvider struct{ c *Client }

// NewPLSProvider returns the private link service provider on c.
func NewPLSProvider(c *Client) *PLSProvider { return &PLSProvider{c: c} }

var _ resource.Provider = (*PLSProvider)(nil)

// Kind is resource.PrivateLinkService.
func (*PLSProvider) Kind() resource.Kind { return resource.PrivateLinkService }

// Get reads a private link service with its connections (PrivateLinkServices_Get).
func (p *PLSProvider) Get(ctx context.Context, id string) (*resource.Resource, error) {
	return p.c.GetPrivateLinkService(ctx, id)
}

// List streams a subscription's private link services one ARM page at a time
// (PrivateLinkServices_ListBySubscription).
func (p *PLSProvider) List(ctx context.Context, subscription string) iter.Seq2[[]*resource.Resource, error] {
	return p.c.ListPrivateLinkServices(ctx, subscription)
}

// GetConnection reads one connection (PrivateLinkServices_GetPrivateEndpointConnection).
func (p *PLSProvider) GetConnection(ctx context.Context, resourceID, name string) (*resource.Connection, error) {
	return p.c.GetConnection(ctx, resourceID, name)
}

// UpdateConnection writes a connection's state
// (PrivateLinkServices_UpdatePrivateEndpointConnection, a synchronous PUT).
func (p *PLSProvider) UpdateConnection(ctx context.Context, resourceID string, u resource.ConnectionUpdate) (*resource.Connection, error) {
	return p.c.UpdateConnection(ctx, resourceID, u)
}
