package armemu

import (
	"strings"
	"time"
)

// ARM wire shapes. Field names follow azure-rest-api-specs
// network/stable/2024-05-01 privateLinkService.json + examples
// PrivateLinkServiceGet.json, PrivateLinkServiceListPrivateEndpointConnection.json,
// PrivateLinkServiceUpdatePrivateEndpointConnection.json,
// PrivateEndpointCreateForManualApproval.json, and the JSON (un)marshalers of
// armnetwork/v7 v7.2.0 models_serde.go (PrivateLinkServiceProperties,
// PrivateEndpointConnectionProperties incl. linkIdentifier and
// privateEndpointLocation); webpubsub examples
// WebPubSubSharedPrivateLinkResources_{Get,CreateOrUpdate}.json and
// armwebpubsub v1.3.0 SharedPrivateLinkResourceProperties (+ "fqdns" of the
// 2024-08-01-preview the seed uses; older clients ignore it).

type wireID struct {
	ID string `json:"id"`
}

type wireSubs struct {
	Subscriptions []string `json:"subscriptions"`
}

type wireState struct {
	Status          string `json:"status"`
	Description     string `json:"description"`
	ActionsRequired string `json:"actionsRequired"`
}

type wireConn struct {
	ID         string        `json:"id"`
	Name       string        `json:"name"`
	Type       string        `json:"type"`
	Etag       string        `json:"etag"`
	Properties wireConnProps `json:"properties"`
}

type wireConnProps struct {
	ProvisioningState                 string    `json:"provisioningState"`
	PrivateEndpoint                   *wireID   `json:"privateEndpoint,omitempty"`
	PrivateLinkServiceConnectionState wireState `json:"privateLinkServiceConnectionState"`
	LinkIdentifier                    string    `json:"linkIdentifier,omitempty"`
	PrivateEndpointLocation           string    `json:"privateEndpointLocation,omitempty"`
}

type wireIPConfig struct {
	Name       string             `json:"name"`
	ID         string             `json:"id"`
	Properties wireIPConfigFields `json:"properties"`
}

type wireIPConfigFields struct {
	ProvisioningState         string `json:"provisioningState"`
	PrivateIPAllocationMethod string `json:"privateIPAllocationMethod"`
	PrivateIPAddressVersion   string `json:"privateIPAddressVersion"`
	Primary                   bool   `json:"primary"`
	Subnet                    wireID `json:"subnet"`
}

type wirePLS struct {
	ID         string            `json:"id"`
	Name       string            `json:"name"`
	Type       string            `json:"type"`
	Location   string            `json:"location"`
	Etag       string            `json:"etag"`
	Tags       map[string]string `json:"tags,omitempty"`
	Properties wirePLSProps      `json:"properties"`
}

type wirePLSProps struct {
	ProvisioningState                    string         `json:"provisioningState"`
	Visibility                           wireSubs       `json:"visibility"`
	AutoApproval                         wireSubs       `json:"autoApproval"`
	Fqdns                                []string       `json:"fqdns"`
	Alias                                string         `json:"alias,omitempty"`
	EnableProxyProtocol                  bool           `json:"enableProxyProtocol"`
	LoadBalancerFrontendIPConfigurations []wireID       `json:"loadBalancerFrontendIpConfigurations"`
	IPConfigurations                     []wireIPConfig `json:"ipConfigurations"`
	NetworkInterfaces                    []wireID       `json:"networkInterfaces"`
	PrivateEndpointConnections           []wireConn     `json:"privateEndpointConnections"`
}

type wireList[T any] struct {
	Value    []T    `json:"value"`
	NextLink string `json:"nextLink,omitempty"`
}

