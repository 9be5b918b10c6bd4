package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"
)

// BindingsTable (before TablePrefix) records which connection each shared private link resource
// instance vouched for.
const BindingsTable = "bindings"

// sightingRow is the RowKey, in a shared private link resource's partition, of plsgate's first
// sighting of it (its instance time when Azure sends no systemData.createdAt). Instance RowKeys start
// with "created-" or "seen-", so it never collides with one.
const sightingRow = "sighting"

// Binding says that one instance of a Web PubSub shared private link resource vouched for one
// connection. It is written (Add) before the approval's intent and never deleted: an instance vouches
// for at most one connection, ever, even after that connection is gone.
//
// Keys: PartitionKey = EscapeKey(lower-case shared private link resource ID), so every instance of
// one resource — "which connection does this resource vouch for?" — is one partition query;
// RowKey = Instance().
type Binding struct {
	SharedPrivateLinkID string
	// CreatedAt identifies the instance: the resource's systemData.createdAt, or plsgate's first
	// sighting of it (FirstSighting) when Azure sent no systemData. A deleted and re-created resource
	// has a new createdAt, so it is a new instance.
	CreatedAt     time.Time
	FirstSighting bool

	PLSID, Connection, ConnectionID string // the connection it vouched for
	RequestMessage                  string // the request message both carried
	Actor                           string // who relied on it, e.g. "rule:webpubsub"
	BoundAt                         time.Time

	ETag string
}

// Instance is the binding's RowKey: BindingInstance(b.CreatedAt, b.FirstSighting).
func (b *Binding) Instance() string { return BindingInstance(b.CreatedAt, b.FirstSighting) }

// BindingInstance names one instance of a shared private link resource: "created-" + its
// systemData.createdAt, or "seen-" + plsgate's first sighting, in UTC with 100 ns ticks (fixed width,
// so a partition lists instances oldest first).
func BindingInstance(createdAt time.Time, firstSighting bool) string {
	prefix := "created-"
	if firstSighting {
		prefix = "seen-"
	}
	return prefix + createdAt.UTC().Truncate(tick).Format(timeFormat)
}

func splKey(splID string) (string, error) {
	return key("shared private link resource ID", normID(splID))
}

// AddBinding records b (Add). ErrConflict when the instance is already bound — re-read it with
// GetBinding: it may be bound to the same connection (a retry) or to another one (then b's connection
// is not vouched for). An SDK retry of our own insert is success. Sets b.ETag.
func (s *Store) AddBinding(ctx context.Context, b *Binding) error {
	if b.CreatedAt.IsZero() {
		return errors.New("store: add binding: the instance time (CreatedAt) is zero")
	}
	pk, err := splKey(b.SharedPrivateLinkID)
	if err != nil {
		return err
	}
	if b.BoundAt.IsZero() {
		b.BoundAt = time.Now().UTC()
	}
	b.RequestMessage = truncate(b.RequestMessage)
	e := newEntity(pk, b.Instance())
	e.str("SharedPrivateLinkID", b.SharedPrivateLinkID)
	e.time("CreatedAt", b.CreatedAt)
	e.str("PLSID", b.PLSID)
	e.str("Connection", b.Connection)
	e.str("ConnectionID", b.ConnectionID)
	e.str("RequestMessage", b.RequestMessage)
	e.str("Actor", b.Actor)
	e.time("BoundAt", b.BoundAt)
	etag, _, err := insert(ctx, s.bindings, e)
	if err != nil {
		return fmt.Errorf("store: bind %s (%s) to %s on %s: %w", b.SharedPrivateLinkID, b.Instance(), b.Connection, b.PLSID, err)
	}
	b.ETag = etag
	return nil
}

// GetBinding reads the binding of one instance (BindingInstance); ErrNotFound when it is unbound.
func (s *Store) GetBinding(ctx context.Context, splID, instance string) (*Binding, error) {
	pk, err := splKey(splID)
	if err != nil {
		return nil, err
	}
	rk, err := key("binding instance", instance)
	if err != nil {
		return nil, err
	}
	r, etag, err := get(ctx, s.bindings, pk, rk)
	if err != nil {
		return nil, fmt.Errorf("store: get binding of %s (%s): %w", splID, instance, err)
	}
	b, err := decodeBinding(r)
	if err != nil {
		return nil, fmt.Errorf("store: get binding of %s (%s): %w", splID, instance, err)
	}
	b.ETag = etag
	return b, nil
}

// ListBindings returns every binding of one shared private link resource (all its instances, oldest
// first): one partition query, no scan.
func (s *Store) ListBindings(ctx context.Context, splID string) ([]Binding, error) {
	pk, err := splKey(splID)
	if err != nil {
		return nil, err
	}
	f := eq("PartitionKey", pk)
	var out []Binding
	// A resource has a handful of instances: read the whole partition.
	_, err = scanAll(ctx, s.bindings, &aztables.ListEntitiesOptions{Filter: &f}, 1<<20, func(r row) error {
		if r.str("RowKey") == sightingRow {
			return nil
		}
		b, err := decodeBinding(r)
		if err != nil {
			return err
		}
		out = append(out, *b)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: list bindings of %s: %w", splID, err)
	}
	return out, nil
}

func decodeBinding(r row) (*Binding, error) {
	instance := r.str("RowKey")
	b := &Binding{
		SharedPrivateLinkID: r.str("SharedPrivateLinkID"),
		FirstSighting:       strings.HasPrefix(instance, "seen-"),
		PLSID:               r.str("PLSID"),
		Connection:          r.str("Connection"),
		ConnectionID:        r.str("ConnectionID"),
		RequestMessage:      r.str("RequestMessage"),
		Actor:               r.str("Actor"),
		ETag:                r.str("odata.etag"),
	}
	var err error
	if b.CreatedAt, err = r.time("CreatedAt"); err != nil {
		return nil, err
	}
	if b.BoundAt, err = r.time("BoundAt"); err != nil {
		return nil, err
	}
	if b.SharedPrivateLinkID == "" {
		if b.SharedPrivateLinkID, err = UnescapeKey(r.str("PartitionKey")); err != nil {
			return nil, err
		}
	}
	return b, nil
}

// SharedLinkSighting returns plsgate's first sighting of a shared private link resource (recorded by
// SightSharedLink); ErrNotFound when there is none. Only resources without systemData need one.
func (s *Store) SharedLinkSighting(ctx context.Context, splID string) (time.Time, error) {
	pk, err := splKey(splID)
	if err != nil {
		return time.Time{}, err
	}
	r, _, err := get(ctx, s.bindings, pk, sightingRow)
	if err != nil {
		return time.Time{}, fmt.Errorf("store: get first sighting of %s: %w", splID, err)
	}
	return r.time("At")
}

// SightSharedLink records at as plsgate's first sighting of a shared private link resource unless
// one is recorded already, and returns the recorded one (Add; 409 → read).
func (s *Store) SightSharedLink(ctx context.Context, splID string, at time.Time) (time.Time, error) {
	pk, err := splKey(splID)
	if err != nil {
		return time.Time{}, err
	}
	at = at.UTC().Truncate(tick)
	e := newEntity(pk, sightingRow)
	e.str("SharedPrivateLinkID", splID)
	e.time("At", at)
	if _, _, err := insert(ctx, s.bindings, e); err == nil {
		return at, nil
	} else if !errors.Is(err, ErrConflict) {
		return time.Time{}, fmt.Errorf("store: record first sighting of %s: %w", splID, err)
	}
	return s.SharedLinkSighting(ctx, splID)
}
