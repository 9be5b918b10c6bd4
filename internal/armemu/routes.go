package armemu

import (
	"net/http"
	"net/url"
	"strings"
)

// REST operationIds the emulator counts requests under (Counters keys). Names
// are the operationIds of azure-rest-api-specs (network 2024-05-01
// privateLinkService.json / privateEndpoint.json, webpubsub 2024-03-01,
// resourcegraph); the async-operation endpoints have no operationId in the
// specs and get emulator names.
const (
	OpPLSGet                 = "PrivateLinkServices_Get"
	OpPLSList                = "PrivateLinkServices_List"
	OpPLSListBySubscription  = "PrivateLinkServices_ListBySubscription"
	OpPLSListConnections     = "PrivateLinkServices_ListPrivateEndpointConnections"
	OpPLSGetConnection       = "PrivateLinkServices_GetPrivateEndpointConnection"
	OpPLSUpdateConnection    = "PrivateLinkServices_UpdatePrivateEndpointConnection"
	OpPLSDeleteConnection    = "PrivateLinkServices_DeletePrivateEndpointConnection"
	OpPEGet                  = "PrivateEndpoints_Get"
	OpPECreateOrUpdate       = "PrivateEndpoints_CreateOrUpdate"
	OpPEDelete               = "PrivateEndpoints_Delete"
	OpPEList                 = "PrivateEndpoints_List"
	OpPEListBySubscription   = "PrivateEndpoints_ListBySubscription"
	OpWebPubSubGet           = "WebPubSub_Get"
	OpSharedLinkGet          = "WebPubSubSharedPrivateLinkResources_Get"
	OpSharedLinkList         = "WebPubSubSharedPrivateLinkResources_List"
	OpSharedLinkCreate       = "WebPubSubSharedPrivateLinkResources_CreateOrUpdate"
	OpSharedLinkDelete       = "WebPubSubSharedPrivateLinkResources_Delete"
	OpResourceGraphResources = "Resources"
	// Async operation polling (emulator names).
	OpNetworkOperationStatus = "Network_GetOperationStatus" // Azure-AsyncOperation …/Microsoft.Network/locations/{l}/operations/{id}
	OpNetworkOperationResult = "Network_GetOperationResult" // Location …/Microsoft.Network/locations/{l}/operationResults/{id}
	OpSignalROperationStatus = "SignalRService_GetOperationStatus"
	OpSignalROperationResult = "SignalRService_GetOperationResult"
	OpUnknown                = "Unknown" // no route or method
)

type params struct {
	sub, rg, name, child, loc, opID string
}

type handlerFunc func(e *Emulator, c *call)

type opHandler struct {
	op string
	fn handlerFunc
}

type route struct {
	segs    []string // literal segments lower-cased; "{x}" captures
	family  family
	methods map[string]opHandler
}

func r(path string, f family, m map[string]opHandler) *route {
	segs := strings.Split(strings.Trim(path, "/"), "/")
	for i, s := range segs {
		if !strings.HasPrefix(s, "{") {
			segs[i] = strings.ToLower(s)
		}
	}
	return &route{segs: segs, family: f, methods: m}
}

const (
	rgPrefix  = "/subscriptions/{sub}/resourceGroups/{rg}/providers/"
	subPrefix = "/subscriptions/{sub}/providers/"
)