func orEmpty(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func etagOr(etag, id string) string {
	if etag != "" {
		return etag
	}
	return derivedETag(id)
}

func renderConn(p *PrivateLinkService, c *Connection) wireConn {
	id := connIDOf(p.ID, c.Name)
	w := wireConn{
		ID:   id,
		Name: c.Name,
		Type: typePLSConn,
		Etag: etagOr(c.ETag, id),
		Properties: wireConnProps{
			ProvisioningState: c.ProvisioningState,
			PrivateLinkServiceConnectionState: wireState{
				Status:          c.Status,
				Description:     c.Description,
				ActionsRequired: c.ActionsRequired,
			},
			LinkIdentifier:          c.LinkIdentifier,
			PrivateEndpointLocation: c.PrivateEndpointLocation,
		},
	}
	if c.PrivateEndpointID != "" {
		w.Properties.PrivateEndpoint = &wireID{ID: c.PrivateEndpointID}
	}
	return w
}

func renderPLS(p *PrivateLinkService) wirePLS {
	lb := "/subscriptions/" + p.SubscriptionID + "/resourceGroups/" + p.ResourceGroup + "/providers/Microsoft.Network/loadBalancers/" + p.Name + "-lb"
	vnet := "/subscriptions/" + p.SubscriptionID + "/resourceGroups/" + p.ResourceGroup + "/providers/Microsoft.Network/virtualNetworks/" + p.Name + "-vnet/subnets/default"
	conns := make([]wireConn, len(p.Connections))
	for i, c := range p.Connections {
		conns[i] = renderConn(p, c)
	}
	return wirePLS{
		ID:       p.ID,
		Name:     p.Name,
		Type:     typePLS,
		Location: p.Location,
		Etag:     etagOr(p.ETag, p.ID),
		Tags:     p.Tags,
		Properties: wirePLSProps{
			ProvisioningState:                    p.ProvisioningState,
			Visibility:                           wireSubs{Subscriptions: orEmpty(p.Visibility)},
			AutoApproval:                         wireSubs{Subscriptions: orEmpty(p.AutoApproval)},
			Fqdns:                                orEmpty(p.Fqdns),
			Alias:                                p.Alias,
			EnableProxyProtocol:                  p.EnableProxyProtocol,
			LoadBalancerFrontendIPConfigurations: []wireID{{ID: lb + "/frontendIPConfigurations/frontend"}},
			IPConfigurations: []wireIPConfig{{
				Name: "ipconfig1",
				ID:   p.ID + "/ipConfigurations/ipconfig1",
				Properties: wireIPConfigFields{
					ProvisioningState:         "Succeeded",
					PrivateIPAllocationMethod: "Dynamic",
					PrivateIPAddressVersion:   "IPv4",
					Primary:                   true,
					Subnet:                    wireID{ID: vnet},
				},
			}},
			NetworkInterfaces:          []wireID{{ID: "/subscriptions/" + p.SubscriptionID + "/resourceGroups/" + p.ResourceGroup + "/providers/Microsoft.Network/networkInterfaces/" + p.Name + ".nic." + strings.ToLower(derivedETag(p.ID)[3:11])}},
			PrivateEndpointConnections: conns,
		},
	}
}

// --- private endpoints ----------------------------------------------------

type wirePELink struct {
	ID         string          `json:"id"`
	Name       string          `json:"name"`
	Type       string          `json:"type"`
	Etag       string          `json:"etag"`
	Properties wirePELinkProps `json:"properties"`
}

type wirePELinkProps struct {
	ProvisioningState                 string    `json:"provisioningState"`
	PrivateLinkServiceID              string    `json:"privateLinkServiceId"`
	GroupIDs                          []string  `json:"groupIds"`
	RequestMessage                    string    `json:"requestMessage,omitempty"`
	PrivateLinkServiceConnectionState wireState `json:"privateLinkServiceConnectionState"`
}

type wirePE struct {
	ID         string            `json:"id"`
	Name       string            `json:"name"`
	Type       string            `json:"type"`
	Location   string            `json:"location"`
	Etag       string            `json:"etag"`
	Tags       map[string]string `json:"tags,omitempty"`
	Properties wirePEProps       `json:"properties"`
}

type wirePEProps struct {
	ProvisioningState                   string       `json:"provisioningState"`
	PrivateLinkServiceConnections       []wirePELink `json:"privateLinkServiceConnections"`
	ManualPrivateLinkServiceConnections []wirePELink `json:"manualPrivateLinkServiceConnections"`
	Subnet                              wireID       `json:"subnet"`
	NetworkInterfaces                   []wireID     `json:"networkInterfaces"`
	CustomDNSConfigs                    []any        `json:"customDnsConfigs"`
	IPConfigurations                    []any        `json:"ipConfigurations"`
	ApplicationSecurityGroups           []any        `json:"applicationSecurityGroups"`
}

// renderPE mirrors each link's state from the connection on the PLS (the
// consumer sees the provider's decision); a vanished connection reads as
// Disconnected.
func (s *store) renderPE(pe *PrivateEndpoint) wirePE {
	w := wirePE{
		ID:       pe.ID,
		Name:     pe.Name,
		Type:     typePE,
		Location: pe.Location,
		Etag:     etagOr(pe.ETag, pe.ID),
		Tags:     pe.Tags,
		Properties: wirePEProps{
			ProvisioningState:                   "Succeeded",
			PrivateLinkServiceConnections:       []wirePELink{},
			ManualPrivateLinkServiceConnections: []wirePELink{},
			Subnet:                              wireID{ID: pe.SubnetID},
			NetworkInterfaces:                   []wireID{{ID: "/subscriptions/" + pe.SubscriptionID + "/resourceGroups/" + pe.ResourceGroup + "/providers/Microsoft.Network/networkInterfaces/" + pe.Name + ".nic." + strings.ToLower(derivedETag(pe.ID)[3:11])}},
			CustomDNSConfigs:                    []any{},
			IPConfigurations:                    []any{},
			ApplicationSecurityGroups:           []any{},
		},
	}
	if w.Properties.Subnet.ID == "" {
		w.Properties.Subnet.ID = "/subscriptions/" + pe.SubscriptionID + "/resourceGroups/" + pe.ResourceGroup + "/providers/Microsoft.Network/virtualNetworks/" + pe.ResourceGroup + "-vnet/subnets/default"
	}
	for _, l := range pe.Links {
		st := wireState{Status: "Disconnected", Description: "The private link service connection was removed.", ActionsRequired: "None"}
		plsID := l.PrivateLinkServiceID
		if p := s.lookupPLS(l.PrivateLinkServiceID); p != nil {
			plsID = p.ID
			if _, c := p.conn(l.ConnectionName); c != nil {
				st = wireState{Status: c.Status, Description: c.Description, ActionsRequired: c.ActionsRequired}
			}
		}
		kind, typ := "privateLinkServiceConnections", typePELink
		if l.Manual {
			kind, typ = "manualPrivateLinkServiceConnections", typePEManual
		}
		id := pe.ID + "/" + kind + "/" + l.Name
		wl := wirePELink{
			ID:   id,
			Name: l.Name,
			Type: typ,
			Etag: etagOr(pe.ETag, id),
			Properties: wirePELinkProps{
				ProvisioningState:                 "Succeeded",
				PrivateLinkServiceID:              plsID,
				GroupIDs:                          orEmpty(l.GroupIDs),
				RequestMessage:                    l.RequestMessage,
				PrivateLinkServiceConnectionState: st,
			},
		}
		if l.Manual {
			w.Properties.ManualPrivateLinkServiceConnections = append(w.Properties.ManualPrivateLinkServiceConnections, wl)
		} else {
			w.Properties.PrivateLinkServiceConnections = append(w.Properties.PrivateLinkServiceConnections, wl)
		}
	}
	return w
}

// --- web pubsub -----------------------------------------------------------

type wireSPL struct {
	ID         string          `json:"id"`
	Name       string          `json:"name"`
	Type       string          `json:"type"`
	Properties wireSPLProps    `json:"properties"`
	SystemData *wireSystemData `json:"systemData,omitempty"`
}

// wireSystemData is ARM's read-only systemData of a resource
// (azure-rest-api-specs common-types/resource-management/v5/types.json
// #/definitions/systemData: createdBy, createdByType, createdAt,
// lastModifiedBy, lastModifiedByType, lastModifiedAt — every field optional).
// The emulator answers createdAt, which tells a re-created resource apart.
type wireSystemData struct {
	CreatedAt time.Time `json:"createdAt"`
}

type wireSPLProps struct {
	GroupID               string   `json:"groupId,omitempty"`
	PrivateLinkResourceID string   `json:"privateLinkResourceId"`
	ProvisioningState     string   `json:"provisioningState"`
	RequestMessage        string   `json:"requestMessage,omitempty"`
	Status                string   `json:"status"`
	Fqdns                 []string `json:"fqdns,omitempty"`
}

type wireSku struct {
	Name     string `json:"name"`
	Tier     string `json:"tier"`
	Size     string `json:"size"`
	Capacity int    `json:"capacity"`
}

type wireWPS struct {
	ID         string            `json:"id"`
	Name       string            `json:"name"`
	Type       string            `json:"type"`
	Location   string            `json:"location"`
	Kind       string            `json:"kind"`
	Tags       map[string]string `json:"tags,omitempty"`
	Sku        wireSku           `json:"sku"`
	Properties wireWPSProps      `json:"properties"`
}

type wireWPSProps struct {
	ProvisioningState          string    `json:"provisioningState"`
	HostName                   string    `json:"hostName"`
	PublicPort                 int       `json:"publicPort"`
	ServerPort                 int       `json:"serverPort"`
	Version                    string    `json:"version"`
	PublicNetworkAccess        string    `json:"publicNetworkAccess"`
	PrivateEndpointConnections []any     `json:"privateEndpointConnections"`
	SharedPrivateLinkResources []wireSPL `json:"sharedPrivateLinkResources"`
}

func renderSPL(ws *WebPubSub, s *SharedPrivateLinkResource) wireSPL {
	var sd *wireSystemData
	if !s.CreatedAt.IsZero() {
		sd = &wireSystemData{CreatedAt: s.CreatedAt.UTC()}
	}
	return wireSPL{
		SystemData: sd,
		ID:         splIDOf(ws.ID, s.Name),
		Name:       s.Name,
		Type:       typeSharedLink,
		Properties: wireSPLProps{
			GroupID:               s.GroupID,
			PrivateLinkResourceID: s.PrivateLinkResourceID,
			ProvisioningState:     s.ProvisioningState,
			RequestMessage:        s.RequestMessage,
			Status:                s.Status,
			Fqdns:                 s.Fqdns,
		},
	}
}

func renderWPS(ws *WebPubSub) wireWPS {
	spls := make([]wireSPL, len(ws.SharedPrivateLinkResources))
	for i, s := range ws.SharedPrivateLinkResources {
		spls[i] = renderSPL(ws, s)
	}
	return wireWPS{
		ID:       ws.ID,
		Name:     ws.Name,
		Type:     typeWebPubSub,
		Location: ws.Location,
		Kind:     "WebPubSub",
		Tags:     ws.Tags,
		Sku:      wireSku{Name: "Premium_P1", Tier: "Premium", Size: "P1", Capacity: 1},
		Properties: wireWPSProps{
			ProvisioningState:          "Succeeded",
			HostName:                   strings.ToLower(ws.Name) + ".webpubsub.azure.com",
			PublicPort:                 443,
			ServerPort:                 443,
			Version:                    "1.0",
			PublicNetworkAccess:        "Enabled",
			PrivateEndpointConnections: []any{},
			SharedPrivateLinkResources: spls,
		},
	}
}
