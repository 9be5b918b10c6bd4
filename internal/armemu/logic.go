package armemu

import (
	"net/http"
	"strings"
	"time"
)

// The state transitions, shared by the REST handlers and the Go helpers (which
// act "in the portal"). Each takes e.mu, mutates, and emits the events Azure
// would emit for it.

func containsFold(list []string, s string) bool {
	for _, v := range list {
		if strings.EqualFold(v, s) {
			return true
		}
	}
	return false
}

// visible: "*" in visibility = anyone; auto-approved subscriptions are visible
// (auto-approval ⊆ visibility); the owner always sees its own service.
func visible(p *PrivateLinkService, sub string) bool {
	return containsFold(p.Visibility, "*") || containsFold(p.Visibility, sub) ||
		containsFold(p.AutoApproval, sub) || strings.EqualFold(p.SubscriptionID, sub)
}

var statuses = []string{"Pending", "Approved", "Rejected"}

// canonicalStatus accepts the statuses a provider may set.
func canonicalStatus(s string) (string, bool) {
	for _, v := range statuses {
		if strings.EqualFold(v, s) {
			return v, true
		}
	}
	return "", false
}

// terminal statuses: a Rejected connection cannot be approved again (azure-docs
// manage-private-endpoint.md); a Disconnected one lost its private endpoint.
func terminal(status string) bool {
	return strings.EqualFold(status, "Rejected") || strings.EqualFold(status, "Disconnected") || strings.EqualFold(status, "Removed")
}

type connUpdate struct {
	Status, Description, ActionsRequired string
}

// updateConnection is the provider's PUT on a connection (plsgate's approval,
// the portal's Approve/Reject buttons).
func (e *Emulator) updateConnection(plsID, name string, u connUpdate, a actor) (wireConn, *Error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	p := e.st.pls[key(plsID)]
	if p == nil {
		r, _ := parseResourceID(plsID)
		return wireConn{}, notFoundPLS(r.RG, r.Name)
	}
	_, c := p.conn(name)
	if c == nil {
		return wireConn{}, errf(http.StatusBadRequest, CodeConnectionNotCreatable,
			"Private endpoint connection %s cannot be created by the service provider: it must be requested by a private endpoint.", connIDOf(p.ID, name))
	}
	status, ok := canonicalStatus(u.Status)
	if !ok {
		return wireConn{}, errf(http.StatusBadRequest, CodeInvalidConnectionStatus,
			"Private link service connection status '%s' is invalid; allowed values are Approved, Rejected, Pending.", u.Status)
	}
	if terminal(c.Status) && status != c.Status {
		if strings.EqualFold(c.Status, "Rejected") {
			return wireConn{}, errf(http.StatusBadRequest, CodeRejectedIsTerminal,
				"Approving rejected private endpoint connections is not supported. Connection %s is Rejected; the consumer must create a new private endpoint.", connIDOf(p.ID, c.Name))
		}
		return wireConn{}, errf(http.StatusBadRequest, CodeBadRequest,
			"Private endpoint connection %s is %s and cannot be set to %s.", connIDOf(p.ID, c.Name), c.Status, status)
	}
	c.Status, c.Description = status, u.Description
	if u.ActionsRequired != "" {
		c.ActionsRequired = u.ActionsRequired
	}
	c.ETag = e.newETag()
	p.ETag = e.newETag()
	e.followSharedLinkLocked(c, c.Status)
	connID := connIDOf(p.ID, c.Name)
	e.emitWriteLocked(evWriteSuccess, p.SubscriptionID, connID, "Microsoft.Network/privateLinkServices/privateEndpointConnections/write", a)
	e.plsChangedLocked(p, p.SubscriptionID, a, connID, false)
	return renderConn(p, c), nil
}

