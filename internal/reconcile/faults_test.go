package reconcile

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"

	"github.com/plsgate/plsgate/internal/arm"
	"github.com/plsgate/plsgate/internal/arm/armfake"
	"github.com/plsgate/plsgate/internal/events"
	"github.com/plsgate/plsgate/internal/fault"
	"github.com/plsgate/plsgate/internal/policy"
	"github.com/plsgate/plsgate/internal/store"
	"github.com/plsgate/plsgate/internal/store/memstore"
)

// The helpers speak fault: retry unless marked terminal; bad input is terminal.
// Before: only errors marked retryable were retried, so an unforeseen ARM error,
// a canceled call or a part joined with a terminal error was acknowledged, and
// every store error — an ID over the Table key limit included — was retried.
func TestErrorHelpersClass(t *testing.T) {
	raw := func(status int) error {
		return &azcore.ResponseError{StatusCode: status, ErrorCode: fmt.Sprint(status)}
	}
	for _, tc := range []struct {
		name  string
		err   error
		retry bool
	}{
		{"unforeseen ARM error", armErrWrap("read", errors.New("boom")), true},
		{"ARM call canceled", armErrWrap("read", context.Canceled), true},
		{"ARM deadline", armErrWrap("write", context.DeadlineExceeded), true},
		{"ARM 503", armErrWrap("read", raw(503)), true},
		{"ARM 403 (raw, from a provider)", armErrWrap("read", raw(403)), false},
		{"ARM 404", classifyARM(raw(404)), false},
		{"ARM 409 refusal", armErrWrap("write", armfake.HTTPError(409)), false},
		{"invalid argument", armErrWrap("read", fmt.Errorf("%w: empty name", arm.ErrInvalidArgument)), false},
		{"ID over the Table key limit", storeErr("load rows", fmt.Errorf("%w: key", store.ErrTooLarge)), false},
		{"malformed event", fmt.Errorf("%w: no data", events.ErrMalformed), false},
		{"Table storage 503", storeErr("claim", memstore.Unavailable()), true},
		{"Table storage 403", storeErr("claim", store.Wrap("", raw(403))), true},
		{"store conflict", storeErr("claim", store.ErrConflict), true},
		{"unforeseen store error", storeErr("decode", errors.New("bad row")), true},
		{"retryable over a terminal cause", retryable(armfake.HTTPError(404)), true},
		{"ErrRetryable", fmt.Errorf("x: %w", ErrRetryable), true},
		{"not found", fmt.Errorf("connection c: %w", ErrNotFound), false},
		{"joined: terminal and unforeseen", joinErrs([]error{armfake.HTTPError(403), errors.New("boom")}), true},
		{"joined: all terminal", joinErrs([]error{armfake.HTTPError(403), armfake.HTTPError(404)}), false},
	} {
		if got := IsRetryable(tc.err); got != tc.retry {
			t.Errorf("%s: IsRetryable(%v) = %v, want %v (code %s)", tc.name, tc.err, got, tc.retry, fault.CodeOf(tc.err))
		}
	}
	if joinErrs(nil) != nil {
		t.Error("joinErrs(nil) != nil")
	}
}

// overlongStore refuses every PLS ID as too long for a Table key, as the Table store does
// for an ID over 1 KiB once escaped (memstore keeps no such limit).
type overlongStore struct{ *memstore.Store }

func (overlongStore) ListConnections(context.Context, store.ConnectionQuery) ([]store.Connection, string, error) {
	return nil, "", fmt.Errorf("%w: resource ID key is 2696 bytes (limit 1024)", store.ErrTooLarge)
}

// A PLS whose ID no Table key can hold is bad input: Reconcile's error is terminal (the
// event is acknowledged, not redelivered for 24 h). Before: storeErr marked it retryable.
func TestOverlongIDIsTerminal(t *testing.T) {
	p, err := policy.Parse("test.yaml", []byte(testPolicy))
	if err != nil {
		t.Fatal(err)
	}
	fa := armfake.New()
	fa.Add(&arm.PrivateLinkService{ID: plsID, Name: "contoso-pls", SubscriptionID: sub, ResourceGroup: "contoso"})
	r := &Reconciler{Providers: providers(fa), Store: overlongStore{memstore.New()}, Policy: p}
	_, err = r.Reconcile(context.Background(), plsID, ev)
	if err == nil || IsRetryable(err) || fault.CodeOf(err) != fault.Invalid || !errors.Is(err, store.ErrTooLarge) {
		t.Fatalf("err %v (code %s): want terminal Invalid", err, fault.CodeOf(err))
	}
}
