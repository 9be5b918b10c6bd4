package policy

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/plsgate/plsgate/internal/resource"
)

// FactsFromARM builds Facts from ARM REST JSON, so users can paste what the REST API or
// `az` prints. Both the REST shape (fields under "properties") and the flattened shape of
// the az CLI are accepted.
//
// connectionJSON may be:
//   - a private endpoint connection object;
//   - a JSON string naming a connection (its name or full ID), looked up in the PLS's
//     privateEndpointConnections;
//   - a private link service object (then plsJSON must be empty) or an ARM list
//     ({"value": [...]}): the connection is its only connection;
//   - empty: the only connection of the PLS.
//
// plsJSON is optional: a private link service as returned by GET (tags, location,
// visibility, autoApproval, fqdns, alias, privateEndpointConnections), or another resource
// whose owner approves private endpoint connections (a storage account, a key vault: any
// object with privateEndpointConnections, a registered type or the ID of one). Without it
// the resource's ID, type, name, subscription and resource group come from the connection
// ID. Facts.Resource holds the resource; Facts.PLS too when it is a PLS. The requester
// subscription and resource group come from properties.privateEndpoint.id. Verified,
// Requester.TenantID and Now are left for the caller: ARM does not carry them.
func FactsFromARM(connectionJSON, plsJSON []byte) (Facts, error) {
	var pls *armPLS
	if len(bytes.TrimSpace(plsJSON)) > 0 {
		in, err := parseARM(plsJSON)
		if err != nil {
			return Facts{}, fmt.Errorf("read private link service JSON: %w", err)
		}
		if in.pls == nil {
			return Facts{}, errors.New("read private link service JSON: it is not a private link service nor another resource with private endpoint connections (no privateEndpointConnections, and neither its type nor its id is of a kind plsgate manages)")
		}
		pls = in.pls
	}
	in, err := parseARM(connectionJSON)
	if err != nil {
		return Facts{}, fmt.Errorf("read connection JSON: %w", err)
	}
	conn := in.conn
	if conn == nil {
		cands := in.list
		switch {
		case in.pls != nil && pls != nil:
			return Facts{}, errors.New("both inputs are private link services: give a connection (or its name) and the PLS")
		case in.pls != nil:
			pls = in.pls
		}
		if cands == nil && pls != nil {
			cands = pls.props().PrivateEndpointConnections
		}
		if cands == nil && pls == nil {
			if in.ref != "" {
				return Facts{}, fmt.Errorf("connection %q: a name or ID needs the private link service JSON to look it up", in.ref)
			}
			return Facts{}, errors.New("no connection given")
		}
		if conn, err = pick(cands, in.ref); err != nil {
			return Facts{}, err
		}
	}
	return conn.facts(pls)
}

// armInput is what one JSON input turned out to be.
type armInput struct {
	conn *armConnection
	pls  *armPLS
	list []armConnection
	ref  string // a connection name or ID
}

func parseARM(data []byte) (armInput, error) {
	data = bytes.TrimSpace(data)
	if len(data) == 0 {
		return armInput{}, nil
	}
	switch data[0] {
	case '"':
		var s string
		if err := json.Unmarshal(data, &s); err != nil {
			return armInput{}, err
		}
		return armInput{ref: strings.TrimSpace(s)}, nil
	case '[':
		var list []armConnection
		if err := json.Unmarshal(data, &list); err != nil {
			return armInput{}, err
		}
		return armInput{list: list}, nil
	case '{':
	default:
		return armInput{}, errors.New("want a JSON object, or a JSON string with a connection name")
	}
	var keys map[string]json.RawMessage
	if err := json.Unmarshal(data, &keys); err != nil {
		return armInput{}, err
	}
	if v, ok := keys["value"]; ok && keys["id"] == nil {
		var list []armConnection
		if err := json.Unmarshal(v, &list); err != nil {
			return armInput{}, fmt.Errorf("value: %w", err)
		}
		return armInput{list: list}, nil
	}
	var probe struct {
		ID         string `json:"id"`
		Type       string `json:"type"`
		Properties map[string]json.RawMessage
		armPLSProps
	}
	if err := json.Unmarshal(data, &probe); err != nil {
		return armInput{}, err
	}
	_, nested := probe.Properties["privateEndpointConnections"]
	isResource := nested || probe.PrivateEndpointConnections != nil || managedType(probe.Type) || managedResourceID(probe.ID)
	if isResource {
		var p armPLS
		if err := json.Unmarshal(data, &p); err != nil {
			return armInput{}, err
		}
		return armInput{pls: &p}, nil
	}
	var c armConnection
	if err := json.Unmarshal(data, &c); err != nil {
		return armInput{}, err
	}
	return armInput{conn: &c}, nil
}