// deleteConnection is the provider's DELETE on a connection. found=false: it
// did not exist (ARM answers 204).
func (e *Emulator) deleteConnection(plsID, name string, a actor) (found bool, err *Error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	p := e.st.pls[key(plsID)]
	if p == nil {
		r, _ := parseResourceID(plsID)
		return false, notFoundPLS(r.RG, r.Name)
	}
	i, c := p.conn(name)
	if c == nil {
		return false, nil
	}
	e.removeConnLocked(p, i)
	connID := connIDOf(p.ID, c.Name)
	e.emitWriteLocked(evDeleteSuccess, p.SubscriptionID, connID, "Microsoft.Network/privateLinkServices/privateEndpointConnections/delete", a)
	e.plsChangedLocked(p, p.SubscriptionID, a, connID, true)
	return true, nil
}

func (e *Emulator) removeConnLocked(p *PrivateLinkService, i int) {
	c := p.Connections[i]
	p.Connections = append(p.Connections[:i:i], p.Connections[i+1:]...)
	p.ETag = e.newETag()
	e.followSharedLinkLocked(c, "Disconnected")
}

// newConnectionLocked records a connection request from a private endpoint
// (consumer's or Web PubSub's managed one) on p.
func (e *Emulator) newConnectionLocked(p *PrivateLinkService, peName, peID, peLocation, requesterSub, message string, auto bool) *Connection {
	status, desc := "Pending", message
	if auto && containsFold(p.AutoApproval, requesterSub) {
		status, desc = "Approved", "Auto-Approved"
	}
	c := &Connection{
		Name:                    peName + "." + e.newGUID(),
		PrivateEndpointID:       peID,
		PrivateEndpointLocation: peLocation,
		Status:                  status,
		Description:             desc,
		ActionsRequired:         "None",
		LinkIdentifier:          e.newLinkIdentifier(),
		ProvisioningState:       "Succeeded",
		ETag:                    e.newETag(),
	}
	p.Connections = append(p.Connections, c)
	p.ETag = e.newETag()
	return c
}

// sharedLinkStatus maps a PLS connection status to the shared private link
// resource status vocabulary (Approved, Disconnected, Pending, Rejected, Timeout).
func sharedLinkStatus(connStatus string) string {
	switch {
	case strings.EqualFold(connStatus, "Approved"):
		return "Approved"
	case strings.EqualFold(connStatus, "Rejected"):
		return "Rejected"
	case strings.EqualFold(connStatus, "Pending"):
		return "Pending"
	default:
		return "Disconnected"
	}
}

// followSharedLinkLocked makes the owning shared private link resource's status
// follow its connection, at once or after Options.SharedLinkStatusDelay.
func (e *Emulator) followSharedLinkLocked(c *Connection, connStatus string) {
	if c.SharedPrivateLinkResourceID == "" {
		return
	}
	splID, connName, status := c.SharedPrivateLinkResourceID, c.Name, sharedLinkStatus(connStatus)
	apply := func() {
		ws, s := e.lookupSharedLinkLocked(splID)
		if ws != nil && s != nil && strings.EqualFold(s.ConnectionName, connName) {
			s.Status = status
		}
	}
	if e.opts.SharedLinkStatusDelay <= 0 {
		apply()
		return
	}
	if e.closed {
		return
	}
	var t *time.Timer
	t = time.AfterFunc(e.opts.SharedLinkStatusDelay, func() {
		e.mu.Lock()
		defer e.mu.Unlock()
		if _, live := e.timers[t]; !live {
			return
		}
		delete(e.timers, t)
		apply()
	})
	e.timers[t] = struct{}{}
}

func (e *Emulator) lookupSharedLinkLocked(splID string) (*WebPubSub, *SharedPrivateLinkResource) {
	k := key(splID)
	i := strings.LastIndex(k, "/sharedprivatelinkresources/")
	if i < 0 {
		return nil, nil
	}
	ws := e.st.wps[k[:i]]
	if ws == nil {
		return nil, nil
	}
	_, s := ws.link(splID[i+len("/sharedPrivateLinkResources/"):])
	return ws, s
}

// --- private endpoints ----------------------------------------------------

type linkRequest struct {
	Name, PLS, RequestMessage, WantStatus string
	Manual                                bool
	GroupIDs                              []string
}

type peRequest struct {
	Sub, RG, Name, Location, SubnetID string
	Tags                              map[string]string
	Links                             []linkRequest
}

