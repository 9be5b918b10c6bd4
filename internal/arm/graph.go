package arm

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"slices"
	"strings"
	"sync"

	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/resourcegraph/armresourcegraph"
)

// ResourceGraphAPIVersion is the api-version armresourcegraph v0.10.0 sends.
const ResourceGraphAPIVersion = "2024-04-01"

// PendingQuery finds private link services with a Pending connection
// (azure-facts §6). Resource Graph lags ARM: its answers are candidates that
// the reconciler re-reads through ARM before deciding anything.
const PendingQuery = `resources
| where type =~ "microsoft.network/privatelinkservices"
| mv-expand pec = properties.privateEndpointConnections
| extend status = tostring(pec.properties.privateLinkServiceConnectionState.status)
| where status =~ "Pending"
| project subscriptionId, plsId = id, connId = tostring(pec.id)`

// graphPageSize: Resource Graph answers at most 1000 rows a page.
const graphPageSize = 1000

type graphClient struct {
	once sync.Once
	c    *armresourcegraph.Client
	err  error
}

// PendingServices streams, one Resource Graph page at a time, the IDs of the
// private link services in subscriptions that have a Pending connection
// (each ID once, in the order first seen).
func (c *Client) PendingServices(ctx context.Context, subscriptions []string) iter.Seq2[[]string, error] {
	return func(yield func([]string, error) bool) {
		c.graph.once.Do(func() { c.graph.c, c.graph.err = armresourcegraph.NewClient(c.cred, c.opts) })
		if c.graph.err != nil {
			yield(nil, fmt.Errorf("arm: resource graph client: %w", c.graph.err))
			return
		}
		subs := make([]*string, len(subscriptions))
		for i := range subscriptions {
			subs[i] = &subscriptions[i]
		}
		query, top := PendingQuery, int32(graphPageSize)
		format := armresourcegraph.ResultFormatObjectArray
		seen := map[string]bool{}
		var skip *string
		for {
			resp, err := c.graph.c.Resources(ctx, armresourcegraph.QueryRequest{
				Query: &query, Subscriptions: subs,
				Options: &armresourcegraph.QueryRequestOptions{Top: &top, SkipToken: skip, ResultFormat: &format},
			}, nil)
			if err != nil {
				yield(nil, fmt.Errorf("arm: resource graph query: %w", err))
				return
			}
			ids, err := pendingRows(resp.Data)
			if err != nil {
				yield(nil, err)
				return
			}
			page := ids[:0]
			for _, id := range ids {
				if k := NormalizeID(id); !seen[k] {
					seen[k] = true
					page = append(page, id)
				}
			}
			if len(page) > 0 && !yield(slices.Clip(page), nil) {
				return
			}
			if resp.SkipToken == nil || *resp.SkipToken == "" {
				return
			}
			if skip != nil && *skip == *resp.SkipToken {
				yield(nil, errors.New("arm: resource graph repeated its skip token"))
				return
			}
			skip = resp.SkipToken
		}
	}
}

// pendingRows reads plsId from the objectArray rows.
func pendingRows(data any) ([]string, error) {
	b, err := json.Marshal(data)
	if err != nil {
		return nil, fmt.Errorf("arm: resource graph rows: %w", err)
	}
	var rows []struct {
		PLSID string `json:"plsId"`
	}
	if err := json.Unmarshal(b, &rows); err != nil {
		return nil, fmt.Errorf("arm: resource graph rows are not the projected objects: %w", err)
	}
	out := make([]string, 0, len(rows))
	for _, r := range rows {
		if strings.TrimSpace(r.PLSID) != "" {
			out = append(out, r.PLSID)
		}
	}
	return out, nil
}
