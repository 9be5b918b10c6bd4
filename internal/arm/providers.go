package arm

import (
	"fmt"
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
