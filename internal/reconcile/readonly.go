package reconcile

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/plsgate/plsgate/internal/resource"
	"github.com/plsgate/plsgate/internal/store"
)

// ReadOnly wraps a store for a what-if run (`plsgate reconcile --dry-run`):
// it reads the real stored state and records nothing. What the run would
// write is kept in memory, so the run sees its own writes and decides as a
// real run would. Every method is spelled out (no embedding), so a new store
// method cannot silently write through.
func ReadOnly(base Store) Store {
	return &readOnly{base: base, conns: map[string]store.Connection{}, trans: map[string]store.Transition{}}
}

type readOnly struct {
	base  Store
	mu    sync.Mutex
	conns map[string]store.Connection // by connKey
	trans map[string]store.Transition // by plsID|transition ID
	etag  int
	// bindings (by instanceKey) and sightings (by resource ID): binding.go.
	bindings  map[string]store.Binding
	sightings map[string]time.Time
}

func connKey(plsID, name string) string {
	return resource.Normalize(plsID) + "|" + strings.ToLower(name)
}

func (s *readOnly) nextETag() string { s.etag++; return fmt.Sprintf(`W/"dry-run-%d"`, s.etag) }

func (s *readOnly) ListConnections(ctx context.Context, q store.ConnectionQuery) ([]store.Connection, string, error) {
	items, next, err := s.base.ListConnections(ctx, q)
	if err != nil {
		return nil, "", err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	seen := map[string]bool{}
	for i := range items {
		k := connKey(items[i].PLSID, items[i].Name)
		seen[k] = true
		if c, ok := s.conns[k]; ok {
			items[i] = c
		}
	}
	if q.PLSID != "" && q.Continuation == "" { // rows only this run "wrote", once per listing
		for k, c := range s.conns {
			if !seen[k] && resource.Same(c.PLSID, q.PLSID) && (q.Status == "" || c.Status == q.Status) {
				items = append(items, c)
			}
		}
	}
	return items, next, nil
}

func (s *readOnly) GetConnection(ctx context.Context, plsID, name string) (*store.Connection, error) {
	s.mu.Lock()
	c, ok := s.conns[connKey(plsID, name)]
	s.mu.Unlock()
	if ok {
		return &c, nil
	}
	return s.base.GetConnection(ctx, plsID, name)
}

func (s *readOnly) PutConnection(_ context.Context, c *store.Connection) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	c.ETag = s.nextETag()
	s.conns[connKey(c.PLSID, c.Name)] = *c
	return nil
}

func (s *readOnly) AppendTransition(_ context.Context, t *store.Transition) (bool, error) {
	id, err := store.TransitionRowKey(t)
	if err != nil {
		return false, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	k := resource.Normalize(t.PLSID) + "|" + id
	if _, ok := s.trans[k]; ok {
		return false, nil
	}
	t.ID, t.ETag = id, s.nextETag()
	s.trans[k] = *t
	return true, nil
}

func (s *readOnly) UpdateTransition(_ context.Context, t *store.Transition) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	t.ETag = s.nextETag()
	s.trans[resource.Normalize(t.PLSID)+"|"+t.ID] = *t
	return nil
}

func (s *readOnly) GetTransition(ctx context.Context, plsID, id string) (*store.Transition, error) {
	s.mu.Lock()
	t, ok := s.trans[resource.Normalize(plsID)+"|"+id]
	s.mu.Unlock()
	if ok {
		return &t, nil
	}
	return s.base.GetTransition(ctx, plsID, id)
}
