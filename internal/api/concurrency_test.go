package api

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/plsgate/plsgate/internal/arm"
	"github.com/plsgate/plsgate/internal/arm/armfake"
	"github.com/plsgate/plsgate/internal/reconcile"
	"github.com/plsgate/plsgate/internal/resource"
)

// realAPI is the API over the real reconciler, itself over in-memory ARM and Table storage.
type realAPI struct {
	*testAPI
	arm   *armfake.ARM
	clock time.Time
	mu    sync.Mutex
}

func newRealAPI(t *testing.T) *realAPI {
	t.Helper()
	ra := &realAPI{arm: armfake.New(), clock: testNow}
	st := newFakeStore()
	providers := resource.Providers{}
	providers.Add(ra.arm)
	r := &reconcile.Reconciler{Providers: providers, Store: st, Policy: mustPolicy(t), Now: ra.now,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	o := Options{
		Deciders: r, Store: st, Runs: st, Policy: r.Policy, Scope: reconcileScope(), Now: ra.now,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	easyAuth(t)(&o) // the callers force: not available with AUTH_MODE=key
	ra.testAPI = &testAPI{store: st, h: asAlice(t, New(o))}
	ra.arm.Add(&arm.PrivateLinkService{ID: plsID, Name: "contoso-pls", SubscriptionID: sub, ResourceGroup: "contoso", Connections: []arm.Connection{
		{ID: connID, Name: connName, Status: reconcile.StatusPending, Description: "hello", PrivateEndpointID: peCust},
	}})
	return ra
}

// now advances 1 ms per call so transition times are distinct and ordered.
func (ra *realAPI) now() time.Time {
	ra.mu.Lock()
	defer ra.mu.Unlock()
	ra.clock = ra.clock.Add(time.Millisecond)
	return ra.clock
}

// TestConcurrentApproveReject: an approve and a reject of one Pending connection at once → one
// wins (200, one ARM write), the other gets 409, and the history holds exactly the winner's
// decision with its principal and reason. Or, when the approval completes first, the forced
// reject then revokes it (issue 17.4): two writes, each recorded, in order.
func TestConcurrentApproveReject(t *testing.T) {
	for _, held := range []bool{true, false} {
		name := "racing"
		if held {
			name = "winner's ARM write held open"
		}
		t.Run(name, func(t *testing.T) {
			for round := 0; round < 20; round++ {
				ra := newRealAPI(t)
				gate := make(chan struct{})
				if held {
					ra.arm.WriteGate = gate
				} else {
					close(gate)
				}
				recs := map[string]*httptest.ResponseRecorder{}
				var mu sync.Mutex
				var wg sync.WaitGroup
				answered := make(chan string, 2)
				start := make(chan struct{})
				for _, action := range []string{"approve", "reject"} {
					wg.Add(1)
					go func() {
						defer wg.Done()
						<-start
						// Force: the policy leaves this connection Pending; both callers may override.
						rec := ra.do(t, post("/api/v1/connections/"+action, approveBody(action+" by operator", true), alice(t)...))
						mu.Lock()
						recs[action] = rec
						mu.Unlock()
						answered <- action
					}()
				}
				close(start)
				if held {
					// The loser answers while the winner's write is still in flight.
					first := <-answered
					mu.Lock()
					wantError(t, recs[first], 409, CodeInProgress)
					mu.Unlock()
					close(gate)
				}
				wg.Wait()

				if recs["approve"].Code == 200 && recs["reject"].Code == 200 {
					checkRevoked(t, ra)
					continue
				}
				var winner, loser string
				for action, rec := range recs {
					switch rec.Code {
					case 200:
						winner = action
					case 409:
						loser = action
					default:
						t.Fatalf("round %d: %s answered %d: %s", round, action, rec.Code, rec.Body.String())
					}
				}
				if winner == "" || loser == "" {
					t.Fatalf("round %d: winner %q loser %q", round, winner, loser)
				}
				checkHistory(t, ra, winner)
			}
		})
	}
}

func checkHistory(t *testing.T, ra *realAPI, winner string) {
	t.Helper()
	want := reconcile.StatusApproved
	if winner == "reject" {
		want = reconcile.StatusRejected
	}
	if got := ra.arm.Status(plsID, connName); got != want || ra.arm.Writes.Load() != 1 {
		t.Fatalf("ARM: status %s after %d writes, want %s after 1", got, ra.arm.Writes.Load(), want)
	}
	h := decodeBody[historyResponse](t, ra.do(t, get("/api/v1/connections/history?connectionId="+connID)), 200)
	var decided []TransitionJSON
	for _, tr := range h.Items {
		if tr.Subject == reconcile.SubjectConnection && tr.Action != "observe" {
			decided = append(decided, tr)
		}
	}
	if len(decided) != 1 {
		t.Fatalf("history holds %d decisions, want 1: %+v", len(decided), h.Items)
	}
	d := decided[0]
	if d.Action != winner || d.Phase != reconcile.PhaseDone || d.To != want || d.Actor != "principal:"+aliceUPN ||
		!strings.HasPrefix(d.Reason, winner+" by operator") || d.Trigger != "http" {
		t.Errorf("decision row = %+v", d)
	}
	// The stored state agrees, with no claim left behind.
	rows := decodeBody[connectionsResponse](t, ra.do(t, get("/api/v1/connections")), 200)
	if len(rows.Items) != 1 || rows.Items[0].Status != want || rows.Items[0].PendingAction != "" {
		t.Errorf("stored state = %+v", rows.Items)
	}
	// Anyone trying again now gets 409 with the current status.
	e := wantError(t, ra.do(t, post("/api/v1/connections/approve", approveBody("again", true))), 409, CodeNotPending)
	if e.Error.Status != want {
		t.Errorf("409 status = %q, want %q", e.Error.Status, want)
	}
}

// checkRevoked: the approval landed, then the reject revoked it.
func checkRevoked(t *testing.T, ra *realAPI) {
	t.Helper()
	if got := ra.arm.Status(plsID, connName); got != reconcile.StatusRejected || ra.arm.Writes.Load() != 2 {
		t.Fatalf("ARM: status %s after %d writes, want Rejected after 2", got, ra.arm.Writes.Load())
	}
	h := decodeBody[historyResponse](t, ra.do(t, get("/api/v1/connections/history?connectionId="+connID)), 200)
	var got []string
	for i := len(h.Items) - 1; i >= 0; i-- {
		if tr := h.Items[i]; tr.Subject == reconcile.SubjectConnection && tr.Action != "observe" {
			got = append(got, tr.From+">"+tr.To+":"+tr.Phase)
		}
	}
	if strings.Join(got, " ") != "Pending>Approved:done Approved>Rejected:done" {
		t.Fatalf("history: %v", got)
	}
}

// TestRealReconcilerRoutes runs approve, evaluate and reconcile against the real reconciler.
func TestRealReconcilerRoutes(t *testing.T) {
	ra := newRealAPI(t)
	// Evaluate by ID reads ARM through the deciders: "hello" matches no rule.
	ev := decodeBody[evaluateResponse](t, ra.do(t, post("/api/v1/evaluate", `{"connectionId": `+jsonString(connID)+`}`)), 200)
	if ev.Decision.Action != "leave" || ev.Facts.Connection.Description != "hello" || ev.Facts.Requester.SubscriptionID != "11111111-1111-1111-1111-111111111111" {
		t.Errorf("evaluate = %+v", ev)
	}
	// Without force the policy wins: 422 with the decision, nothing written.
	e := wantError(t, ra.do(t, post("/api/v1/connections/approve", approveBody("looks fine", false))), 422, CodePolicyDecides)
	if e.Error.Decision == nil || e.Error.Decision.Action != "leave" || ra.arm.Writes.Load() != 0 {
		t.Errorf("422 = %+v, writes %d", e.Error, ra.arm.Writes.Load())
	}
	// Unknown connection → 404; unknown PLS → 404.
	wantError(t, ra.do(t, post("/api/v1/connections/approve", strings.Replace(approveBody("r", true), connName, "nope", 1))), 404, CodeNotFound)
	wantError(t, ra.do(t, post("/api/v1/connections/approve", strings.Replace(approveBody("r", true), "contoso-pls", "nope", 1))), 404, CodeNotFound)
	wantError(t, ra.do(t, post("/api/v1/evaluate", `{"connectionId": `+jsonString(strings.Replace(connID, connName, "nope", 1))+`}`)), 404, CodeNotFound)
	// A synchronous reconcile records the first sighting and leaves it Pending.
	rr := decodeBody[reconcileResponse](t, ra.do(t, post("/api/v1/reconcile", `{"privateLinkServiceId": `+jsonString(plsID)+`}`)), 200)
	if !rr.Complete || len(rr.Outcomes) != 1 || rr.Outcomes[0].To != "Pending" {
		t.Errorf("reconcile = %+v", rr)
	}
	// Table storage down: 503, and no ARM write without an audit row.
	ra.store.Down.Store(true)
	rec := ra.do(t, post("/api/v1/connections/approve", approveBody("r", true)))
	wantError(t, rec, 503, CodeUnavailable)
	if ra.arm.Writes.Load() != 0 {
		t.Error("ARM written while Table storage was down")
	}
	ra.store.Down.Store(false)
	// A background scan over the real reconciler records its run.
	acc := decodeBody[scanAccepted](t, ra.do(t, post("/api/v1/reconcile", `{}`)), 202)
	run := waitRun(t, ra.testAPI, acc.RunID)
	if run.Status != runSucceeded || run.Scanned != 1 {
		t.Errorf("scan = %+v", run)
	}
	stored, err := ra.store.GetRun(t.Context(), acc.RunID)
	if err != nil || stored.Trigger != "http" {
		t.Errorf("stored run = %+v, %v", stored, err)
	}
}

// asAlice signs every request in as alice (an approver in the ops group) through Easy Auth
// unless the request names a principal itself.
func asAlice(t *testing.T, h http.Handler) http.Handler {
	hdr := alice(t)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get(headerPrincipal) == "" {
			for i := 0; i+1 < len(hdr); i += 2 {
				r.Header.Set(hdr[i], hdr[i+1])
			}
		}
		h.ServeHTTP(w, r)
	})
}
