package armemu

import (
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// World is the emulated state: what Seed loads, what World returns and what
// GET /_emulator/state prints. It is the emulator's own compact format, not an
// ARM body: the ARM shapes are rendered from it on every read.
type World struct {
	// Tenants maps a subscription ID to its tenant ID. Subscriptions not listed
	// belong to Options.TenantID; Options.ServiceSubscription belongs to
	// Options.ServiceTenantID. A caller whose token is for another tenant gets
	// 401 InvalidAuthenticationTokenTenant, as ARM answers.
	Tenants             map[string]string     `json:"tenants,omitempty"`
	PrivateLinkServices []*PrivateLinkService `json:"privateLinkServices"`
	PrivateEndpoints    []*PrivateEndpoint    `json:"privateEndpoints,omitempty"`
	WebPubSubs          []*WebPubSub          `json:"webPubSubs,omitempty"`
}

// PrivateLinkService is one Microsoft.Network/privateLinkServices resource.
// Either ID or SubscriptionID+ResourceGroup+Name may be given; the other is derived.
type PrivateLinkService struct {
	ID             string            `json:"id,omitempty"`
	SubscriptionID string            `json:"subscriptionId,omitempty"`
	ResourceGroup  string            `json:"resourceGroup,omitempty"`
	Name           string            `json:"name,omitempty"`
	Location       string            `json:"location,omitempty"` // default "eastus"
	Tags           map[string]string `json:"tags,omitempty"`
	// Visibility and AutoApproval are subscription IDs; "*" in Visibility = anyone.
	Visibility          []string      `json:"visibility,omitempty"`
	AutoApproval        []string      `json:"autoApproval,omitempty"`
	Fqdns               []string      `json:"fqdns,omitempty"`
	Alias               string        `json:"alias,omitempty"` // default "{name}.{guid}.{location}.azure.privatelinkservice"
	EnableProxyProtocol bool          `json:"enableProxyProtocol,omitempty"`
	ProvisioningState   string        `json:"provisioningState,omitempty"` // default "Succeeded"
	ETag                string        `json:"etag,omitempty"`              // "" = derived from the ID until the first write
	Connections         []*Connection `json:"connections,omitempty"`
}

// Connection is one privateEndpointConnection of a PLS.
type Connection struct {
	Name                    string `json:"name"`
	PrivateEndpointID       string `json:"privateEndpointId,omitempty"`
	PrivateEndpointLocation string `json:"privateEndpointLocation,omitempty"`
	Status                  string `json:"status,omitempty"` // Pending (default) | Approved | Rejected | Disconnected
	Description             string `json:"description,omitempty"`
	ActionsRequired         string `json:"actionsRequired,omitempty"` // default "None"
	LinkIdentifier          string `json:"linkIdentifier,omitempty"`
	ProvisioningState       string `json:"provisioningState,omitempty"` // default "Succeeded"
	ETag                    string `json:"etag,omitempty"`
	// SharedPrivateLinkResourceID is set when a Web PubSub shared private link
	// resource requested this connection: its status follows this connection.
	SharedPrivateLinkResourceID string `json:"sharedPrivateLinkResourceId,omitempty"`
}

// PrivateEndpoint is a consumer's Microsoft.Network/privateEndpoints resource.
type PrivateEndpoint struct {
	ID             string                 `json:"id,omitempty"`
	SubscriptionID string                 `json:"subscriptionId,omitempty"`
	ResourceGroup  string                 `json:"resourceGroup,omitempty"`
	Name           string                 `json:"name,omitempty"`
	Location       string                 `json:"location,omitempty"`
	Tags           map[string]string      `json:"tags,omitempty"`
	SubnetID       string                 `json:"subnetId,omitempty"`
	ETag           string                 `json:"etag,omitempty"`
	Links          []*PrivateEndpointLink `json:"links,omitempty"`
}

// PrivateEndpointLink is one entry of privateLinkServiceConnections (Manual
// false: the auto-approval path) or manualPrivateLinkServiceConnections.
type PrivateEndpointLink struct {
	Name                 string   `json:"name"`
	Manual               bool     `json:"manual,omitempty"`
	PrivateLinkServiceID string   `json:"privateLinkServiceId"`
	RequestMessage       string   `json:"requestMessage,omitempty"`
	GroupIDs             []string `json:"groupIds,omitempty"`
	// ConnectionName is the connection this link created on the PLS.
	ConnectionName string `json:"connectionName,omitempty"`
}

// WebPubSub is a Microsoft.SignalRService/WebPubSub resource (only what the
// shared private link flow needs).
type WebPubSub struct {
	ID                         string                       `json:"id,omitempty"`
	SubscriptionID             string                       `json:"subscriptionId,omitempty"`
	ResourceGroup              string                       `json:"resourceGroup,omitempty"`
	Name                       string                       `json:"name,omitempty"`
	Location                   string                       `json:"location,omitempty"`
	Tags                       map[string]string            `json:"tags,omitempty"`
	SharedPrivateLinkResources []*SharedPrivateLinkResource `json:"sharedPrivateLinkResources,omitempty"`
}

// SharedPrivateLinkResource is a Web PubSub shared private link resource.
type SharedPrivateLinkResource struct {
	Name                  string   `json:"name"`
	GroupID               string   `json:"groupId,omitempty"`
	PrivateLinkResourceID string   `json:"privateLinkResourceId"`
	RequestMessage        string   `json:"requestMessage,omitempty"`
	Fqdns                 []string `json:"fqdns,omitempty"`
	Status                string   `json:"status,omitempty"`            // Pending|Approved|Rejected|Disconnected|Timeout
	ProvisioningState     string   `json:"provisioningState,omitempty"` // Updating until its operation completes
	// ConnectionName and PrivateEndpointID name the connection the service
	// requested on the target PLS from its managed subscription.
	ConnectionName    string `json:"connectionName,omitempty"`
	PrivateEndpointID string `json:"privateEndpointId,omitempty"`
	// CreatedAt is answered as systemData.createdAt; set when the emulator
	// creates the resource. A seeded one without it is answered without
	// systemData (as a client must expect: the field is optional).
	CreatedAt time.Time `json:"createdAt,omitzero"`
}

// LoadWorld reads a World from a JSON file.
func LoadWorld(path string) (World, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return World{}, fmt.Errorf("load world: %w", err)
	}
	w, err := DecodeWorld(data)
	if err != nil {
		return World{}, fmt.Errorf("load world %s: %w", path, err)
	}
	return w, nil
}

