package memstore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/plsgate/plsgate/internal/arm"
	"github.com/plsgate/plsgate/internal/store"
)

// Store is the in-memory store. Safe for concurrent use.
type Store struct {
	mu          sync.Mutex
	conns       map[string]map[string]store.Connection // partition (lower PLS ID) → name → row
	transitions map[string]map[string]store.Transition // partition → row key → row
	runs        map[string]store.Run
	checkpoints map[string]string
	bindings    map[string]map[string]store.Binding // lower SPL ID → instance → binding
	sightings   map[string]time.Time                // lower SPL ID → first sighting
	etag        uint64

	// Down makes every call fail as if Table storage answered 503 (see Unavailable).
	Down atomic.Bool
	// failAppends makes the next failAppends.n appends of phase failAppends.phase fail.
	failAppends struct {
		phase string
		n     int
	}
}

// Unavailable returns the error of a store that is Down: a 503 through the
// store's boundary (store.Wrap), as the Table store fails.
func Unavailable() error {
	return store.Wrap("memstore", &azcore.ResponseError{StatusCode: 503, ErrorCode: "ServerBusy"})
}

func (s *Store) down() error {
	if s.Down.Load() {
		return Unavailable()
	}
	return nil
}

// FailAppends makes the next n AppendTransition calls of a transition in phase
// ("" for any phase) fail as unavailable, writing nothing.
func (s *Store) FailAppends(phase string, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failAppends.phase, s.failAppends.n = phase, n
}

// New returns an empty store.
func New() *Store {
	return &Store{
		conns:       map[string]map[string]store.Connection{},
		transitions: map[string]map[string]store.Transition{},
		runs:        map[string]store.Run{},
		checkpoints: map[string]string{},
		bindings:    map[string]map[string]store.Binding{},
		sightings:   map[string]time.Time{},
	}
}

func partition(plsID string) string { return arm.NormalizeID(plsID) }

func (s *Store) nextETag() string { s.etag++; return fmt.Sprintf(`W/"%d"`, s.etag) }

// Stats counts what the store holds.
type Stats struct{ Connections, Transitions, Runs int }

// Stats returns the number of rows per table.
func (s *Store) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := Stats{Runs: len(s.runs)}
	for _, p := range s.conns {
		st.Connections += len(p)
	}
	for _, p := range s.transitions {
		st.Transitions += len(p)
	}
	return st
}

