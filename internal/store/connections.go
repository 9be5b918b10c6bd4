package store

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"
)

// Connection is the stored current state of one private endpoint connection.
type Connection struct {
	PLSID, Name string // keys: PartitionKey = EscapeKey(lower(PLSID)), RowKey = EscapeKey(Name)

	ConnectionID, Status, Description, PrivateEndpointID, RequesterSubscription, LinkIdentifier string
	LastDecision, LastRule, LastActor, LastEventID, ARMETag                                     string
	// PendingAction/PendingTransition mark an action recorded but not yet confirmed (record intent
	// before acting): the action and the RowKey (Transition.ID) of its intent transition.
	PendingAction, PendingTransition string
	// PendingDescription is the description the pending action writes on the connection.
	PendingDescription string
	// PendingSince/LeaseHolder: the claim's lease. While it is fresh and held by another
	// invocation, that invocation is acting; a zero PendingSince means released.
	PendingSince time.Time
	LeaseHolder  string
	// RequestMessage is the requester's message as first seen (approving overwrites Description).
	RequestMessage string
	// SharedPrivateLinkID/Status follow the Web PubSub side of a verified approval.
	SharedPrivateLinkID, SharedPrivateLinkStatus string
	Drift                                        string
	// Override*: the approval is a person's forced decision against the policy (who, their
	// reason, what the policy said, when); it holds while Status is Approved and is cleared when
	// the connection leaves Approved. Such an approval is not drift.
	OverrideActor, OverrideReason, OverridePolicy string
	OverrideAt                                    time.Time
	// Failed*: the last permanent ARM refusal of this connection's decision, kept so that
	// one refusal code is one failed transition (FailedTransition) however often it recurs
	// (FailedCount, FailedAt = last seen), and so that plsgate does not retry it until the
	// connection's state (FailedState) or the decision (FailedDecision) changes, an operator
	// asks, or the retry interval passes.
	FailedCode, FailedTransition, FailedDecision, FailedState string
	FailedCount                                               int
	FailedAt                                                  time.Time
	UpdatedAt                                                 time.Time

	ETag string // table ETag; "" = not stored yet
}

// ConnectionQuery selects connections for ListConnections. Empty fields do not filter.
type ConnectionQuery struct {
	PLSID        string // one PLS (a single partition: cheap)
	Status       string // exact, case-sensitive (ARM spelling: Pending, Approved, ...)
	Limit        int    // page size: ≤ 0 → 100, capped at 1000
	Continuation string // from a previous call's next
}

func connectionKeys(plsID, name string) (pk, rk string, err error) {
	if pk, err = plsKey(plsID); err != nil {
		return "", "", err
	}
	if rk, err = key("connection name", name); err != nil {
		return "", "", err
	}
	return pk, rk, nil
}

// GetConnection reads one connection; ErrNotFound when plsgate has no row for it.
func (s *Store) GetConnection(ctx context.Context, plsID, name string) (*Connection, error) {
	pk, rk, err := connectionKeys(plsID, name)
	if err != nil {
		return nil, err
	}
	r, etag, err := get(ctx, s.connections, pk, rk)
	if err != nil {
		return nil, fmt.Errorf("store: get connection %s on %s: %w", name, plsID, err)
	}
	c, err := decodeConnection(r)
	if err != nil {
		return nil, fmt.Errorf("store: get connection %s on %s: %w", name, plsID, err)
	}
	c.ETag = etag
	return c, nil
}

