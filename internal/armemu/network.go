package armemu

import (
	"net/http"
	"slices"
	"strings"
	"time"
)

// Microsoft.Network handlers: privateLinkServices (+ privateEndpointConnections)
// and privateEndpoints.

func (e *Emulator) hGetPLS(c *call) {
	e.mu.RLock()
	p := e.st.pls[key(plsIDOf(c.p.sub, c.p.rg, c.p.name))]
	if p == nil {
		e.mu.RUnlock()
		writeError(c.w, notFoundPLS(c.p.rg, c.p.name))
		return
	}
	body := renderPLS(p)
	e.mu.RUnlock()
	writeJSON(c.w, http.StatusOK, body)
}

func (e *Emulator) hListPLSBySubscription(c *call) {
	e.listPLS(c, func() []*PrivateLinkService { return e.st.bySub[strings.ToLower(c.p.sub)] })
}

func (e *Emulator) hListPLSByRG(c *call) {
	e.listPLS(c, func() []*PrivateLinkService { return e.st.byRG[rgKey(c.p.sub, c.p.rg)] })
}

// listPLS pages a sorted list by key: the token carries the last key served.
func (e *Emulator) listPLS(c *call, list func() []*PrivateLinkService) {
	tok, err := readToken(c.r)
	if err != nil {
		writeError(c.w, err)
		return
	}
	e.mu.RLock()
	l := list()
	start := 0
	if tok.After != "" {
		i, found := slices.BinarySearchFunc(l, tok.After, func(p *PrivateLinkService, k string) int { return strings.Compare(key(p.ID), k) })
		if found {
			i++
		}
		start = i
	}
	body := page(e, c, l, start, tok, func(hi int) pageToken { return pageToken{After: key(l[hi-1].ID)} }, renderPLS)
	e.mu.RUnlock()
	writeJSON(c.w, http.StatusOK, body)
}

func (e *Emulator) hListConnections(c *call) {
	tok, err := readToken(c.r)
	if err != nil {
		writeError(c.w, err)
		return
	}
	e.mu.RLock()
	p := e.st.pls[key(plsIDOf(c.p.sub, c.p.rg, c.p.name))]
	if p == nil {
		e.mu.RUnlock()
		writeError(c.w, notFoundPLS(c.p.rg, c.p.name))
		return
	}
	body := page(e, c, p.Connections, tok.Offset, tok, func(hi int) pageToken { return pageToken{Offset: hi} },
		func(cn *Connection) wireConn { return renderConn(p, cn) })
	e.mu.RUnlock()
	writeJSON(c.w, http.StatusOK, body)
}

func (e *Emulator) hGetConnection(c *call) {
	plsID := plsIDOf(c.p.sub, c.p.rg, c.p.name)
	e.mu.RLock()
	p := e.st.pls[key(plsID)]
	if p == nil {
		e.mu.RUnlock()
		writeError(c.w, notFoundPLS(c.p.rg, c.p.name))
		return
	}
	_, cn := p.conn(c.p.child)
	if cn == nil {
		e.mu.RUnlock()
		writeError(c.w, notFoundChild(connIDOf(plsID, c.p.child)))
		return
	}
	body := renderConn(p, cn)
	e.mu.RUnlock()
	writeJSON(c.w, http.StatusOK, body)
}

// connPutBody is the PUT body of PrivateLinkServices_UpdatePrivateEndpointConnection
// (example PrivateLinkServiceUpdatePrivateEndpointConnection.json). name,
// etag and privateEndpoint are read-only for the provider and ignored; so is
// If-Match (the spec declares none).
type connPutBody struct {
	Name       string `json:"name"`
	Properties *struct {
		PrivateEndpoint                   *wireID `json:"privateEndpoint"`
		PrivateLinkServiceConnectionState *struct {
			Status          string `json:"status"`
			Description     string `json:"description"`
			ActionsRequired string `json:"actionsRequired"`
		} `json:"privateLinkServiceConnectionState"`
	} `json:"properties"`
}

func (e *Emulator) hPutConnection(c *call) {
	var b connPutBody
	if err := decodeBody(c.r, &b); err != nil {
		writeError(c.w, err)
		return
	}
	if b.Properties == nil || b.Properties.PrivateLinkServiceConnectionState == nil {
		writeError(c.w, errf(http.StatusBadRequest, CodeInvalidRequestContent, "properties.privateLinkServiceConnectionState is required."))
		return
	}
	st := b.Properties.PrivateLinkServiceConnectionState
	body, err := e.updateConnection(plsIDOf(c.p.sub, c.p.rg, c.p.name), c.p.child,
		connUpdate{Status: st.Status, Description: st.Description, ActionsRequired: st.ActionsRequired}, e.actorOf(c))
	if err != nil {
		writeError(c.w, err)
		return
	}
	writeJSON(c.w, http.StatusOK, body)
}

