package memstore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/plsgate/plsgate/internal/store"
)

// Store is the in-memory store. Safe for concurrent use.
type Store struct {
	mu          sync.Mutex
	conns       map[string]map[string]store.Connection // partition (lower PLS ID) → name → row
	transitions map[string]map[string]store.Transition // partition → row key → row
	runs        map[string]store.Run
	checkpoints map[string]string
	etag        uint64
}

// New returns an empty store.
func New() *Store {
	return &Store{
		conns:       map[string]map[string]store.Connection{},
		transitions: map[string]map[string]store.Transition{},
		runs:        map[string]store.Run{},
		checkpoints: map[string]string{},
	}
}

func partition(plsID string) string { return strings.TrimRight(strings.ToLower(plsID), "/") }

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
// by q.Status, sorted by name; everything in one page.
func (s *Store) ListConnections(_ context.Context, q store.ConnectionQuery) ([]store.Connection, string, error) {
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
	return out, "", nil
}

// GetConnection reads one row; store.ErrNotFound if absent.
func (s *Store) GetConnection(_ context.Context, plsID, name string) (*store.Connection, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.conns[partition(plsID)][name]
	if !ok {
		return nil, store.ErrNotFound
	}
	return &c, nil
}

// PutConnection adds (ETag "") or replaces with If-Match; store.ErrConflict otherwise.
func (s *Store) PutConnection(_ context.Context, c *store.Connection) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	pk := partition(c.PLSID)
	p := s.conns[pk]
	cur, exists := p[c.Name]
	if c.ETag == "" && exists || c.ETag != "" && (!exists || cur.ETag != c.ETag) {
		return store.ErrConflict
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
	id, err := store.TransitionRowKey(t)
	if err != nil {
		return false, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
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
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.runs[id]
	if !ok {
		return nil, store.ErrNotFound
	}
	return &r, nil
}

// GetCheckpoint returns the stored position ("" when none).
func (s *Store) GetCheckpoint(_ context.Context, scope string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.checkpoints[scope], nil
}

// PutCheckpoint stores a position; "" deletes it.
func (s *Store) PutCheckpoint(_ context.Context, scope, value string) error {
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
	for _, s := range []error{store.ErrNotFound, store.ErrConflict} {
		if err.Error() == s.Error() {
			return s
		}
	}
	return errors.New(err.Error())
}