// PutConnection creates (c.ETag == "": Add, ErrConflict if the row exists) or updates (Replace with
// If-Match c.ETag, ErrConflict if someone wrote since it was read) the row, and sets c.ETag.
// A zero UpdatedAt is set to now; Description and Drift are truncated to 16 KiB.
func (s *Store) PutConnection(ctx context.Context, c *Connection) error {
	pk, rk, err := connectionKeys(c.PLSID, c.Name)
	if err != nil {
		return err
	}
	if c.UpdatedAt.IsZero() {
		c.UpdatedAt = time.Now().UTC()
	}
	c.Description, c.Drift = truncate(c.Description), truncate(c.Drift)
	e := newEntity(pk, rk)
	e.str("PLSID", c.PLSID)
	e.str("ConnectionID", c.ConnectionID)
	e.str("Status", c.Status)
	e.str("Description", c.Description)
	e.str("PrivateEndpointID", c.PrivateEndpointID)
	e.str("RequesterSubscription", c.RequesterSubscription)
	e.str("LinkIdentifier", c.LinkIdentifier)
	e.str("LastDecision", c.LastDecision)
	e.str("LastRule", c.LastRule)
	e.str("LastActor", c.LastActor)
	e.str("LastEventID", c.LastEventID)
	e.str("ARMETag", c.ARMETag)
	e.str("PendingAction", c.PendingAction)
	e.str("PendingTransition", c.PendingTransition)
	e.str("PendingDescription", c.PendingDescription)
	e.time("PendingSince", c.PendingSince)
	e.str("LeaseHolder", c.LeaseHolder)
	e.str("RequestMessage", c.RequestMessage)
	e.str("SharedPrivateLinkID", c.SharedPrivateLinkID)
	e.str("SharedPrivateLinkStatus", c.SharedPrivateLinkStatus)
	e.str("Drift", c.Drift)
	e.str("OverrideActor", c.OverrideActor)
	e.str("OverrideReason", c.OverrideReason)
	e.str("OverridePolicy", c.OverridePolicy)
	e.time("OverrideAt", c.OverrideAt)
	e.str("FailedCode", c.FailedCode)
	e.str("FailedTransition", c.FailedTransition)
	e.str("FailedDecision", c.FailedDecision)
	e.str("FailedState", c.FailedState)
	e.int("FailedCount", c.FailedCount)
	e.time("FailedAt", c.FailedAt)
	e.time("UpdatedAt", c.UpdatedAt)

	etag, err := put(ctx, s.connections, e, c.ETag)
	if err != nil {
		return fmt.Errorf("store: put connection %s on %s: %w", c.Name, c.PLSID, err)
	}
	c.ETag = etag
	return nil
}

func decodeConnection(r row) (*Connection, error) {
	name, err := UnescapeKey(r.str("RowKey"))
	if err != nil {
		return nil, err
	}
	c := &Connection{
		PLSID:                   r.str("PLSID"),
		Name:                    name,
		ConnectionID:            r.str("ConnectionID"),
		Status:                  r.str("Status"),
		Description:             r.str("Description"),
		PrivateEndpointID:       r.str("PrivateEndpointID"),
		RequesterSubscription:   r.str("RequesterSubscription"),
		LinkIdentifier:          r.str("LinkIdentifier"),
		LastDecision:            r.str("LastDecision"),
		LastRule:                r.str("LastRule"),
		LastActor:               r.str("LastActor"),
		LastEventID:             r.str("LastEventID"),
		ARMETag:                 r.str("ARMETag"),
		PendingAction:           r.str("PendingAction"),
		PendingTransition:       r.str("PendingTransition"),
		PendingDescription:      r.str("PendingDescription"),
		LeaseHolder:             r.str("LeaseHolder"),
		RequestMessage:          r.str("RequestMessage"),
		SharedPrivateLinkID:     r.str("SharedPrivateLinkID"),
		SharedPrivateLinkStatus: r.str("SharedPrivateLinkStatus"),
		Drift:                   r.str("Drift"),
		OverrideActor:           r.str("OverrideActor"),
		OverrideReason:          r.str("OverrideReason"),
		OverridePolicy:          r.str("OverridePolicy"),
		FailedCode:              r.str("FailedCode"),
		FailedTransition:        r.str("FailedTransition"),
		FailedDecision:          r.str("FailedDecision"),
		FailedState:             r.str("FailedState"),
		ETag:                    r.str("odata.etag"),
	}
	if c.FailedCount, err = r.int("FailedCount"); err != nil {
		return nil, err
	}
	if c.FailedAt, err = r.time("FailedAt"); err != nil {
		return nil, err
	}
	if c.PendingSince, err = r.time("PendingSince"); err != nil {
		return nil, err
	}
	if c.OverrideAt, err = r.time("OverrideAt"); err != nil {
		return nil, err
	}
	if c.PLSID == "" { // written by something else: fall back to the (lower-cased) key
		if c.PLSID, err = UnescapeKey(r.str("PartitionKey")); err != nil {
			return nil, err
		}
	}
	if c.UpdatedAt, err = r.time("UpdatedAt"); err != nil {
		return nil, err
	}
	return c, nil
}