// DecodeWorld parses a World from JSON, rejecting unknown fields (a typo in a
// seed file should not silently produce an empty world).
func DecodeWorld(data []byte) (World, error) {
	var w World
	dec := json.NewDecoder(strings.NewReader(string(data)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&w); err != nil {
		return World{}, fmt.Errorf("decode world: %w", err)
	}
	return w, nil
}

// GenerateWorld builds a world for benchmarks: nPLS private link services
// spread round-robin over subs (default one fixed subscription), 100 per
// resource group, each with connsPerPLS connections from consumer private
// endpoints; every pendingEvery-th connection (counted across the world) is
// Pending, the others Approved (pendingEvery <= 0: none Pending). Names are
// zero-padded so list order is creation order. ETags are left empty (derived
// on read) to keep 10,000 × 5 cheap.
func GenerateWorld(nPLS, connsPerPLS, pendingEvery int, subs []string) World {
	if len(subs) == 0 {
		subs = []string{"00000000-0000-0000-0000-0000000000a1"}
	}
	const consumerSub = "00000000-0000-0000-0000-0000000000c1"
	w := World{PrivateLinkServices: make([]*PrivateLinkService, 0, nPLS)}
	k := 0
	for i := range nPLS {
		name := fmt.Sprintf("pls-%05d", i)
		p := &PrivateLinkService{
			SubscriptionID: subs[i%len(subs)],
			ResourceGroup:  fmt.Sprintf("rg-%03d", i/100),
			Name:           name,
			Location:       "eastus",
			Tags:           map[string]string{"plsgate": "enabled"},
			Visibility:     []string{"*"},
			Fqdns:          []string{name + ".contoso.example"},
			Alias:          name + "." + fakeGUID(uint64(i)) + ".eastus.azure.privatelinkservice",
			Connections:    make([]*Connection, 0, connsPerPLS),
		}
		for j := range connsPerPLS {
			pe := fmt.Sprintf("pe-%05d-%d", i, j)
			status, desc := "Approved", "approved"
			if pendingEvery > 0 && k%pendingEvery == 0 {
				status, desc = "Pending", "please approve"
			}
			k++
			p.Connections = append(p.Connections, &Connection{
				Name:                    pe + "." + fakeGUID(uint64(i)<<8|uint64(j)),
				PrivateEndpointID:       peIDOf(consumerSub, "consumer-rg", pe),
				PrivateEndpointLocation: "eastus",
				Status:                  status,
				Description:             desc,
				LinkIdentifier:          strconv.FormatUint(uint64(536870912+i*16+j), 10),
			})
		}
		w.PrivateLinkServices = append(w.PrivateLinkServices, p)
	}
	return w
}

// fakeGUID formats n as a GUID-shaped string (deterministic, cheap).
func fakeGUID(n uint64) string {
	x := n*0x9E3779B97F4A7C15 ^ 0x5851F42D4C957F2D
	y := (n + 1) * 0xC2B2AE3D27D4EB4F
	return fmt.Sprintf("%08x-%04x-4%03x-8%03x-%012x", uint32(x>>32), uint16(x>>16), uint16(x)&0xfff, uint16(y>>48)&0xfff, y&0xffffffffffff)
}

// clone returns a deep copy (the emulator never shares pointers with callers).
func (w World) clone() World {
	out := World{}
	if w.Tenants != nil {
		out.Tenants = make(map[string]string, len(w.Tenants))
		for k, v := range w.Tenants {
			out.Tenants[k] = v
		}
	}
	out.PrivateLinkServices = make([]*PrivateLinkService, 0, len(w.PrivateLinkServices))
	for _, p := range w.PrivateLinkServices {
		if p != nil {
			out.PrivateLinkServices = append(out.PrivateLinkServices, p.clone())
		}
	}
	for _, pe := range w.PrivateEndpoints {
		if pe != nil {
			out.PrivateEndpoints = append(out.PrivateEndpoints, pe.clone())
		}
	}
	for _, ws := range w.WebPubSubs {
		if ws != nil {
			out.WebPubSubs = append(out.WebPubSubs, ws.clone())
		}
	}
	return out
}

func (p *PrivateLinkService) clone() *PrivateLinkService {
	c := *p
	c.Tags = cloneMap(p.Tags)
	c.Visibility = cloneStrings(p.Visibility)
	c.AutoApproval = cloneStrings(p.AutoApproval)
	c.Fqdns = cloneStrings(p.Fqdns)
	c.Connections = make([]*Connection, 0, len(p.Connections))
	for _, cn := range p.Connections {
		if cn != nil {
			cc := *cn
			c.Connections = append(c.Connections, &cc)
		}
	}
	return &c
}

func (pe *PrivateEndpoint) clone() *PrivateEndpoint {
	c := *pe
	c.Tags = cloneMap(pe.Tags)
	c.Links = make([]*PrivateEndpointLink, 0, len(pe.Links))
	for _, l := range pe.Links {
		if l != nil {
			lc := *l
			lc.GroupIDs = cloneStrings(l.GroupIDs)
			c.Links = append(c.Links, &lc)
		}
	}
	return &c
}

func (ws *WebPubSub) clone() *WebPubSub {
	c := *ws
	c.Tags = cloneMap(ws.Tags)
	c.SharedPrivateLinkResources = make([]*SharedPrivateLinkResource, 0, len(ws.SharedPrivateLinkResources))
	for _, s := range ws.SharedPrivateLinkResources {
		if s != nil {
			sc := *s
			sc.Fqdns = cloneStrings(s.Fqdns)
			c.SharedPrivateLinkResources = append(c.SharedPrivateLinkResources, &sc)
		}
	}
	return &c
}

func cloneMap(m map[string]string) map[string]string {
	if m == nil {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func cloneStrings(s []string) []string {
	if s == nil {
		return nil
	}
	return append([]string(nil), s...)
}

// normalize fills derived fields and validates one PLS (ID ⇔ parts, defaults).
// normalizeTop resolves a top-level resource's identity from its ID or from
// subscription + resource group + name, and defaults its location.
func normalizeTop(id, sub, rg, name, location *string, what, typ string, idOf func(sub, rg, name string) string) error {
	if *id != "" {
		r, err := parseResourceID(*id)
		if err != nil || r.ChildType != "" || !strings.EqualFold(r.Namespace+"/"+r.Type, typ) {
			return fmt.Errorf("%s id %q is not a %s ID", what, *id, typ)
		}
		*sub, *rg, *name = r.Sub, r.RG, r.Name
	}
	if *sub == "" || *rg == "" || *name == "" {
		return fmt.Errorf("%s %q: id or subscriptionId+resourceGroup+name required", what, *id)
	}
	*id = idOf(*sub, *rg, *name)
	if *location == "" {
		*location = "eastus"
	}
	return nil
}

func (p *PrivateLinkService) normalize() error {
	if err := normalizeTop(&p.ID, &p.SubscriptionID, &p.ResourceGroup, &p.Name, &p.Location, "private link service", typePLS, plsIDOf); err != nil {
		return err
	}
	if p.ProvisioningState == "" {
		p.ProvisioningState = "Succeeded"
	}
	if p.Alias == "" {
		p.Alias = p.Name + "." + derivedETag(p.ID)[3:39] + "." + strings.ToLower(p.Location) + ".azure.privatelinkservice"
	}
	seen := make(map[string]bool, len(p.Connections))
	kept := p.Connections[:0]
	for _, c := range p.Connections {
		if c == nil {
			continue
		}
		if c.Name == "" {
			return fmt.Errorf("private link service %s: connection without a name", p.ID)
		}
		lk := strings.ToLower(c.Name)
		if seen[lk] {
			return fmt.Errorf("private link service %s: duplicate connection %q", p.ID, c.Name)
		}
		seen[lk] = true
		if c.Status == "" {
			c.Status = "Pending"
		}
		if c.ActionsRequired == "" {
			c.ActionsRequired = "None"
		}
		if c.ProvisioningState == "" {
			c.ProvisioningState = "Succeeded"
		}
		if c.PrivateEndpointLocation == "" {
			c.PrivateEndpointLocation = p.Location
		}
		kept = append(kept, c)
	}
	p.Connections = kept
	return nil
}

func (pe *PrivateEndpoint) normalize() error {
	if err := normalizeTop(&pe.ID, &pe.SubscriptionID, &pe.ResourceGroup, &pe.Name, &pe.Location, "private endpoint", typePE, peIDOf); err != nil {
		return err
	}
	kept := pe.Links[:0]
	for _, l := range pe.Links {
		if l != nil {
			kept = append(kept, l)
		}
	}
	pe.Links = kept
	return nil
}

func (ws *WebPubSub) normalize() error {
	if err := normalizeTop(&ws.ID, &ws.SubscriptionID, &ws.ResourceGroup, &ws.Name, &ws.Location, "web pubsub", typeWebPubSub, wpsIDOf); err != nil {
		return err
	}
	kept := ws.SharedPrivateLinkResources[:0]
	for _, s := range ws.SharedPrivateLinkResources {
		if s == nil {
			continue
		}
		if s.Name == "" {
			return fmt.Errorf("web pubsub %s: shared private link resource without a name", ws.ID)
		}
		if s.ProvisioningState == "" {
			s.ProvisioningState = "Succeeded"
		}
		if s.Status == "" {
			s.Status = "Pending"
		}
		kept = append(kept, s)
	}
	ws.SharedPrivateLinkResources = kept
	return nil
}
