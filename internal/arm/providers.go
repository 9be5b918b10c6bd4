package arm

import (
	"context"
	"fmt"
	"iter"
	"maps"
	"slices"
	"strings"
	"sync"

	"github.com/plsgate/plsgate/internal/resource"
)

// ProviderFactory builds the provider of one resource kind on a Client (its
// SDK clients, credential and retry policy).
type ProviderFactory func(*Client) resource.Provider

type registration struct {
	kind  resource.Kind
	build ProviderFactory
}

var (
	providersMu sync.RWMutex
	factories   = map[string]registration{} // lower-case ARM type → factory
)

// RegisterProvider registers a resource kind (resource.Register, so the event
// classifier, the policy and infra's consistency tests know it) with the
// factory of its provider. A provider's own file calls it from init: adding a
// resource type is that file plus the infra lists its Kind names (role actions,
// event filter), which infra's tests check. A second registration of the same
// type replaces the first.
func RegisterProvider(kind resource.Kind, build ProviderFactory) {
	if build == nil {
		panic(fmt.Sprintf("arm.RegisterProvider(%s): nil factory", kind.Type))
	}
	resource.Register(kind) // panics on a type that is not an ARM type
	providersMu.Lock()
	defer providersMu.Unlock()
	factories[strings.ToLower(kind.Type)] = registration{kind: kind, build: build}
}

// ProviderKinds lists the kinds that have a registered provider, sorted by type.
func ProviderKinds() []resource.Kind {
	providersMu.RLock()
	defer providersMu.RUnlock()
	out := make([]resource.Kind, 0, len(factories))
	for _, k := range slices.Sorted(maps.Keys(factories)) {
		out = append(out, factories[k].kind)
	}
	return out
}

// Providers builds every registered provider on c. A factory whose provider
// names another kind than it was registered for is a programming error: it panics.
func Providers(c *Client) resource.Providers {
	providersMu.RLock()
	defer providersMu.RUnlock()
	ps := make(resource.Providers, len(factories))
	for key, r := range factories {
		p := r.build(c)
		if !strings.EqualFold(p.Kind().Type, r.kind.Type) {
			panic(fmt.Sprintf("arm: the provider registered for %s serves %s", r.kind.Type, p.Kind().Type))
		}
		ps[key] = p
	}
	return ps
}

// Dispatch serves PrivateLinkServices from providers: each call goes to the
// provider of the kind its ID names, lists walk every provider in type order.
// It lets a caller written against PrivateLinkServices (reconcile, until it
// takes resource.Providers itself) reach every registered kind. An ID of no
// registered kind, or of a kind without provider, is ErrInvalidArgument.
func Dispatch(ps resource.Providers) PrivateLinkServices { return dispatch{ps} }

type dispatch struct{ ps resource.Providers }

func (d dispatch) provider(id string) (resource.Provider, error) {
	p, err := d.ps.For(id)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidArgument, err) // one mark: terminal bad input
	}
	return p, nil
}

func (d dispatch) GetPrivateLinkService(ctx context.Context, id string) (*PrivateLinkService, error) {
	p, err := d.provider(id)
	if err != nil {
		return nil, fmt.Errorf("get resource: %w", err)
	}
	return p.Get(ctx, id)
}

// sorted is the providers in type order (a stable scan order).
func (d dispatch) sorted() []resource.Provider {
	out := make([]resource.Provider, 0, len(d.ps))
	for _, k := range slices.Sorted(maps.Keys(d.ps)) {
		out = append(out, d.ps[k])
	}
	return out
}

func (d dispatch) ListPrivateLinkServices(ctx context.Context, subscriptionID string) iter.Seq2[[]*PrivateLinkService, error] {
	return func(yield func([]*PrivateLinkService, error) bool) {
		for _, p := range d.sorted() {
			for page, err := range p.List(ctx, subscriptionID) {
				if !yield(page, err) || err != nil {
					return
				}
			}
		}
	}
}

// resourceGroupLister is implemented by providers that list one resource group
// server-side (the private link service provider).
type resourceGroupLister interface {
	ListByResourceGroup(ctx context.Context, subscriptionID, resourceGroup string) iter.Seq2[[]*resource.Resource, error]
}

// ListPrivateLinkServicesByResourceGroup lists through each provider's own
// resource-group list when it has one, else filters its subscription list.
func (d dispatch) ListPrivateLinkServicesByResourceGroup(ctx context.Context, subscriptionID, resourceGroup string) iter.Seq2[[]*PrivateLinkService, error] {
	return func(yield func([]*PrivateLinkService, error) bool) {
		for _, p := range d.sorted() {
			if rl, ok := p.(resourceGroupLister); ok {
				for page, err := range rl.ListByResourceGroup(ctx, subscriptionID, resourceGroup) {
					if !yield(page, err) || err != nil {
						return
					}
				}
				continue
			}
			for page, err := range p.List(ctx, subscriptionID) {
				if err != nil {
					yield(nil, err)
					return
				}
				page = slices.DeleteFunc(page, func(r *resource.Resource) bool { return !strings.EqualFold(r.ResourceGroup, resourceGroup) })
				if len(page) > 0 && !yield(page, nil) {
					return
				}
			}
		}
	}
}

func (d dispatch) GetConnection(ctx context.Context, resourceID, name string) (*Connection, error) {
	p, err := d.provider(resourceID)
	if err != nil {
		return nil, fmt.Errorf("get connection %q: %w", name, err)
	}
	return p.GetConnection(ctx, resourceID, name)
}

func (d dispatch) UpdateConnection(ctx context.Context, resourceID string, u ConnectionUpdate) (*Connection, error) {
	p, err := d.provider(resourceID)
	if err != nil {
		return nil, fmt.Errorf("set connection %q to %s: %w", u.Name, u.Status, err)
	}
	return p.UpdateConnection(ctx, resourceID, u)
}
