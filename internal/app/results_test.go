package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/plsgate/plsgate/handler"
	"github.com/plsgate/plsgate/internal/arm"
	"github.com/plsgate/plsgate/internal/arm/armfake"
	"github.com/plsgate/plsgate/internal/config"
	"github.com/plsgate/plsgate/internal/events"
	"github.com/plsgate/plsgate/internal/fault"
	"github.com/plsgate/plsgate/internal/policy"
	"github.com/plsgate/plsgate/internal/reconcile"
	"github.com/plsgate/plsgate/internal/resource"
	"github.com/plsgate/plsgate/internal/store"
	"github.com/plsgate/plsgate/internal/store/memstore"
)

// The event table: retryable errors (every unmarked one included) fail the
// invocation; terminal ones are acknowledged, bad input at Warn.
func TestEventResult(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		fail bool
		lvl  slog.Level
	}{
		{"nil", nil, false, 0},
		{"unmarked", errors.New("boom"), true, 0},
		{"unmarked, wrapped", fmt.Errorf("reconcile x: %w", errors.New("boom")), true, 0},
		{"caller canceled", context.Canceled, true, 0},
		{"deadline", context.DeadlineExceeded, true, 0},
		{"Table storage unavailable", memstore.Unavailable(), true, 0},
		{"Table storage refuses plsgate (403)", store.Wrap("put", fakeAnswer(403)), true, 0},
		{"ARM unavailable", armfake.HTTPError(503), true, 0},
		{"malformed event", fmt.Errorf("%w: no data", events.ErrMalformed), false, slog.LevelWarn},
		{"ID over the Table key limit", fmt.Errorf("key: %w", store.ErrTooLarge), false, slog.LevelWarn},
		{"invalid argument", fmt.Errorf("get: %w", arm.ErrInvalidArgument), false, slog.LevelWarn},
		{"ARM refuses plsgate (403)", armfake.HTTPError(403), false, slog.LevelWarn},
		{"ARM refuses the change (409)", armfake.HTTPError(409), false, slog.LevelWarn},
		{"ARM not found", armfake.HTTPError(404), false, slog.LevelInfo},
		{"retry over a terminal cause", fault.Wrap(fault.Unavailable, "requeue", armfake.HTTPError(404)), true, 0},
		{"terminal and retryable joined", fault.Join(armfake.HTTPError(403), errors.New("boom")), true, 0},
		{"terminal with another code", fault.Terminal(errors.New("give up")), false, slog.LevelWarn},
	} {
		r := EventResult(tc.err)
		if r.Fail != tc.fail || (!r.Fail && tc.err != nil && (r.Level != tc.lvl || r.Say == "")) {
			t.Errorf("%s: %+v, want fail=%v level=%v", tc.name, r, tc.fail, tc.lvl)
		}
	}
	// Every terminal code is acknowledged with a message.
	for _, c := range fault.Codes() {
		if r := EventResult(&fault.Error{Code: c, Terminal: true}); r.Fail || r.Say == "" {
			t.Errorf("terminal %s: %+v", c, r)
		}
		if r := EventResult(&fault.Error{Code: c}); !r.Fail {
			t.Errorf("retryable %s acknowledged", c)
		}
	}
}

// A failed tick shows in monitoring whatever the class.
func TestTimerResult(t *testing.T) {
	if TimerResult(nil).Fail || !TimerResult(errors.New("boom")).Fail || !TimerResult(armfake.HTTPError(403)).Fail {
		t.Fatal("timer table")
	}
}

func fakeAnswer(status int) error { return &azcore.ResponseError{StatusCode: status} }

const (
	eventsSub = "11111111-1111-1111-1111-111111111111"
	eventsPLS = "/subscriptions/" + eventsSub + "/resourceGroups/rg/providers/Microsoft.Network/privateLinkServices/pls"
)