// putPrivateEndpoint is the consumer's PrivateEndpoints_CreateOrUpdate.
// Every link must target a PLS that exists and is visible to the consumer's
// subscription, else 400 (azure-powershell#24514 shows the code). New links
// request connections; links dropped from the body remove theirs; a link whose
// connection was Rejected and that asks for Pending again re-requests it
// (MicrosoftDocs/azure-docs#81751).
func (e *Emulator) putPrivateEndpoint(req peRequest, a actor) (wirePE, bool, *Error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	id := peIDOf(req.Sub, req.RG, req.Name)
	targets := make([]*PrivateLinkService, len(req.Links))
	names := map[string]bool{}
	for i, l := range req.Links {
		if l.PLS == "" {
			return wirePE{}, false, errf(http.StatusBadRequest, CodeLinkedInvalidPropertyID, "Property id '' at path 'properties.privateLinkServiceConnections[%d].properties.privateLinkServiceId' is invalid.", i)
		}
		p := e.st.lookupPLS(l.PLS)
		if p == nil || !visible(p, req.Sub) {
			return wirePE{}, false, errf(http.StatusBadRequest, CodePrivateLinkServiceMissing,
				"Third-party Private Link Service Id %s provided during private endpoint creation does not exist or is not visible to subscription %s.", l.PLS, req.Sub)
		}
		if l.Name == "" {
			req.Links[i].Name = req.Name + "_" + p.Name
		}
		if names[strings.ToLower(req.Links[i].Name)] {
			return wirePE{}, false, errf(http.StatusBadRequest, CodeBadRequest, "Private endpoint %s has two connections named %s.", id, req.Links[i].Name)
		}
		names[strings.ToLower(req.Links[i].Name)] = true
		targets[i] = p
	}
	old := e.st.pe[key(id)]
	created := old == nil
	oldLinks := map[string]*PrivateEndpointLink{}
	if old != nil {
		for _, l := range old.Links {
			oldLinks[strings.ToLower(l.Name)] = l
		}
	}
	type change struct {
		p       *PrivateLinkService
		connID  string
		deleted bool
	}
	var changed []change
	links := make([]*PrivateEndpointLink, 0, len(req.Links))
	for i, l := range req.Links {
		p := targets[i]
		nl := &PrivateEndpointLink{Name: l.Name, Manual: l.Manual, PrivateLinkServiceID: p.ID, RequestMessage: l.RequestMessage, GroupIDs: cloneStrings(l.GroupIDs)}
		if ol := oldLinks[strings.ToLower(l.Name)]; ol != nil && sameID(ol.PrivateLinkServiceID, p.ID) {
			delete(oldLinks, strings.ToLower(l.Name))
			nl.ConnectionName = ol.ConnectionName
			if _, c := p.conn(ol.ConnectionName); c != nil && strings.EqualFold(c.Status, "Rejected") && strings.EqualFold(l.WantStatus, "Pending") {
				c.Status, c.Description, c.ETag = "Pending", l.RequestMessage, e.newETag()
				p.ETag = e.newETag()
				changed = append(changed, change{p, connIDOf(p.ID, c.Name), false})
			}
		} else {
			loc := req.Location
			if old != nil {
				loc = old.Location
			}
			c := e.newConnectionLocked(p, req.Name, id, loc, req.Sub, l.RequestMessage, !l.Manual)
			nl.ConnectionName = c.Name
			changed = append(changed, change{p, connIDOf(p.ID, c.Name), false})
		}
		links = append(links, nl)
	}
	for _, ol := range oldLinks { // dropped from the body
		if p := e.st.lookupPLS(ol.PrivateLinkServiceID); p != nil {
			if i, c := p.conn(ol.ConnectionName); c != nil {
				e.removeConnLocked(p, i)
				changed = append(changed, change{p, connIDOf(p.ID, c.Name), true})
			}
		}
	}
	pe := old
	if pe == nil {
		pe = &PrivateEndpoint{ID: id, SubscriptionID: req.Sub, ResourceGroup: req.RG, Name: req.Name, Location: req.Location}
		if pe.Location == "" {
			pe.Location = "eastus"
		}
		e.st.pe[key(id)] = pe
	}
	pe.Tags, pe.Links, pe.ETag = cloneMap(req.Tags), links, e.newETag()
	if req.SubnetID != "" {
		pe.SubnetID = req.SubnetID
	}
	e.emitWriteLocked(evWriteSuccess, req.Sub, id, "Microsoft.Network/privateEndpoints/write", a)
	for _, ch := range changed {
		e.plsChangedLocked(ch.p, req.Sub, a, ch.connID, ch.deleted)
	}
	return e.st.renderPE(pe), created, nil
}