var routes = []*route{
	r(subPrefix+"Microsoft.Network/privateLinkServices", famNetwork, map[string]opHandler{
		http.MethodGet: {OpPLSListBySubscription, (*Emulator).hListPLSBySubscription}}),
	r(rgPrefix+"Microsoft.Network/privateLinkServices", famNetwork, map[string]opHandler{
		http.MethodGet: {OpPLSList, (*Emulator).hListPLSByRG}}),
	r(rgPrefix+"Microsoft.Network/privateLinkServices/{name}", famNetwork, map[string]opHandler{
		http.MethodGet: {OpPLSGet, (*Emulator).hGetPLS}}),
	r(rgPrefix+"Microsoft.Network/privateLinkServices/{name}/privateEndpointConnections", famNetwork, map[string]opHandler{
		http.MethodGet: {OpPLSListConnections, (*Emulator).hListConnections}}),
	r(rgPrefix+"Microsoft.Network/privateLinkServices/{name}/privateEndpointConnections/{child}", famNetwork, map[string]opHandler{
		http.MethodGet:    {OpPLSGetConnection, (*Emulator).hGetConnection},
		http.MethodPut:    {OpPLSUpdateConnection, (*Emulator).hPutConnection},
		http.MethodDelete: {OpPLSDeleteConnection, (*Emulator).hDeleteConnection}}),
	r(subPrefix+"Microsoft.Network/privateEndpoints", famNetwork, map[string]opHandler{
		http.MethodGet: {OpPEListBySubscription, (*Emulator).hListPEBySubscription}}),
	r(rgPrefix+"Microsoft.Network/privateEndpoints", famNetwork, map[string]opHandler{
		http.MethodGet: {OpPEList, (*Emulator).hListPEByRG}}),
	r(rgPrefix+"Microsoft.Network/privateEndpoints/{name}", famNetwork, map[string]opHandler{
		http.MethodGet:    {OpPEGet, (*Emulator).hGetPE},
		http.MethodPut:    {OpPECreateOrUpdate, (*Emulator).hPutPE},
		http.MethodDelete: {OpPEDelete, (*Emulator).hDeletePE}}),
	r(subPrefix+"Microsoft.Network/locations/{loc}/operations/{opid}", famNetwork, map[string]opHandler{
		http.MethodGet: {OpNetworkOperationStatus, (*Emulator).hOperationStatus}}),
	r(subPrefix+"Microsoft.Network/locations/{loc}/operationResults/{opid}", famNetwork, map[string]opHandler{
		http.MethodGet: {OpNetworkOperationResult, (*Emulator).hOperationResult}}),
	r(rgPrefix+"Microsoft.SignalRService/webPubSub/{name}", famSignalR, map[string]opHandler{
		http.MethodGet: {OpWebPubSubGet, (*Emulator).hGetWebPubSub}}),
	r(rgPrefix+"Microsoft.SignalRService/webPubSub/{name}/sharedPrivateLinkResources", famSignalR, map[string]opHandler{
		http.MethodGet: {OpSharedLinkList, (*Emulator).hListSharedLinks}}),
	r(rgPrefix+"Microsoft.SignalRService/webPubSub/{name}/sharedPrivateLinkResources/{child}", famSignalR, map[string]opHandler{
		http.MethodGet:    {OpSharedLinkGet, (*Emulator).hGetSharedLink},
		http.MethodPut:    {OpSharedLinkCreate, (*Emulator).hPutSharedLink},
		http.MethodDelete: {OpSharedLinkDelete, (*Emulator).hDeleteSharedLink}}),
	r(subPrefix+"Microsoft.SignalRService/locations/{loc}/operationStatuses/{opid}", famSignalR, map[string]opHandler{
		http.MethodGet: {OpSignalROperationStatus, (*Emulator).hOperationStatus}}),
	r(subPrefix+"Microsoft.SignalRService/locations/{loc}/operationResults/{opid}", famSignalR, map[string]opHandler{
		http.MethodGet: {OpSignalROperationResult, (*Emulator).hOperationResult}}),
	r("/providers/Microsoft.ResourceGraph/resources", famGraph, map[string]opHandler{
		http.MethodPost: {OpResourceGraphResources, (*Emulator).hResourceGraph}}),
}

// matchRoute finds the route of an (unescaped) URL path, case-insensitively.
func matchRoute(path string) (*route, params) {
	segs := strings.Split(strings.Trim(path, "/"), "/")
	for _, rt := range routes {
		if len(rt.segs) != len(segs) {
			continue
		}
		var p params
		ok := true
		for i, s := range rt.segs {
			v := segs[i]
			if strings.HasPrefix(s, "{") {
				if uv, err := url.PathUnescape(v); err == nil {
					v = uv
				}
				if v == "" {
					ok = false
					break
				}
				switch s {
				case "{sub}":
					p.sub = v
				case "{rg}":
					p.rg = v
				case "{name}":
					p.name = v
				case "{child}":
					p.child = v
				case "{loc}":
					p.loc = v
				case "{opid}":
					p.opID = v
				}
				continue
			}
			if !strings.EqualFold(s, v) {
				ok = false
				break
			}
		}
		if ok {
			return rt, p
		}
	}
	return nil, params{}
}
