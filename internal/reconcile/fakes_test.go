package reconcile

import (
	"context"
	"slices"

	"github.com/plsgate/plsgate/internal/arm/armfake"
	"github.com/plsgate/plsgate/internal/resource"
	"github.com/plsgate/plsgate/internal/store"
	"github.com/plsgate/plsgate/internal/store/memstore"
)

// The unit tests run over an in-memory ARM (end-to-end tests use the emulator)
// and an in-memory store.

// newFakeARM returns the fake ARM with two PLSs a list page, so scans page.
func newFakeARM() *armfake.ARM {
	a := armfake.New()
	a.PageSize = 2
	return a
}

func httpErr(code int) error { return armfake.HTTPError(code) }

// providers is the resource.Providers reconcile is given: each fake (or
// wrapper of one) serves its kind.
func providers(ps ...resource.Provider) resource.Providers {
	out := resource.Providers{}
	for _, p := range ps {
		out.Add(p)
	}
	return out
}

// fakeStore is memstore with the views the tests read.
type fakeStore struct{ *memstore.Store }

func newFakeStore() *fakeStore { return &fakeStore{memstore.New()} }

// history returns the transitions of one connection, oldest first.
func (s *fakeStore) history(name string) []store.Transition {
	all, err := s.RecentTransitions(context.Background(), 0)
	if err != nil {
		panic(err)
	}
	all = slices.DeleteFunc(all, func(t store.Transition) bool { return t.Connection != name })
	slices.Reverse(all)
	return all
}

// run returns a stored run (the zero Run when there is none).
func (s *fakeStore) run(id string) store.Run {
	if r, err := s.GetRun(context.Background(), id); err == nil {
		return *r
	}
	return store.Run{}
}

// checkpoint returns a stored scan position.
func (s *fakeStore) checkpoint(scope string) string {
	v, _ := s.GetCheckpoint(context.Background(), scope)
	return v
}

func (s *fakeStore) setCheckpoint(scope, v string) {
	if err := s.PutCheckpoint(context.Background(), scope, v); err != nil {
		panic(err)
	}
}