// ListConnections returns up to q.Limit connections matching q, in key order (by PLS, then name), and
// a continuation token for the next page ("" when there is none). The service may return short or
// empty pages with a continuation; the loop follows them, and a page can therefore hold fewer items
// than Limit while next is still non-empty. A query without PLSID scans the whole table.
func (s *Store) ListConnections(ctx context.Context, q ConnectionQuery) ([]Connection, string, error) {
	var filters []string
	if q.PLSID != "" {
		pk, err := plsKey(q.PLSID)
		if err != nil {
			return nil, "", err
		}
		filters = append(filters, eq("PartitionKey", pk))
	}
	if q.Status != "" {
		filters = append(filters, eq("Status", q.Status))
	}
	limit := clampLimit(q.Limit, maxPageSize)
	opts := &aztables.ListEntitiesOptions{}
	if len(filters) > 0 {
		f := strings.Join(filters, " and ")
		opts.Filter = &f
	}
	if q.Continuation != "" {
		pk, rk, err := decodeContinuation(q.Continuation)
		if err != nil {
			return nil, "", err
		}
		opts.NextPartitionKey, opts.NextRowKey = pk, rk
	}
	var items []Connection
	next, err := scan(ctx, s.connections, opts, limit, func(r row) error {
		c, err := decodeConnection(r)
		if err != nil {
			return err
		}
		items = append(items, *c)
		return nil
	})
	if err != nil {
		return nil, "", fmt.Errorf("store: list connections: %w", err)
	}
	return items, next, nil
}

// maxPagesPerCall bounds one call's latency when the service keeps returning empty pages.
const maxPagesPerCall = 50

// scan reads pages until limit rows were handed to fn or the query ends, asking each page for no
// more rows than still needed, so a page is always consumed whole and its continuation is exact.
// It returns the encoded continuation of the last page ("" at the end).
func scan(ctx context.Context, c *aztables.Client, opts *aztables.ListEntitiesOptions, limit int, fn func(row) error) (string, error) {
	got := 0
	for pages := 0; ; pages++ {
		top := int32(min(limit-got, maxPageSize))
		opts.Top = &top
		page, err := c.NewListEntitiesPager(opts).NextPage(ctx)
		if err != nil {
			return "", err
		}
		for _, b := range page.Entities {
			r, err := decodeRow(b)
			if err != nil {
				return "", err
			}
			if err := fn(r); err != nil {
				return "", err
			}
			got++
		}
		if empty(page.NextPartitionKey) && empty(page.NextRowKey) {
			return "", nil
		}
		if got >= limit || pages+1 >= maxPagesPerCall {
			return encodeContinuation(page.NextPartitionKey, page.NextRowKey), nil
		}
		opts.NextPartitionKey, opts.NextRowKey = page.NextPartitionKey, page.NextRowKey
	}
}

func empty(p *string) bool { return p == nil || *p == "" }

// continuation is the opaque token handed to callers: the service's next keys, versioned.
type continuation struct {
	V  int     `json:"v"`
	PK *string `json:"pk,omitempty"`
	RK *string `json:"rk,omitempty"`
}

func encodeContinuation(pk, rk *string) string {
	b, _ := json.Marshal(continuation{V: 1, PK: pk, RK: rk})
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeContinuation(tok string) (pk, rk *string, err error) {
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %v", ErrInvalidContinuation, err)
	}
	var c continuation
	if err := json.Unmarshal(b, &c); err != nil || c.V != 1 || (empty(c.PK) && empty(c.RK)) {
		return nil, nil, ErrInvalidContinuation
	}
	return c.PK, c.RK, nil
}