// deletePrivateEndpoint removes a consumer's private endpoint and its
// connections from the target services; it returns the endpoint's location
// ("" when there was none).
func (e *Emulator) deletePrivateEndpoint(id string, a actor) string {
	e.mu.Lock()
	defer e.mu.Unlock()
	pe := e.st.pe[key(id)]
	if pe == nil {
		return ""
	}
	delete(e.st.pe, key(id))
	for _, l := range pe.Links {
		if p := e.st.lookupPLS(l.PrivateLinkServiceID); p != nil {
			if i, c := p.conn(l.ConnectionName); c != nil {
				e.removeConnLocked(p, i)
				e.plsChangedLocked(p, pe.SubscriptionID, a, connIDOf(p.ID, c.Name), true)
			}
		}
	}
	e.emitWriteLocked(evDeleteSuccess, pe.SubscriptionID, pe.ID, "Microsoft.Network/privateEndpoints/delete", a)
	return pe.Location
}

// --- web pubsub shared private link resources -----------------------------

type sharedLinkRequest struct {
	GroupID, PrivateLinkResourceID, RequestMessage string
	Fqdns                                          []string
}

// putSharedLink is WebPubSubSharedPrivateLinkResources_CreateOrUpdate: the
// service asks, from its managed subscription, for a connection on the target
// PLS (description = requestMessage); the operation completes per
// Options.LRO. A target that does not exist or is not visible to the service's
// subscription fails the operation (not the PUT), as an async RP does.
func (e *Emulator) putSharedLink(wpsID, name string, req sharedLinkRequest, a actor) (wireSPL, bool, *operation, *Error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	ws := e.st.wps[key(wpsID)]
	if ws == nil {
		r, _ := parseResourceID(wpsID)
		return wireSPL{}, false, nil, errf(http.StatusNotFound, CodeResourceNotFound,
			"The Resource 'Microsoft.SignalRService/WebPubSub/%s' under resource group '%s' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix", r.Name, r.RG)
	}
	if req.PrivateLinkResourceID == "" {
		return wireSPL{}, false, nil, errf(http.StatusBadRequest, CodeBadRequest, "properties.privateLinkResourceId is required.")
	}
	if _, err := parseResourceID(req.PrivateLinkResourceID); err != nil {
		return wireSPL{}, false, nil, errf(http.StatusBadRequest, CodeLinkedInvalidPropertyID,
			"Property id '%s' at path 'properties.privateLinkResourceId' is invalid. Expect fully qualified resource Id that start with '/subscriptions/{subscriptionId}'.", req.PrivateLinkResourceID)
	}
	splID := splIDOf(ws.ID, name)
	_, s := ws.link(name)
	created := s == nil
	var opErr *Error
	if s != nil {
		if !sameID(s.PrivateLinkResourceID, req.PrivateLinkResourceID) {
			return wireSPL{}, false, nil, errf(http.StatusBadRequest, CodeBadRequest,
				"The privateLinkResourceId of shared private link resource %s cannot be changed.", splID)
		}
		s.GroupID, s.RequestMessage, s.Fqdns = req.GroupID, req.RequestMessage, cloneStrings(req.Fqdns)
		s.ProvisioningState = "Updating"
	} else {
		s = &SharedPrivateLinkResource{
			Name:                  name,
			GroupID:               req.GroupID,
			PrivateLinkResourceID: req.PrivateLinkResourceID,
			RequestMessage:        req.RequestMessage,
			Fqdns:                 cloneStrings(req.Fqdns),
			Status:                "Pending",
			ProvisioningState:     "Updating",
			CreatedAt:             e.now().UTC(),
		}
		ws.SharedPrivateLinkResources = append(ws.SharedPrivateLinkResources, s)
		svc := e.opts.ServiceSubscription
		p := e.st.lookupPLS(req.PrivateLinkResourceID)
		if p == nil || !visible(p, svc) {
			opErr = errf(http.StatusBadRequest, CodePrivateLinkServiceMissing,
				"Third-party Private Link Service Id %s provided during private endpoint creation does not exist or is not visible to subscription %s.", req.PrivateLinkResourceID, svc)
		} else {
			peName := ws.Name + "_" + name
			peID := peIDOf(svc, "wps-managed-"+strings.ToLower(ws.Location), peName)
			c := e.newConnectionLocked(p, peName, peID, ws.Location, svc, req.RequestMessage, true)
			c.SharedPrivateLinkResourceID = splID
			s.ConnectionName, s.PrivateEndpointID, s.Status = c.Name, peID, sharedLinkStatus(c.Status)
			e.plsChangedLocked(p, svc, e.serviceActor(http.MethodPut, peID), connIDOf(p.ID, c.Name), false)
		}
	}
	atCompletion := e.bus.opts().SharedLinkWriteAt == SharedLinkAtCompleted
	op := e.newOpLocked(famSignalR, ws.SubscriptionID, ws.Location, opErr, func(failed bool) {
		if failed {
			s.ProvisioningState = "Failed"
		} else {
			s.ProvisioningState = "Succeeded"
			if atCompletion {
				e.emitWriteLocked(evWriteSuccess, ws.SubscriptionID, splID, "Microsoft.SignalRService/webPubSub/sharedPrivateLinkResources/write", a)
			}
		}
	})
	// Not advanced here: the 201 always says Updating, as an async RP does;
	// the first poll (or read) that finds it due completes it.
	e.splOps[key(splID)] = op
	if !atCompletion {
		e.emitWriteLocked(evWriteSuccess, ws.SubscriptionID, splID, "Microsoft.SignalRService/webPubSub/sharedPrivateLinkResources/write", a)
	}
	return renderSPL(ws, s), created, op, nil
}

