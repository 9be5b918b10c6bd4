package armemu

import (
	"net/http"
	"regexp"
	"slices"
	"strings"
)

// Azure Resource Graph, just enough for plsgate's scale path: POST
// /providers/Microsoft.ResourceGraph/resources (operationId "Resources";
// armresourcegraph v0.10.0 sends 2024-04-01) answering
//   - the Pending-connections query of azure-facts §6 (recognized by
//     "privatelinkservices" + "mv-expand" + privateEndpointConnections; the
//     `status =~ "X"` filter is honoured, absent = every status), rows
//     {subscriptionId, plsId, connId, connName, privateEndpointId, description, tags};
//   - `resources | where type =~ "microsoft.network/privatelinkservices"`:
//     PLS rows {id, name, type, subscriptionId, resourceGroup, location, tags, properties}.
//
// Anything else is 400 BadRequest: the emulator does not interpret KQL. Paging
// uses options.$top (default 100, max 1000) and $skipToken; like ARG, results
// come from the same state ARM serves (no lag is emulated).

type graphRequest struct {
	Subscriptions []string `json:"subscriptions"`
	Query         string   `json:"query"`
	Options       *struct {
		SkipToken string `json:"$skipToken"`
		Top       *int   `json:"$top"`
		Skip      *int   `json:"$skip"`
	} `json:"options"`
}

type graphResponse struct {
	TotalRecords    int    `json:"totalRecords"`
	Count           int    `json:"count"`
	ResultTruncated string `json:"resultTruncated"`
	SkipToken       string `json:"$skipToken,omitempty"`
	Data            []any  `json:"data"`
	Facets          []any  `json:"facets"`
}

type graphConnRow struct {
	SubscriptionID    string            `json:"subscriptionId"`
	PLSID             string            `json:"plsId"`
	ConnID            string            `json:"connId"`
	ConnName          string            `json:"connName"`
	PrivateEndpointID string            `json:"privateEndpointId"`
	Description       string            `json:"description"`
	Status            string            `json:"status"`
	Tags              map[string]string `json:"tags"`
}

type graphPLSRow struct {
	ID             string            `json:"id"`
	Name           string            `json:"name"`
	Type           string            `json:"type"`
	SubscriptionID string            `json:"subscriptionId"`
	ResourceGroup  string            `json:"resourceGroup"`
	Location       string            `json:"location"`
	Tags           map[string]string `json:"tags"`
	Properties     wirePLSProps      `json:"properties"`
}

var graphStatus = regexp.MustCompile(`(?i)status\s*=~\s*["']([A-Za-z]+)["']`)

func (e *Emulator) hResourceGraph(c *call) {
	var req graphRequest
	if err := decodeBody(c.r, &req); err != nil {
		writeError(c.w, err)
		return
	}
	q := strings.ToLower(req.Query)
	connQuery := strings.Contains(q, "privatelinkservices") && strings.Contains(q, "mv-expand") && strings.Contains(q, "privateendpointconnections")
	plsQuery := !connQuery && strings.Contains(q, "privatelinkservices")
	if !connQuery && !plsQuery {
		writeError(c.w, errf(http.StatusBadRequest, CodeBadRequest, "The ARM emulator answers only the private link service queries plsgate sends; got: %s", req.Query))
		return
	}
	top, skip := 100, 0
	var tok pageToken
	if o := req.Options; o != nil {
		if o.Top != nil {
			top = min(max(*o.Top, 1), 1000)
		}
		if o.Skip != nil && *o.Skip > 0 {
			skip = *o.Skip
		}
		if o.SkipToken != "" {
			r := c.r.Clone(c.r.Context())
			qs := r.URL.Query()
			qs.Set("$skiptoken", o.SkipToken)
			r.URL.RawQuery = qs.Encode()
			t, err := readToken(r)
			if err != nil {
				writeError(c.w, err)
				return
			}
			tok, skip = t, t.Offset
		}
	}
	status := ""
	if m := graphStatus.FindStringSubmatch(req.Query); m != nil {
		status = m[1]
	}
	e.mu.RLock()
	var subs []string
	if len(req.Subscriptions) == 0 {
		for s := range e.st.bySub {
			subs = append(subs, s)
		}
	} else {
		for _, s := range req.Subscriptions {
			subs = append(subs, strings.ToLower(s))
		}
	}
	slices.Sort(subs)
	subs = slices.Compact(subs)
	var rows []any
	for _, s := range subs {
		for _, p := range e.st.bySub[s] {
			if plsQuery {
				rows = append(rows, graphPLSRow{ID: p.ID, Name: p.Name, Type: strings.ToLower(typePLS), SubscriptionID: p.SubscriptionID,
					ResourceGroup: strings.ToLower(p.ResourceGroup), Location: p.Location, Tags: orEmptyMap(p.Tags), Properties: renderPLS(p).Properties})
				continue
			}
			for _, cn := range p.Connections {
				if status != "" && !strings.EqualFold(cn.Status, status) {
					continue
				}
				rows = append(rows, graphConnRow{SubscriptionID: p.SubscriptionID, PLSID: p.ID, ConnID: connIDOf(p.ID, cn.Name), ConnName: cn.Name,
					PrivateEndpointID: cn.PrivateEndpointID, Description: cn.Description, Status: cn.Status, Tags: orEmptyMap(p.Tags)})
			}
		}
	}
	e.mu.RUnlock()
	resp := graphResponse{TotalRecords: len(rows), ResultTruncated: "false", Data: []any{}, Facets: []any{}}
	if skip < len(rows) {
		hi := min(skip+top, len(rows))
		resp.Data = rows[skip:hi]
		if hi < len(rows) {
			resp.SkipToken = pageToken{Offset: hi, Empty: tok.Empty}.encode()
		}
	}
	resp.Count = len(resp.Data)
	writeJSON(c.w, http.StatusOK, resp)
}

func orEmptyMap(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}
