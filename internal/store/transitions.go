package store

import (
	"container/heap"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"
)

// Transition is one row of the audit history: an observed or performed change of a connection (or a
// shared private link resource, or a drift finding).
type Transition struct {
	PLSID, Connection string // partition = PLS; Connection = connection name
	Subject           string // "connection" | "sharedPrivateLinkResource" | "drift"

	From, To, Action, Actor, Reason, Rule, Trigger, EventID, InvocationID, Phase string // Phase: intent|done|failed|observed|dry-run|drift
	// Cause identifies what caused the change (e.g. an event ID or the ARM state observed); it goes
	// into the row key hash together with PLS, Connection, Subject, From, To and Action.
	Cause string
	// At is part of the row key: callers must derive it from the cause (event time, observation time
	// carried across retries), not from the clock at each attempt, or duplicates get distinct rows.
	At time.Time

	ID, ETag string // ID = RowKey (TransitionRowKey), set by the store
}

// AppendTransition records t once. The RowKey is deterministic (TransitionRowKey), so recording the
// same transition again — a duplicate delivery, a concurrent invocation — finds the existing row:
// created=false, err=nil, and t.ID/t.ETag are loaded from the stored row (its other fields are left
// as the caller set them). An SDK retry of our own successful insert counts as created=true.
// Reason is truncated to 16 KiB.
func (s *Store) AppendTransition(ctx context.Context, t *Transition) (created bool, err error) {
	e, err := transitionEntity(t, false)
	if err != nil {
		return false, err
	}
	etag, existed, err := insert(ctx, s.transitions, e)
	if existed {
		t.ID, t.ETag = e["RowKey"].(string), etag
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("store: append transition %s for %s on %s: %w", t.Phase, t.Connection, t.PLSID, err)
	}
	t.ID, t.ETag = e["RowKey"].(string), etag
	return true, nil
}

// UpdateTransition replaces the stored row t.ID (e.g. intent → done/failed) if it still has t.ETag
// (ErrConflict otherwise, ErrNotFound if it does not exist), and sets t.ETag.
func (s *Store) UpdateTransition(ctx context.Context, t *Transition) error {
	if t.ID == "" {
		return errors.New("store: update transition: ID is empty (append it first)")
	}
	e, err := transitionEntity(t, true)
	if err != nil {
		return err
	}
	etag, err := replace(ctx, s.transitions, e, t.ETag)
	if err != nil {
		return fmt.Errorf("store: update transition %s for %s on %s: %w", t.ID, t.Connection, t.PLSID, err)
	}
	t.ETag = etag
	return nil
}

// GetTransition reads one transition by PLS and ID; ErrNotFound if there is none.
func (s *Store) GetTransition(ctx context.Context, plsID, id string) (*Transition, error) {
	pk, err := plsKey(plsID)
	if err != nil {
		return nil, err
	}
	rk, err := key("transition ID", id)
	if err != nil {
		return nil, err
	}
	r, etag, err := get(ctx, s.transitions, pk, rk)
	if err != nil {
		return nil, fmt.Errorf("store: get transition %s on %s: %w", id, plsID, err)
	}
	t, err := decodeTransition(r)
	if err != nil {
		return nil, fmt.Errorf("store: get transition %s on %s: %w", id, plsID, err)
	}
	t.ETag = etag
	return t, nil
}

// transitionEntity builds the row. An append keys it by TransitionRowKey(t) (a stale t.ID from an
// earlier use of the struct must not redirect it); an update keys it by t.ID, so editing a hashed
// field does not move the row.
func transitionEntity(t *Transition, update bool) (entity, error) {
	pk, err := plsKey(t.PLSID)
	if err != nil {
		return nil, err
	}
	if t.At.IsZero() {
		return nil, errAtRange
	}
	t.At = t.At.UTC().Truncate(tick) // what the service keeps, so the caller's copy matches the row
	rk := t.ID
	if update && (rk == "" || EscapeKey(rk) != rk) {
		return nil, fmt.Errorf("store: %q is not a transition ID", rk)
	}
	if !update {
		if rk, err = TransitionRowKey(t); err != nil {
			return nil, err
		}
	}
	t.Reason = truncate(t.Reason)
	e := newEntity(pk, rk)
	e.str("PLSID", t.PLSID)
	e.str("Connection", t.Connection)
	e.str("Subject", t.Subject)
	e.str("From", t.From)
	e.str("To", t.To)
	e.str("Action", t.Action)
	e.str("Actor", t.Actor)
	e.str("Reason", t.Reason)
	e.str("Rule", t.Rule)
	e.str("Trigger", t.Trigger)
	e.str("EventID", t.EventID)
	e.str("InvocationID", t.InvocationID)
	e.str("Phase", t.Phase)
	e.str("Cause", t.Cause)
	e.time("At", t.At)
	return e, nil
}

