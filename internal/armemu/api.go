package armemu

import (
	"fmt"
	"net/http"
	"strings"
	"time"
)

// Go API for tests and the demo. Helpers named after what a person does "in
// the portal" go through the same code as the REST operation they stand for
// and emit the same events; Seed/AddPLS/AddWebPubSub set the stage silently.

// Seed replaces the whole world (no events). The world is copied.
func (e *Emulator) Seed(w World) error {
	st, err := buildStore(w.clone())
	if err != nil {
		return fmt.Errorf("seed arm emulator: %w", err)
	}
	e.mu.Lock()
	e.st = st
	e.ops = map[string]*operation{}
	e.splOps = map[string]*operation{}
	e.mu.Unlock()
	return nil
}

// World returns a deep copy of the current state.
func (e *Emulator) World() World {
	e.mu.RLock()
	defer e.mu.RUnlock()
	return e.st.world()
}

// AddPLS adds a private link service (no events) and returns its ID.
func (e *Emulator) AddPLS(p PrivateLinkService) (string, error) {
	c := p.clone()
	if err := c.normalize(); err != nil {
		return "", fmt.Errorf("add private link service: %w", err)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if err := e.st.addPLS(c); err != nil {
		return "", fmt.Errorf("add private link service: %w", err)
	}
	return c.ID, nil
}

// AddWebPubSub adds a Web PubSub resource (no events) and returns its ID.
func (e *Emulator) AddWebPubSub(ws WebPubSub) (string, error) {
	c := ws.clone()
	if err := c.normalize(); err != nil {
		return "", fmt.Errorf("add web pubsub: %w", err)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if _, dup := e.st.wps[key(c.ID)]; dup {
		return "", fmt.Errorf("add web pubsub: %s already exists", c.ID)
	}
	e.st.wps[key(c.ID)] = c
	return c.ID, nil
}

// SetTenant maps a subscription to a tenant.
func (e *Emulator) SetTenant(subscriptionID, tenantID string) {
	e.mu.Lock()
	e.st.tenants[strings.ToLower(subscriptionID)] = tenantID
	e.mu.Unlock()
}

// PLS returns a copy of one private link service.
func (e *Emulator) PLS(id string) (PrivateLinkService, bool) {
	e.mu.RLock()
	defer e.mu.RUnlock()
	p := e.st.pls[key(id)]
	if p == nil {
		return PrivateLinkService{}, false
	}
	return *p.clone(), true
}

// Connection returns a copy of one connection of a private link service.
func (e *Emulator) Connection(plsID, name string) (Connection, bool) {
	e.mu.RLock()
	defer e.mu.RUnlock()
	p := e.st.pls[key(plsID)]
	if p == nil {
		return Connection{}, false
	}
	_, c := p.conn(name)
	if c == nil {
		return Connection{}, false
	}
	return *c, true
}

// PrivateEndpoint returns a copy of one private endpoint.
func (e *Emulator) PrivateEndpoint(id string) (PrivateEndpoint, bool) {
	e.mu.RLock()
	defer e.mu.RUnlock()
	pe := e.st.pe[key(id)]
	if pe == nil {
		return PrivateEndpoint{}, false
	}
	return *pe.clone(), true
}

// SetSharedLinkStatusDelay changes how long shared private link resource
// statuses lag their connections (for changes from now on).
func (e *Emulator) SetSharedLinkStatusDelay(d time.Duration) {
	e.mu.Lock()
	e.opts.SharedLinkStatusDelay = d
	e.mu.Unlock()
}

// SharedPrivateLinkResource returns a copy of one shared private link resource.
func (e *Emulator) SharedPrivateLinkResource(id string) (SharedPrivateLinkResource, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	ws, s := e.lookupSharedLinkLocked(id)
	if s == nil {
		return SharedPrivateLinkResource{}, false
	}
	if op := e.splOps[key(splIDOf(ws.ID, s.Name))]; op != nil {
		e.advanceLocked(op, false)
	}
	c := *s
	c.Fqdns = cloneStrings(s.Fqdns)
	return c, true
}

// SetConnectionStatus approves/rejects/re-pends a connection as the PLS
// owner does in the portal: the same validation as the PUT (Rejected is
// terminal) and the same events.
func (e *Emulator) SetConnectionStatus(plsID, connectionName, status, description string) error {
	a := e.portalActor(http.MethodPut, connIDOf(plsID, connectionName), latestNetworkVersion, e.tenantOf(subscriptionOf(plsID)))
	if _, err := e.updateConnection(plsID, connectionName, connUpdate{Status: status, Description: description}, a); err != nil {
		return err
	}
	return nil
}

// DeleteConnection removes a connection as the PLS owner does in the portal.
func (e *Emulator) DeleteConnection(plsID, connectionName string) error {
	a := e.portalActor(http.MethodDelete, connIDOf(plsID, connectionName), latestNetworkVersion, e.tenantOf(subscriptionOf(plsID)))
	found, err := e.deleteConnection(plsID, connectionName, a)
	if err != nil {
		return err
	}
	if !found {
		return notFoundChild(connIDOf(plsID, connectionName))
	}
	return nil
}

// CreatePrivateEndpoint creates (or updates) a consumer's private endpoint as
// the consumer does in the portal; Links name the target services (ID or
// alias). It returns the endpoint with each link's ConnectionName filled.
func (e *Emulator) CreatePrivateEndpoint(pe PrivateEndpoint) (PrivateEndpoint, error) {
	c := pe.clone()
	if err := c.normalize(); err != nil {
		return PrivateEndpoint{}, fmt.Errorf("create private endpoint: %w", err)
	}
	req := peRequest{Sub: c.SubscriptionID, RG: c.ResourceGroup, Name: c.Name, Location: c.Location, Tags: c.Tags, SubnetID: c.SubnetID}
	for _, l := range c.Links {
		req.Links = append(req.Links, linkRequest{Name: l.Name, PLS: l.PrivateLinkServiceID, RequestMessage: l.RequestMessage, Manual: l.Manual, GroupIDs: l.GroupIDs})
	}
	a := e.portalActor(http.MethodPut, c.ID, latestNetworkVersion, e.tenantOf(c.SubscriptionID))
	if _, _, err := e.putPrivateEndpoint(req, a); err != nil {
		return PrivateEndpoint{}, err
	}
	e.mu.RLock()
	defer e.mu.RUnlock()
	return *e.st.pe[key(c.ID)].clone(), nil
}

// DeletePrivateEndpoint deletes a consumer's private endpoint (its
// connections disappear from the services).
func (e *Emulator) DeletePrivateEndpoint(id string) error {
	a := e.portalActor(http.MethodDelete, id, latestNetworkVersion, e.tenantOf(subscriptionOf(id)))
	if e.deletePrivateEndpoint(id, a) == "" {
		return notFoundChild(id)
	}
	return nil
}

// CreateSharedPrivateLinkResource creates one as its owner does in the portal
// (the operation then completes per Options.LRO; reads advance it).
func (e *Emulator) CreateSharedPrivateLinkResource(webPubSubID, name string, s SharedPrivateLinkResource) error {
	a := e.portalActor(http.MethodPut, splIDOf(webPubSubID, name), "2024-03-01", e.tenantOf(subscriptionOf(webPubSubID)))
	_, _, _, err := e.putSharedLink(webPubSubID, name, sharedLinkRequest{
		GroupID: s.GroupID, PrivateLinkResourceID: s.PrivateLinkResourceID, RequestMessage: s.RequestMessage, Fqdns: s.Fqdns,
	}, a)
	if err != nil {
		return err
	}
	return nil
}

// DeleteSharedPrivateLinkResource deletes one as its owner does in the
// portal; the service withdraws its connection from the PLS.
func (e *Emulator) DeleteSharedPrivateLinkResource(id string) error {
	k := key(id)
	i := strings.LastIndex(k, "/sharedprivatelinkresources/")
	if i < 0 {
		return errf(http.StatusBadRequest, CodeLinkedInvalidPropertyID, "%q is not a shared private link resource ID", id)
	}
	wpsID, name := id[:i], id[i+len("/sharedPrivateLinkResources/"):]
	a := e.portalActor(http.MethodDelete, id, "2024-03-01", e.tenantOf(subscriptionOf(id)))
	found, _, err := e.deleteSharedLink(wpsID, name, a)
	if err != nil {
		return err
	}
	if !found {
		return notFoundChild(id)
	}
	return nil
}

// Events returns the emitted events (newest last, at most EventOptions.LogLimit),
// filtered by event type when types are given.
func (e *Emulator) Events(types ...string) []Event {
	evs, _, _ := e.bus.snapshot()
	return eventsFor(evs, types...)
}

// Deliveries returns the delivery attempt log.
func (e *Emulator) Deliveries() []Delivery {
	_, recs, _ := e.bus.snapshot()
	return recs
}

// DeliveryStats returns delivery counters.
func (e *Emulator) DeliveryStats() DeliveryStats {
	_, _, st := e.bus.snapshot()
	return st
}

// ResetEvents clears the event and delivery logs and stats (pending
// deliveries continue).
func (e *Emulator) ResetEvents() { e.bus.reset() }

// SetEventSink points delivery at url with schema ("" keeps the current one).
func (e *Emulator) SetEventSink(url, schema string) error {
	o := e.bus.opts()
	o.SinkURL = url
	if schema != "" {
		o.Schema = schema
	}
	return e.SetEventOptions(o)
}

// SetEventOptions replaces the event options (Parallelism is fixed by New).
func (e *Emulator) SetEventOptions(o EventOptions) error {
	if err := ValidateEventOptions(o); err != nil {
		return fmt.Errorf("set event options: %w", err)
	}
	e.bus.setOptions(o)
	return nil
}

// PauseDeliveries holds every delivery (an Event Grid backlog) until
// ResumeDeliveries; events keep being queued.
func (e *Emulator) PauseDeliveries() { e.bus.setPaused(true) }

// ResumeDeliveries releases held deliveries; those due together are shuffled
// when EventOptions.Shuffle is set.
func (e *Emulator) ResumeDeliveries() { e.bus.setPaused(false) }

// EventOptions returns the current event options.
func (e *Emulator) EventOptions() EventOptions { return e.bus.opts() }