// hDeleteConnection: long-running (200/202/204, final-state-via location):
// the connection is gone at once, the operation completes per Options.LRO.
func (e *Emulator) hDeleteConnection(c *call) {
	plsID := plsIDOf(c.p.sub, c.p.rg, c.p.name)
	found, err := e.deleteConnection(plsID, c.p.child, e.actorOf(c))
	if err != nil {
		writeError(c.w, err)
		return
	}
	if !found {
		c.w.WriteHeader(http.StatusNoContent)
		return
	}
	e.mu.Lock()
	loc := "eastus"
	if p := e.st.pls[key(plsID)]; p != nil {
		loc = p.Location
	}
	op := e.newOpLocked(famNetwork, c.p.sub, loc, nil, nil)
	e.advanceLocked(op, false)
	e.mu.Unlock()
	e.setLROHeaders(c, op)
	c.w.WriteHeader(http.StatusAccepted)
}

// --- private endpoints ----------------------------------------------------

func (e *Emulator) hGetPE(c *call) {
	id := peIDOf(c.p.sub, c.p.rg, c.p.name)
	e.mu.RLock()
	pe := e.st.pe[key(id)]
	if pe == nil {
		e.mu.RUnlock()
		writeError(c.w, errf(http.StatusNotFound, CodeResourceNotFound,
			"The Resource 'Microsoft.Network/privateEndpoints/%s' under resource group '%s' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix", c.p.name, c.p.rg))
		return
	}
	body := e.st.renderPE(pe)
	e.mu.RUnlock()
	writeJSON(c.w, http.StatusOK, body)
}

func (e *Emulator) hListPEByRG(c *call)           { e.listPE(c, c.p.rg) }
func (e *Emulator) hListPEBySubscription(c *call) { e.listPE(c, "") }

func (e *Emulator) listPE(c *call, rg string) {
	tok, err := readToken(c.r)
	if err != nil {
		writeError(c.w, err)
		return
	}
	e.mu.RLock()
	l := e.st.sortedPEs(c.p.sub, rg)
	start := 0
	if tok.After != "" {
		i, found := slices.BinarySearchFunc(l, tok.After, func(p *PrivateEndpoint, k string) int { return strings.Compare(key(p.ID), k) })
		if found {
			i++
		}
		start = i
	}
	body := page(e, c, l, start, tok, func(hi int) pageToken { return pageToken{After: key(l[hi-1].ID)} }, e.st.renderPE)
	e.mu.RUnlock()
	writeJSON(c.w, http.StatusOK, body)
}

type peLinkBody struct {
	Name       string `json:"name"`
	Properties struct {
		PrivateLinkServiceID              string   `json:"privateLinkServiceId"`
		GroupIDs                          []string `json:"groupIds"`
		RequestMessage                    string   `json:"requestMessage"`
		PrivateLinkServiceConnectionState *struct {
			Status string `json:"status"`
		} `json:"privateLinkServiceConnectionState"`
	} `json:"properties"`
}

type pePutBody struct {
	Location   string            `json:"location"`
	Tags       map[string]string `json:"tags"`
	Properties struct {
		Subnet                              *wireID      `json:"subnet"`
		PrivateLinkServiceConnections       []peLinkBody `json:"privateLinkServiceConnections"`
		ManualPrivateLinkServiceConnections []peLinkBody `json:"manualPrivateLinkServiceConnections"`
	} `json:"properties"`
}

// hPutPE: long-running (final-state-via azure-async-operation). The endpoint
// is provisioned synchronously: 201/200 carries provisioningState Succeeded
// (azcore then stops polling and GETs the resource), plus the headers.
func (e *Emulator) hPutPE(c *call) {
	var b pePutBody
	if err := decodeBody(c.r, &b); err != nil {
		writeError(c.w, err)
		return
	}
	req := peRequest{Sub: c.p.sub, RG: c.p.rg, Name: c.p.name, Location: b.Location, Tags: b.Tags}
	if b.Properties.Subnet != nil {
		req.SubnetID = b.Properties.Subnet.ID
	}
	add := func(ls []peLinkBody, manual bool) {
		for _, l := range ls {
			lr := linkRequest{Name: l.Name, PLS: l.Properties.PrivateLinkServiceID, RequestMessage: l.Properties.RequestMessage, GroupIDs: l.Properties.GroupIDs, Manual: manual}
			if l.Properties.PrivateLinkServiceConnectionState != nil {
				lr.WantStatus = l.Properties.PrivateLinkServiceConnectionState.Status
			}
			req.Links = append(req.Links, lr)
		}
	}
	add(b.Properties.PrivateLinkServiceConnections, false)
	add(b.Properties.ManualPrivateLinkServiceConnections, true)
	body, created, err := e.putPrivateEndpoint(req, e.actorOf(c))
	if err != nil {
		writeError(c.w, err)
		return
	}
	e.mu.Lock()
	op := e.newOpLocked(famNetwork, c.p.sub, body.Location, nil, nil)
	op.done, op.ended = true, time.Now()
	e.mu.Unlock()
	e.setLROHeaders(c, op)
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	writeJSON(c.w, status, body)
}

func (e *Emulator) hDeletePE(c *call) {
	id := peIDOf(c.p.sub, c.p.rg, c.p.name)
	loc := e.deletePrivateEndpoint(id, e.actorOf(c))
	if loc == "" {
		c.w.WriteHeader(http.StatusNoContent)
		return
	}
	e.mu.Lock()
	op := e.newOpLocked(famNetwork, c.p.sub, loc, nil, nil)
	e.advanceLocked(op, false)
	e.mu.Unlock()
	e.setLROHeaders(c, op)
	c.w.WriteHeader(http.StatusAccepted)
}