func decodeTransition(r row) (*Transition, error) {
	t := &Transition{
		PLSID:        r.str("PLSID"),
		Connection:   r.str("Connection"),
		Subject:      r.str("Subject"),
		From:         r.str("From"),
		To:           r.str("To"),
		Action:       r.str("Action"),
		Actor:        r.str("Actor"),
		Reason:       r.str("Reason"),
		Rule:         r.str("Rule"),
		Trigger:      r.str("Trigger"),
		EventID:      r.str("EventID"),
		InvocationID: r.str("InvocationID"),
		Phase:        r.str("Phase"),
		Cause:        r.str("Cause"),
		ID:           r.str("RowKey"),
		ETag:         r.str("odata.etag"),
	}
	var err error
	if t.At, err = r.time("At"); err != nil {
		return nil, err
	}
	return t, nil
}

// ListTransitions returns the newest limit transitions (≤ 0 → 100, at most 1000) of one connection,
// newest first — or of the whole PLS when connection is "". One partition, read in key order, which
// is newest first by construction of the RowKey.
func (s *Store) ListTransitions(ctx context.Context, plsID, connection string, limit int) ([]Transition, error) {
	pk, err := plsKey(plsID)
	if err != nil {
		return nil, err
	}
	f := eq("PartitionKey", pk)
	if connection != "" {
		f += " and " + eq("Connection", connection)
	}
	var out []Transition
	_, err = scanAll(ctx, s.transitions, &aztables.ListEntitiesOptions{Filter: &f}, clampLimit(limit, maxPageSize), func(r row) error {
		t, err := decodeTransition(r)
		if err != nil {
			return err
		}
		out = append(out, *t)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: list transitions of %s on %s: %w", connection, plsID, err)
	}
	return out, nil
}

// scanAll is scan without the per-call page bound: it stops at limit rows or at the end of the query.
func scanAll(ctx context.Context, c *aztables.Client, opts *aztables.ListEntitiesOptions, limit int, fn func(row) error) (int, error) {
	got := 0
	pager := c.NewListEntitiesPager(opts)
	for pager.More() && got < limit {
		top := int32(min(limit-got, maxPageSize))
		opts.Top = &top // read by the pager's fetcher for every page
		page, err := pager.NextPage(ctx)
		if err != nil {
			return got, err
		}
		for _, b := range page.Entities {
			if got >= limit {
				break
			}
			r, err := decodeRow(b)
			if err != nil {
				return got, err
			}
			if err := fn(r); err != nil {
				return got, err
			}
			got++
		}
	}
	return got, nil
}

// recentWindows are the look-back windows RecentTransitions widens through until it has enough rows.
var recentWindows = []time.Duration{24 * time.Hour, 7 * 24 * time.Hour, 31 * 24 * time.Hour, 0 /* all */}

// maxRecentScan bounds the rows one RecentTransitions call reads per window.
const maxRecentScan = 20000

// RecentTransitions returns the newest limit transitions (≤ 0 → 100, at most 1000) across all PLSs,
// newest first (by At, then ID).
//
// Cost: Table storage has no cross-partition order, so this is a table scan. The RowKey starts with
// the inverted time, so each scan filters server-side on RowKey to a look-back window (24 h, 7 d,
// 31 d, then everything), widening only while fewer than limit rows were found; the client keeps the
// newest limit rows in a heap. A window reads at most 20,000 rows — beyond that (more than 20,000
// transitions inside 24 h) the result is the newest of the rows read, not necessarily of all rows.
// Fine for a status page; not for anything that needs completeness (use ListTransitions per PLS).
func (s *Store) RecentTransitions(ctx context.Context, limit int) ([]Transition, error) {
	limit = clampLimit(limit, maxPageSize)
	now := time.Now()
	var h newest
	for _, w := range recentWindows {
		h = h[:0]
		opts := &aztables.ListEntitiesOptions{}
		if w > 0 {
			// Rows with At ≥ since have inverted(At) ≤ inverted(since), i.e. RowKey (fixed-width digits
			// first) < inverted(since)+1 = inverted(since − 1 ns).
			bound, err := invertedTime(now.Add(-w - time.Nanosecond))
			if err != nil {
				return nil, err
			}
			f := "RowKey lt " + odataString(bound)
			opts.Filter = &f
		}
		_, err := scanAll(ctx, s.transitions, opts, maxRecentScan, func(r row) error {
			t, err := decodeTransition(r)
			if err != nil {
				return err
			}
			if len(h) < limit {
				heap.Push(&h, *t)
			} else if newer(t, &h[0]) {
				h[0] = *t
				heap.Fix(&h, 0)
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("store: recent transitions: %w", err)
		}
		if len(h) >= limit {
			break
		}
	}
	out := []Transition(h)
	slices.SortFunc(out, func(a, b Transition) int { return cmpNewest(&a, &b) })
	return out, nil
}

// cmpNewest orders newest first: At descending, then ID (key order) ascending.
func cmpNewest(a, b *Transition) int {
	if c := b.At.Compare(a.At); c != 0 {
		return c
	}
	return strings.Compare(a.ID, b.ID)
}

func newer(a, b *Transition) bool { return cmpNewest(a, b) < 0 }

// newest is a min-heap (oldest on top) holding the newest rows seen.
type newest []Transition

func (h newest) Len() int           { return len(h) }
func (h newest) Less(i, j int) bool { return newer(&h[j], &h[i]) }
func (h newest) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *newest) Push(x any)        { *h = append(*h, x.(Transition)) }
func (h *newest) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}