// deleteSharedLink removes the resource and the service's connection on the PLS.
func (e *Emulator) deleteSharedLink(wpsID, name string, a actor) (bool, *operation, *Error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	ws := e.st.wps[key(wpsID)]
	if ws == nil {
		r, _ := parseResourceID(wpsID)
		return false, nil, errf(http.StatusNotFound, CodeResourceNotFound,
			"The Resource 'Microsoft.SignalRService/WebPubSub/%s' under resource group '%s' was not found.", r.Name, r.RG)
	}
	i, s := ws.link(name)
	if s == nil {
		return false, nil, nil
	}
	ws.SharedPrivateLinkResources = append(ws.SharedPrivateLinkResources[:i:i], ws.SharedPrivateLinkResources[i+1:]...)
	splID := splIDOf(ws.ID, s.Name)
	delete(e.splOps, key(splID))
	if p := e.st.lookupPLS(s.PrivateLinkResourceID); p != nil {
		if j, c := p.conn(s.ConnectionName); c != nil {
			e.removeConnLocked(p, j)
			e.plsChangedLocked(p, e.opts.ServiceSubscription, e.serviceActor(http.MethodDelete, s.PrivateEndpointID), connIDOf(p.ID, c.Name), true)
		}
	}
	op := e.newOpLocked(famSignalR, ws.SubscriptionID, ws.Location, nil, nil)
	e.advanceLocked(op, false)
	e.emitWriteLocked(evDeleteSuccess, ws.SubscriptionID, splID, "Microsoft.SignalRService/webPubSub/sharedPrivateLinkResources/delete", a)
	return true, op, nil
}

// tickSharedLinksLocked completes the operations of ws's shared private link
// resources that are due (reads see provisioningState move without polling).
func (e *Emulator) tickSharedLinksLocked(ws *WebPubSub) {
	for _, s := range ws.SharedPrivateLinkResources {
		if op := e.splOps[key(splIDOf(ws.ID, s.Name))]; op != nil {
			e.advanceLocked(op, false)
		}
	}
}
