package reconcile

import (
	"context"
	"testing"

	"github.com/plsgate/plsgate/internal/arm"
)

// fakeEndpoints answers GetPrivateEndpoint from a map and counts the reads.
type fakeEndpoints struct {
	pes   map[string]*arm.PrivateEndpoint
	err   error
	reads int
}

func (f *fakeEndpoints) GetPrivateEndpoint(_ context.Context, id string) (*arm.PrivateEndpoint, error) {
	f.reads++
	if f.err != nil {
		return nil, f.err
	}
	if pe, ok := f.pes[id]; ok {
		return pe, nil
	}
	return nil, httpErr(404)
}

// A private endpoint event costs one read of the endpoint, then the usual
// Reconcile of each target in scope — and nothing outside the role's scope.
func TestReconcileEndpoint(t *testing.T) {
	otherPLS := "/subscriptions/" + sub + "/resourceGroups/contoso/providers/Microsoft.Network/privateLinkServices/not-ours"
	custSub := "11111111-1111-1111-1111-111111111111"
	setup := func(t *testing.T) (*env, *fakeEndpoints) {
		e := newEnv(t, testPolicy)
		e.pls(conn("c1", StatusPending, "please approve", peCust))
		f := &fakeEndpoints{pes: map[string]*arm.PrivateEndpoint{peCust: {ID: peCust, TargetIDs: []string{plsID, otherPLS}}}}
		e.r.Endpoints = f
		return e, f
	}
	onlyOurs := func(id string) bool { return id == plsID }
	scope := Scope{Subscriptions: []string{sub, custSub}}

	t.Run("targets in scope", func(t *testing.T) {
		e, f := setup(t)
		outs, err := e.r.ReconcileEndpoint(context.Background(), peCust, scope, onlyOurs, ev)
		if err != nil || f.reads != 1 || e.arm.Gets.Load() != 1 {
			t.Fatalf("err %v, endpoint reads %d, PLS reads %d; want nil, 1, 1 (not-ours is out of scope)", err, f.reads, e.arm.Gets.Load())
		}
		if len(outs) != 1 || outs[0].Result != Approved || e.arm.Status(plsID, "c1") != StatusApproved {
			t.Fatalf("outcomes %+v, status %s", outs, e.arm.Status(plsID, "c1"))
		}
	})
	t.Run("outside the role's subscriptions", func(t *testing.T) {
		e, f := setup(t)
		outs, err := e.r.ReconcileEndpoint(context.Background(), peCust, Scope{Subscriptions: []string{sub}}, onlyOurs, ev)
		if err != nil || len(outs) != 0 || f.reads != 0 || e.arm.Gets.Load() != 0 {
			t.Fatalf("err %v, outcomes %v, endpoint reads %d, PLS reads %d; want no call", err, outs, f.reads, e.arm.Gets.Load())
		}
		// SCOPE_PLS_IDS only: the role is on the services, not on consumers' endpoints.
		if _, err := e.r.ReconcileEndpoint(context.Background(), peCust, Scope{PLSIDs: []string{plsID}}, onlyOurs, ev); err != nil || f.reads != 0 {
			t.Fatalf("PLS-ID scope: err %v, endpoint reads %d", err, f.reads)
		}
		// No scope: everything, so the read is attempted.
		if _, err := e.r.ReconcileEndpoint(context.Background(), peCust, Scope{}, onlyOurs, ev); err != nil || f.reads != 1 {
			t.Fatalf("empty scope: err %v, endpoint reads %d", err, f.reads)
		}
	})
	t.Run("read failures", func(t *testing.T) {
		for _, tc := range []struct {
			code      int
			retryable bool
		}{{429, true}, {503, true}, {403, false}, {404, false}} {
			e, f := setup(t)
			f.err = httpErr(tc.code)
			outs, err := e.r.ReconcileEndpoint(context.Background(), peCust, scope, onlyOurs, ev)
			if IsRetryable(err) != tc.retryable || (!tc.retryable && err != nil) || len(outs) != 0 || e.arm.Gets.Load() != 0 {
				t.Errorf("%d: err %v (retryable %v), outcomes %v, PLS reads %d; want retryable=%v and no PLS read", tc.code, err, IsRetryable(err), outs, e.arm.Gets.Load(), tc.retryable)
			}
		}
	})
}