func pick(cands []armConnection, ref string) (*armConnection, error) {
	names := make([]string, 0, len(cands))
	for i := range cands {
		c := &cands[i]
		if ref != "" && (strings.EqualFold(c.name(), ref) || strings.HasPrefix(ref, "/") && sameID(c.ID, ref)) {
			return c, nil
		}
		names = append(names, c.name())
	}
	list := strings.Join(names, ", ")
	if len(names) > 10 {
		list = strings.Join(names[:10], ", ") + fmt.Sprintf(", ... (%d in all)", len(names))
	}
	switch {
	case ref != "":
		return nil, fmt.Errorf("connection %q not found among the PLS's connections [%s]", ref, list)
	case len(cands) == 1:
		return &cands[0], nil
	case len(cands) == 0:
		return nil, errors.New("the private link service has no privateEndpointConnections")
	}
	return nil, fmt.Errorf("the private link service has %d connections: name one of [%s]", len(cands), list)
}

// flexString reads a JSON string or number (linkIdentifier is a string in the REST spec
// but a number in some tools' output).
type flexString string

func (s *flexString) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case bytes.Equal(b, []byte("null")):
		return nil
	case len(b) > 0 && b[0] == '"':
		var v string
		err := json.Unmarshal(b, &v)
		*s = flexString(v)
		return err
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return fmt.Errorf("want a string or a number: %w", err)
	}
	*s = flexString(n.String())
	return nil
}

type armRef struct {
	ID string `json:"id"`
}

type armState struct {
	Status          string `json:"status"`
	Description     string `json:"description"`
	ActionsRequired string `json:"actionsRequired"`
}

type armConnectionProps struct {
	PrivateEndpoint         *armRef    `json:"privateEndpoint"`
	State                   *armState  `json:"privateLinkServiceConnectionState"`
	LinkIdentifier          flexString `json:"linkIdentifier"`
	PrivateEndpointLocation string     `json:"privateEndpointLocation"`
}

// armConnection is a private endpoint connection; the embedded props catch the flattened
// az CLI shape, Properties the REST one.
type armConnection struct {
	ID         string              `json:"id"`
	Name       string              `json:"name"`
	Properties *armConnectionProps `json:"properties"`
	armConnectionProps
}

func (c *armConnection) props() armConnectionProps {
	p := c.armConnectionProps
	if q := c.Properties; q != nil {
		if q.PrivateEndpoint != nil {
			p.PrivateEndpoint = q.PrivateEndpoint
		}
		if q.State != nil {
			p.State = q.State
		}
		if q.LinkIdentifier != "" {
			p.LinkIdentifier = q.LinkIdentifier
		}
		if q.PrivateEndpointLocation != "" {
			p.PrivateEndpointLocation = q.PrivateEndpointLocation
		}
	}
	return p
}

func (c *armConnection) name() string {
	if c.Name != "" {
		return c.Name
	}
	if _, n, ok := splitConnectionID(c.ID); ok {
		return n
	}
	return ""
}