// eventApp is an App on the ARM fake and the in-memory store whose policy
// approves every Pending connection.
func eventApp(t *testing.T) (*App, *armfake.ARM) {
	t.Helper()
	pol, err := policy.Load("version: 1\ndefault: leave\nrules:\n  - name: all\n    match: { requestMessage: \"^let me in, 7f3a$\" }\n    action: approve\n")
	if err != nil {
		t.Fatal(err)
	}
	fa := armfake.New()
	fa.Add(&arm.PrivateLinkService{ID: eventsPLS, Name: "pls", SubscriptionID: eventsSub, ResourceGroup: "rg", Connections: []arm.Connection{{
		ID: eventsPLS + "/privateEndpointConnections/c1", Name: "c1", Status: reconcile.StatusPending, Description: "let me in, 7f3a",
		PrivateEndpointID: "/subscriptions/" + eventsSub + "/resourceGroups/rg/providers/Microsoft.Network/privateEndpoints/pe1",
	}}})
	providers := resource.Providers{}
	providers.Add(fa)
	a := &App{
		Config:     &config.Config{},
		Reconciler: &reconcile.Reconciler{Providers: providers, Store: memstore.New(), Policy: pol},
		Classifier: events.NewClassifier(events.Scope{}),
		Logger:     slog.New(slog.DiscardHandler),
	}
	return a, fa
}

func deliver(t *testing.T, a *App, payload string) error {
	t.Helper()
	inv := &handler.Invocation{ID: "inv-1", Logger: slog.New(slog.DiscardHandler)}
	return a.HandleEvent(context.Background(), inv, json.RawMessage(payload))
}

func connectionWrite(id string) string {
	subject := eventsPLS + "/privateEndpointConnections/c1"
	return `[{"id":"` + id + `","eventType":"Microsoft.Resources.ResourceWriteSuccess","subject":"` + subject + `",` +
		`"topic":"/subscriptions/` + eventsSub + `","eventTime":"2026-11-25T10:00:00Z","dataVersion":"2","metadataVersion":"1",` +
		`"data":{"operationName":"Microsoft.Network/privateLinkServices/privateEndpointConnections/write","resourceUri":"` + subject + `","status":"Succeeded","subscriptionId":"` + eventsSub + `"}}]`
}

// An error nobody classified (here the ARM write fails with one) fails the
// invocation so Event Grid redelivers. Before: it counted as a permanent
// refusal — a failed row, the event acknowledged, the connection held for 6 h.
func TestUnexpectedErrorOnEventPathFailsInvocation(t *testing.T) {
	a, fa := eventApp(t)
	fa.RefuseWrites = errors.New("something nobody foresaw")
	if err := deliver(t, a, connectionWrite("ev-1")); err == nil {
		t.Fatal("an unexpected error was acknowledged; want the invocation failed (redelivered)")
	}
	// Once the cause is gone, the redelivery approves.
	fa.RefuseWrites = nil
	if err := deliver(t, a, connectionWrite("ev-1")); err != nil {
		t.Fatalf("redelivery: %v", err)
	}
	pls, _ := fa.Get(context.Background(), eventsPLS)
	if pls.Connections[0].Status != reconcile.StatusApproved {
		t.Fatalf("after redelivery: %s, want Approved", pls.Connections[0].Status)
	}
}

// A terminal refusal is recorded and acknowledged, as before.
func TestTerminalRefusalOnEventPathAcknowledged(t *testing.T) {
	a, fa := eventApp(t)
	fa.RefuseWrites = armfake.HTTPError(403)
	if err := deliver(t, a, connectionWrite("ev-1")); err != nil {
		t.Fatalf("a 403 refusal: %v, want acknowledged", err)
	}
}

// Bad input is acknowledged: a malformed payload, a malformed event among good
// ones, an ID over the Table key limit.
func TestBadInputOnEventPathAcknowledged(t *testing.T) {
	a, fa := eventApp(t)
	long := eventsPLS + strings.Repeat("%", 400) // 3 bytes each once escaped: over 1 KiB
	for name, payload := range map[string]string{
		"not JSON":           `{`,
		"empty array":        `[]`,
		"event without type": `[{"id":"x","subject":"s"}]`,
		"ID over the key limit": `[{"id":"x","eventType":"Microsoft.Resources.ResourceWriteSuccess","subject":"` + long + `","topic":"/subscriptions/` + eventsSub + `",` +
			`"eventTime":"2026-11-25T10:00:00Z","dataVersion":"2","metadataVersion":"1","data":{"operationName":"Microsoft.Network/privateLinkServices/write","resourceUri":"` + long + `","status":"Succeeded","subscriptionId":"` + eventsSub + `"}}]`,
	} {
		if err := deliver(t, a, payload); err != nil {
			t.Errorf("%s: %v, want acknowledged", name, err)
		}
	}
	if n := fa.Writes.Load() + fa.Gets.Load(); n != 0 {
		t.Errorf("bad input made %d ARM calls", n)
	}
}