// ListConnections returns the rows of one PLS (q.PLSID) or of all, filtered
// by q.Status, sorted by PLS then name, q.Limit rows a page (100 when unset);
// the continuation ("tok-<offset>") resumes after the page.
func (s *Store) ListConnections(_ context.Context, q store.ConnectionQuery) ([]store.Connection, string, error) {
	if err := s.down(); err != nil {
		return nil, "", err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var parts []map[string]store.Connection
	if q.PLSID != "" {
		parts = append(parts, s.conns[partition(q.PLSID)])
	} else {
		for _, p := range s.conns {
			parts = append(parts, p)
		}
	}
	var out []store.Connection
	for _, p := range parts {
		for _, c := range p {
			if q.Status == "" || c.Status == q.Status {
				out = append(out, c)
			}
		}
	}
	slices.SortFunc(out, func(a, b store.Connection) int {
		if c := strings.Compare(partition(a.PLSID), partition(b.PLSID)); c != 0 {
			return c
		}
		return strings.Compare(a.Name, b.Name)
	})
	start := 0
	if q.Continuation != "" {
		n, err := strconv.Atoi(strings.TrimPrefix(q.Continuation, "tok-"))
		if err != nil || !strings.HasPrefix(q.Continuation, "tok-") || n < 0 || n > len(out) {
			return nil, "", store.ErrInvalidContinuation
		}
		start = n
	}
	limit := q.Limit
	if limit <= 0 {
		limit = 100
	}
	end := min(start+limit, len(out))
	next := ""
	if end < len(out) {
		next = "tok-" + strconv.Itoa(end)
	}
	return out[start:end], next, nil
}

// GetConnection reads one row; store.ErrNotFound if absent.
func (s *Store) GetConnection(_ context.Context, plsID, name string) (*store.Connection, error) {
	if err := s.down(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.conns[partition(plsID)][name]
	if !ok {
		return nil, store.ErrNotFound
	}
	return &c, nil
}

// PutConnection adds (ETag "") or replaces with If-Match: store.ErrConflict when the row
// exists or its ETag changed, store.ErrNotFound when an If-Match finds no row. A zero
// UpdatedAt is set to now.
func (s *Store) PutConnection(_ context.Context, c *store.Connection) error {
	if err := s.down(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	pk := partition(c.PLSID)
	p := s.conns[pk]
	cur, exists := p[c.Name]
	switch {
	case c.ETag != "" && !exists: // Table storage answers an If-Match on a missing row with 404
		return store.ErrNotFound
	case c.ETag == "" && exists || c.ETag != "" && cur.ETag != c.ETag:
		return store.ErrConflict
	}
	if c.UpdatedAt.IsZero() {
		c.UpdatedAt = time.Now().UTC()
	}
	if p == nil {
		p = map[string]store.Connection{}
		s.conns[pk] = p
	}
	c.ETag = s.nextETag()
	p[c.Name] = *c
	return nil
}

// AppendTransition adds a row under its deterministic key; an existing row
// answers created=false with its ID and ETag loaded.
func (s *Store) AppendTransition(_ context.Context, t *store.Transition) (bool, error) {
	if err := s.down(); err != nil {
		return false, err
	}
	id, err := store.TransitionRowKey(t)
	if err != nil {
		return false, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if f := &s.failAppends; f.n > 0 && (f.phase == "" || f.phase == t.Phase) {
		f.n--
		return false, Unavailable()
	}
	pk := partition(t.PLSID)
	p := s.transitions[pk]
	if cur, ok := p[id]; ok {
		t.ID, t.ETag = cur.ID, cur.ETag
		return false, nil
	}
	if p == nil {
		p = map[string]store.Transition{}
		s.transitions[pk] = p
	}
	t.ID, t.ETag = id, s.nextETag()
	p[id] = *t
	return true, nil
}

// UpdateTransition replaces a row with If-Match.
func (s *Store) UpdateTransition(_ context.Context, t *store.Transition) error {
	if err := s.down(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.transitions[partition(t.PLSID)]
	cur, ok := p[t.ID]
	if !ok {
		return store.ErrNotFound
	}
	if cur.ETag != t.ETag {
		return store.ErrConflict
	}
	t.ETag = s.nextETag()
	p[t.ID] = *t
	return nil
}

// GetTransition reads one row by ID.
func (s *Store) GetTransition(_ context.Context, plsID, id string) (*store.Transition, error) {
	if err := s.down(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.transitions[partition(plsID)][id]
	if !ok {
		return nil, store.ErrNotFound
	}
	return &t, nil
}

// PutRun adds (ETag "") or replaces (If-Match) a run; an empty ID gets store.NewRunID.
func (s *Store) PutRun(_ context.Context, r *store.Run) error {
	if err := s.down(); err != nil {
		return err
	}
	if r.ID == "" {
		id, err := store.NewRunID(r.StartedAt)
		if err != nil {
			return err
		}
		r.ID = id
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	cur, exists := s.runs[r.ID]
	if r.ETag == "" && exists || r.ETag != "" && (!exists || cur.ETag != r.ETag) {
		return store.ErrConflict
	}
	r.ETag = s.nextETag()
	s.runs[r.ID] = *r
	return nil
}

// GetRun reads a run.
func (s *Store) GetRun(_ context.Context, id string) (*store.Run, error) {
	if err := s.down(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.runs[id]
	if !ok {
		return nil, store.ErrNotFound
	}
	return &r, nil
}

// LatestRun returns the run started last; store.ErrNotFound when there is none.
func (s *Store) LatestRun(_ context.Context) (*store.Run, error) {
	if err := s.down(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var best *store.Run
	for _, r := range s.runs {
		if best == nil || r.StartedAt.After(best.StartedAt) || r.StartedAt.Equal(best.StartedAt) && r.ID < best.ID {
			best = &r
		}
	}
	if best == nil {
		return nil, store.ErrNotFound
	}
	return best, nil
}

// ListTransitions returns the transitions of one PLS, of one of its
// connections unless connection is "", newest first, at most limit (> 0).
func (s *Store) ListTransitions(_ context.Context, plsID, connection string, limit int) ([]store.Transition, error) {
	if err := s.down(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []store.Transition
	for _, t := range s.transitions[partition(plsID)] {
		if connection == "" || t.Connection == connection {
			out = append(out, t)
		}
	}
	return newestFirst(out, limit), nil
}

// RecentTransitions returns the transitions of every PLS, newest first, at
// most limit (> 0).
func (s *Store) RecentTransitions(_ context.Context, limit int) ([]store.Transition, error) {
	if err := s.down(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []store.Transition
	for _, p := range s.transitions {
		for _, t := range p {
			out = append(out, t)
		}
	}
	return newestFirst(out, limit), nil
}

// newestFirst orders like the store — by At descending, then by ID (the row
// key) — and keeps the first limit rows (all when limit <= 0).
func newestFirst(ts []store.Transition, limit int) []store.Transition {
	slices.SortFunc(ts, func(a, b store.Transition) int {
		if c := b.At.Compare(a.At); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	if limit > 0 && len(ts) > limit {
		ts = ts[:limit]
	}
	return ts
}

// SeedConnection stores a row as it is, replacing any; an empty ETag gets a fresh one.
func (s *Store) SeedConnection(c store.Connection) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c.ETag == "" {
		c.ETag = s.nextETag()
	}
	pk := partition(c.PLSID)
	if s.conns[pk] == nil {
		s.conns[pk] = map[string]store.Connection{}
	}
	s.conns[pk][c.Name] = c
}

// SeedTransition stores a row as it is under its ID (which it must have), replacing any.
func (s *Store) SeedTransition(t store.Transition) {
	s.mu.Lock()
	defer s.mu.Unlock()
	pk := partition(t.PLSID)
	if s.transitions[pk] == nil {
		s.transitions[pk] = map[string]store.Transition{}
	}
	s.transitions[pk][t.ID] = t
}

// SeedRun stores a run as it is under its ID, replacing any.
func (s *Store) SeedRun(r store.Run) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.runs[r.ID] = r
}

// Reset forgets every connection, transition and binding (runs and checkpoints stay).
func (s *Store) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.conns)
	clear(s.transitions)
	clear(s.bindings)
	clear(s.sightings)
}

// GetCheckpoint returns the stored position ("" when none).
func (s *Store) GetCheckpoint(_ context.Context, scope string) (string, error) {
	if err := s.down(); err != nil {
		return "", err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.checkpoints[scope], nil
}

// PutCheckpoint stores a position; "" deletes it.
func (s *Store) PutCheckpoint(_ context.Context, scope, value string) error {
	if err := s.down(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if value == "" {
		delete(s.checkpoints, scope)
	} else {
		s.checkpoints[scope] = value
	}
	return nil
}

// sentinel maps an error that crossed the RPC boundary (as text) back to the
// store's sentinel errors, which reconcile tests with errors.Is.
func sentinel(err error) error {
	if err == nil {
		return nil
	}
	for _, s := range []error{store.ErrNotFound, store.ErrConflict, store.ErrInvalidContinuation} {
		if err.Error() == s.Error() {
			return s
		}
	}
	return errors.New(err.Error())
}

// AddBinding adds a binding; store.ErrConflict when its instance is bound.
func (s *Store) AddBinding(_ context.Context, b *store.Binding) error {
	if err := s.down(); err != nil {
		return err
	}
	if b.CreatedAt.IsZero() {
		return errors.New("memstore: add binding: the instance time (CreatedAt) is zero")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	pk := arm.NormalizeID(b.SharedPrivateLinkID)
	p := s.bindings[pk]
	if _, ok := p[b.Instance()]; ok {
		return store.ErrConflict
	}
	if p == nil {
		p = map[string]store.Binding{}
		s.bindings[pk] = p
	}
	b.ETag = s.nextETag()
	p[b.Instance()] = *b
	return nil
}

// GetBinding reads the binding of one instance; store.ErrNotFound when unbound.
func (s *Store) GetBinding(_ context.Context, splID, instance string) (*store.Binding, error) {
	if err := s.down(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	b, ok := s.bindings[arm.NormalizeID(splID)][instance]
	if !ok {
		return nil, store.ErrNotFound
	}
	return &b, nil
}

// ListBindings returns every binding of one shared private link resource, oldest instance first.
func (s *Store) ListBindings(_ context.Context, splID string) ([]store.Binding, error) {
	if err := s.down(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []store.Binding
	for _, b := range s.bindings[arm.NormalizeID(splID)] {
		out = append(out, b)
	}
	slices.SortFunc(out, func(a, b store.Binding) int { return strings.Compare(a.Instance(), b.Instance()) })
	return out, nil
}

// SharedLinkSighting returns the recorded first sighting; store.ErrNotFound when none.
func (s *Store) SharedLinkSighting(_ context.Context, splID string) (time.Time, error) {
	if err := s.down(); err != nil {
		return time.Time{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	at, ok := s.sightings[arm.NormalizeID(splID)]
	if !ok {
		return time.Time{}, store.ErrNotFound
	}
	return at, nil
}

// SightSharedLink records at as the first sighting unless one exists, and returns the recorded one.
func (s *Store) SightSharedLink(_ context.Context, splID string, at time.Time) (time.Time, error) {
	if err := s.down(); err != nil {
		return time.Time{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	k := arm.NormalizeID(splID)
	if cur, ok := s.sightings[k]; ok {
		return cur, nil
	}
	at = at.UTC().Truncate(100 * time.Nanosecond)
	s.sightings[k] = at
	return at, nil
}