func (c *armConnection) facts(pls *armPLS) (Facts, error) {
	if c.ID == "" && c.Name == "" {
		return Facts{}, errors.New("the connection JSON has neither id nor name")
	}
	p := c.props()
	f := Facts{Connection: Connection{ID: c.ID, Name: c.name(), LinkIdentifier: string(p.LinkIdentifier),
		PrivateEndpointLocation: p.PrivateEndpointLocation}}
	if p.State != nil {
		f.Connection.Status, f.Connection.Description = p.State.Status, p.State.Description
	}
	if p.PrivateEndpoint != nil {
		f.Connection.PrivateEndpointID = p.PrivateEndpoint.ID
	}
	impliedID, _, fromID := splitConnectionID(c.ID)
	r := &f.Resource
	if pls != nil {
		if fromID && pls.ID != "" && !sameID(impliedID, pls.ID) {
			return Facts{}, fmt.Errorf("connection %s does not belong to private link service %s", c.ID, pls.ID)
		}
		pp := pls.props()
		*r = Resource{Type: pls.Type, ID: pls.ID, Name: pls.Name, Location: pls.Location, Alias: pp.Alias, Tags: pls.Tags, Fqdns: pp.Fqdns}
		if pp.Visibility != nil {
			r.Visibility = pp.Visibility.Subscriptions
		}
		if pp.AutoApproval != nil {
			r.AutoApproval = pp.AutoApproval.Subscriptions
		}
	}
	if r.ID == "" && fromID {
		r.ID = impliedID
	}
	sub, rg, name, typ := idScope(r.ID)
	if r.Name == "" {
		r.Name = name
	}
	if k, ok := resource.KindOf(r.ID); ok && (r.Type == "" || strings.EqualFold(r.Type, k.Type)) {
		typ = k.Type // the registered spelling
	}
	if r.Type == "" || strings.EqualFold(r.Type, typ) {
		r.Type = typ
	}
	r.SubscriptionID, r.ResourceGroup = sub, rg
	if strings.EqualFold(r.Type, plsType) {
		f.PLS = r.asPLS()
	}
	f.Requester.SubscriptionID = idSubscription(f.Connection.PrivateEndpointID)
	f.Requester.ResourceGroup = idResourceGroup(f.Connection.PrivateEndpointID)
	return f, nil
}

type armSubscriptions struct {
	Subscriptions []string `json:"subscriptions"`
}

type armPLSProps struct {
	Visibility                 *armSubscriptions `json:"visibility"`
	AutoApproval               *armSubscriptions `json:"autoApproval"`
	Fqdns                      []string          `json:"fqdns"`
	Alias                      string            `json:"alias"`
	PrivateEndpointConnections []armConnection   `json:"privateEndpointConnections"`
}

// armPLS is a private link service or another resource with private endpoint connections.
type armPLS struct {
	ID         string            `json:"id"`
	Type       string            `json:"type"`
	Name       string            `json:"name"`
	Location   string            `json:"location"`
	Tags       map[string]string `json:"tags"`
	Properties *armPLSProps      `json:"properties"`
	armPLSProps
}

func (p *armPLS) props() armPLSProps {
	out := p.armPLSProps
	if q := p.Properties; q != nil {
		if q.Visibility != nil {
			out.Visibility = q.Visibility
		}
		if q.AutoApproval != nil {
			out.AutoApproval = q.AutoApproval
		}
		if q.Fqdns != nil {
			out.Fqdns = q.Fqdns
		}
		if q.Alias != "" {
			out.Alias = q.Alias
		}
		if q.PrivateEndpointConnections != nil {
			out.PrivateEndpointConnections = q.PrivateEndpointConnections
		}
	}
	return out
}

// managedType reports whether typ is a resource type of a registered kind.
func managedType(typ string) bool {
	for _, k := range resource.Kinds() {
		if strings.EqualFold(k.Type, typ) {
			return true
		}
	}
	return false
}

// managedResourceID reports whether id names a resource (not a connection) of a registered kind.
func managedResourceID(id string) bool {
	if id == "" {
		return false
	}
	_, _, isConn := splitConnectionID(id)
	_, ok := resource.KindOf(id)
	return ok && !isConn
}
