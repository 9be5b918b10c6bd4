package armemu

import (
	"net/http"
)

// Microsoft.SignalRService/webPubSub handlers: the resource (minimal) and its
// sharedPrivateLinkResources. They take the write lock because reading may
// complete a due operation (provisioningState Updating → Succeeded).

func (e *Emulator) wpsNotFound(c *call) *Error {
	return errf(http.StatusNotFound, CodeResourceNotFound,
		"The Resource 'Microsoft.SignalRService/WebPubSub/%s' under resource group '%s' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix", c.p.name, c.p.rg)
}

func (e *Emulator) hGetWebPubSub(c *call) {
	e.mu.Lock()
	ws := e.st.wps[key(wpsIDOf(c.p.sub, c.p.rg, c.p.name))]
	if ws == nil {
		e.mu.Unlock()
		writeError(c.w, e.wpsNotFound(c))
		return
	}
	e.tickSharedLinksLocked(ws)
	body := renderWPS(ws)
	e.mu.Unlock()
	writeJSON(c.w, http.StatusOK, body)
}

func (e *Emulator) hListSharedLinks(c *call) {
	tok, err := readToken(c.r)
	if err != nil {
		writeError(c.w, err)
		return
	}
	e.mu.Lock()
	ws := e.st.wps[key(wpsIDOf(c.p.sub, c.p.rg, c.p.name))]
	if ws == nil {
		e.mu.Unlock()
		writeError(c.w, e.wpsNotFound(c))
		return
	}
	e.tickSharedLinksLocked(ws)
	body := page(e, c, ws.SharedPrivateLinkResources, tok.Offset, tok, func(hi int) pageToken { return pageToken{Offset: hi} },
		func(s *SharedPrivateLinkResource) wireSPL { return renderSPL(ws, s) })
	e.mu.Unlock()
	writeJSON(c.w, http.StatusOK, body)
}

func (e *Emulator) hGetSharedLink(c *call) {
	wpsID := wpsIDOf(c.p.sub, c.p.rg, c.p.name)
	e.mu.Lock()
	ws := e.st.wps[key(wpsID)]
	if ws == nil {
		e.mu.Unlock()
		writeError(c.w, e.wpsNotFound(c))
		return
	}
	_, s := ws.link(c.p.child)
	if s == nil {
		e.mu.Unlock()
		writeError(c.w, notFoundChild(splIDOf(wpsID, c.p.child)))
		return
	}
	if op := e.splOps[key(splIDOf(wpsID, s.Name))]; op != nil {
		e.advanceLocked(op, false)
	}
	body := renderSPL(ws, s)
	e.mu.Unlock()
	writeJSON(c.w, http.StatusOK, body)
}

// splPutBody is the seed's body: {properties:{privateLinkResourceId, fqdns,
// requestMessage}} (+ groupId of the stable API).
type splPutBody struct {
	Properties *struct {
		GroupID               string   `json:"groupId"`
		PrivateLinkResourceID string   `json:"privateLinkResourceId"`
		RequestMessage        string   `json:"requestMessage"`
		Fqdns                 []string `json:"fqdns"`
	} `json:"properties"`
}

// hPutSharedLink answers 201 (or 200) + Azure-AsyncOperation/Location with
// provisioningState Updating; azcore polls operationStatuses/{id} then GETs
// the resource (WebPubSubSharedPrivateLinkResources_CreateOrUpdate example).
func (e *Emulator) hPutSharedLink(c *call) {
	var b splPutBody
	if err := decodeBody(c.r, &b); err != nil {
		writeError(c.w, err)
		return
	}
	if b.Properties == nil {
		writeError(c.w, errf(http.StatusBadRequest, CodeInvalidRequestContent, "properties is required."))
		return
	}
	req := sharedLinkRequest{GroupID: b.Properties.GroupID, PrivateLinkResourceID: b.Properties.PrivateLinkResourceID, RequestMessage: b.Properties.RequestMessage, Fqdns: b.Properties.Fqdns}
	body, created, op, err := e.putSharedLink(wpsIDOf(c.p.sub, c.p.rg, c.p.name), c.p.child, req, e.actorOf(c))
	if err != nil {
		writeError(c.w, err)
		return
	}
	e.setLROHeaders(c, op)
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	writeJSON(c.w, status, body)
}

func (e *Emulator) hDeleteSharedLink(c *call) {
	found, op, err := e.deleteSharedLink(wpsIDOf(c.p.sub, c.p.rg, c.p.name), c.p.child, e.actorOf(c))
	if err != nil {
		writeError(c.w, err)
		return
	}
	if !found {
		c.w.WriteHeader(http.StatusNoContent)
		return
	}
	e.setLROHeaders(c, op)
	c.w.WriteHeader(http.StatusAccepted)
}
