package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/plsgate/plsgate/internal/reconcile"
	"github.com/plsgate/plsgate/internal/store"
)

func TestReconcileOnePLS(t *testing.T) {
	body := `{"privateLinkServiceId": ` + jsonString(plsID) + `}`
	t.Run("outcomes", func(t *testing.T) {
		ta := newTestAPI(t, easyAuth(t))
		ta.dec.reconcile = func(id string) ([]reconcile.Outcome, error) {
			return []reconcile.Outcome{
				{PLSID: id, Connection: "a", From: "Pending", To: "Approved", Result: reconcile.Approved, Action: "approve", Rule: "customers"},
				{PLSID: id, Connection: "b", From: "Approved", To: "Approved", Result: reconcile.Unchanged},
			}, nil
		}
		rec := ta.do(t, post("/api/v1/reconcile", body, alice(t)...))
		got := decodeBody[reconcileResponse](t, rec, 200)
		if !got.Complete || len(got.Outcomes) != 2 || got.Outcomes[0].Result != "approved" || got.Outcomes[0].Rule != "customers" {
			t.Errorf("answer = %+v", got)
		}
		if tr := ta.dec.lastTrigger(); tr.Kind != "http" || tr.Actor != "principal:"+aliceUPN {
			t.Errorf("trigger = %+v", tr)
		}
		if ta.dec.reconciled[0] != plsID {
			t.Errorf("reconciled %v", ta.dec.reconciled)
		}
	})
	t.Run("terminal per-connection failure answers the outcomes", func(t *testing.T) {
		ta := newTestAPI(t, nil)
		fail := fmt.Errorf("approve a: %w", httpErr(400))
		ta.dec.reconcile = func(id string) ([]reconcile.Outcome, error) {
			return []reconcile.Outcome{{PLSID: id, Connection: "a", Result: reconcile.Failed, Err: fail}}, fail
		}
		got := decodeBody[reconcileResponse](t, ta.do(t, post("/api/v1/reconcile", body)), 200)
		if got.Complete || got.Outcomes[0].Error == "" || strings.Contains(got.Outcomes[0].Error, "fake") {
			t.Errorf("answer = %+v", got)
		}
	})
	for _, tc := range []struct {
		name   string
		body   string
		err    error
		status int
		code   string
	}{
		{"bad ID", `{"privateLinkServiceId": "/subscriptions/x/resourceGroups/y"}`, nil, 400, CodeInvalidID},
		{"connection ID", `{"privateLinkServiceId": ` + jsonString(connID) + `}`, nil, 400, CodeInvalidID},
		{"empty ID", `{"privateLinkServiceId": ""}`, nil, 400, CodeBadRequest},
		{"unknown field", `{"pls": "x"}`, nil, 400, CodeUnknownField},
		{"malformed", `{`, nil, 400, CodeInvalidJSON},
		{"retryable", body, fmt.Errorf("read: %w", reconcile.ErrRetryable), 503, CodeUnavailable},
		{"forbidden", body, fmt.Errorf("read: %w", httpErr(403)), 502, CodeUpstreamRefused},
		{"deadline", body, context.DeadlineExceeded, 503, CodeUnavailable},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ta := newTestAPI(t, nil)
			ta.dec.reconcile = func(string) ([]reconcile.Outcome, error) { return nil, tc.err }
			wantError(t, ta.do(t, post("/api/v1/reconcile", tc.body)), tc.status, tc.code)
		})
	}
}

// scanControl lets a test hold a background scan open and see its context.
type scanControl struct {
	started chan context.Context
	release chan struct{}
}

func newScanControl() *scanControl {
	return &scanControl{started: make(chan context.Context, 1), release: make(chan struct{})}
}

func (c *scanControl) scan(ctx context.Context, o reconcile.ScanOptions) (reconcile.RunSummary, error) {
	c.started <- ctx
	o.Progress(reconcile.RunSummary{RunID: o.RunID, Scanned: 3, Listed: 10, Approved: 1})
	<-c.release
	if ctx.Err() != nil {
		return reconcile.RunSummary{RunID: o.RunID}, ctx.Err()
	}
	return reconcile.RunSummary{RunID: o.RunID, Scanned: 10, Listed: 10, Approved: 2, Rejected: 1, Complete: true}, nil
}

// waitRun polls GET /reconcile/{id} until the run is no longer running.
func waitRun(t *testing.T, ta *testAPI, id string) runJSON {
	t.Helper()
	for i := 0; i < 2000; i++ {
		got := decodeBody[runJSON](t, ta.do(t, get("/api/v1/reconcile/"+id)), 200)
		if got.Status != runRunning {
			return got
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("run %s still running", id)
	return runJSON{}
}

func TestReconcileScanInBackground(t *testing.T) {
	ta := newTestAPI(t, nil)
	ctl := newScanControl()
	ta.dec.scan = ctl.scan

	// The request's context ends as soon as the answer is written: the scan must not care.
	reqCtx, cancel := context.WithCancel(context.Background())
	hr := post("/api/v1/reconcile", "{}")
	rec := ta.doCtx(t, reqCtx, hr)
	cancel()
	acc := decodeBody[scanAccepted](t, rec, http.StatusAccepted)
	if acc.RunID == "" || acc.Status != "running" || rec.Header().Get("Location") != "/api/v1/reconcile/"+acc.RunID || acc.StatusURL != rec.Header().Get("Location") {
		t.Fatalf("202 answer %+v, Location %q", acc, rec.Header().Get("Location"))
	}
	scanCtx := <-ctl.started
	if scanCtx.Err() != nil {
		t.Fatal("the scan's context ended with the request")
	}
	if _, ok := scanCtx.Deadline(); !ok {
		t.Error("the background scan has no deadline")
	}

	// One at a time.
	e := wantError(t, ta.do(t, post("/api/v1/reconcile", "")), http.StatusConflict, CodeScanRunning)
	if e.Error.RunID != acc.RunID {
		t.Errorf("409 names run %q, want %q", e.Error.RunID, acc.RunID)
	}

	// Progress while running, in memory (the store may not have the run yet).
	got := decodeBody[runJSON](t, ta.do(t, get("/api/v1/reconcile/"+acc.RunID)), 200)
	if got.Status != runRunning || got.Scanned != 3 || got.Total != 10 || got.FinishedAt != nil {
		t.Errorf("progress = %+v", got)
	}
	// The status page shows the running scan.
	if page := ta.do(t, get("/api/v1/status")).Body.String(); !strings.Contains(page, acc.RunID) {
		t.Error("status page does not show the running scan")
	}

	close(ctl.release)
	done := waitRun(t, ta, acc.RunID)
	if done.Status != runSucceeded || done.Scanned != 10 || done.Acted != 3 || *done.Approved != 2 || done.FinishedAt == nil || done.Trigger != "http" {
		t.Errorf("result = %+v", done)
	}
	if tr := ta.dec.lastTrigger(); tr.Kind != "http" || tr.Actor != "function-key" {
		t.Errorf("scan trigger = %+v", tr)
	}
	// A new scan may start now.
	ta.dec.scan = nil
	acc2 := decodeBody[scanAccepted](t, ta.do(t, post("/api/v1/reconcile", "{}")), http.StatusAccepted)
	if acc2.RunID == acc.RunID {
		t.Error("run IDs repeat")
	}
	waitRun(t, ta, acc2.RunID)
}

func TestReconcileScanStatuses(t *testing.T) {
	for _, tc := range []struct {
		name string
		sum  reconcile.RunSummary
		err  error
		want string
	}{
		{"budget ran out", reconcile.RunSummary{Scanned: 4}, nil, runPartial},
		{"failed", reconcile.RunSummary{}, errors.New("list: boom"), runFailed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ta := newTestAPI(t, nil)
			ta.dec.scan = func(context.Context, reconcile.ScanOptions) (reconcile.RunSummary, error) { return tc.sum, tc.err }
			acc := decodeBody[scanAccepted](t, ta.do(t, post("/api/v1/reconcile", "{}")), http.StatusAccepted)
			got := waitRun(t, ta, acc.RunID)
			if got.Status != tc.want || got.Resumable != (tc.want == runPartial) || got.HasErrors != (tc.want == runFailed) {
				t.Errorf("run = %+v", got)
			}
		})
	}
	t.Run("panic", func(t *testing.T) {
		ta := newTestAPI(t, nil)
		ta.dec.scan = func(context.Context, reconcile.ScanOptions) (reconcile.RunSummary, error) { panic("boom") }
		acc := decodeBody[scanAccepted](t, ta.do(t, post("/api/v1/reconcile", "{}")), http.StatusAccepted)
		if got := waitRun(t, ta, acc.RunID); got.Status != runFailed {
			t.Errorf("run = %+v", got)
		}
	})
	t.Run("no scope", func(t *testing.T) {
		ta := newTestAPI(t, func(o *Options) { o.Scope = reconcile.Scope{} })
		wantError(t, ta.do(t, post("/api/v1/reconcile", "{}")), 400, CodeBadRequest)
	})
}

func TestGetRunFromStore(t *testing.T) {
	ta := newTestAPI(t, nil)
	run := store.Run{ID: "0000000000000000001-abcd", Trigger: "timer", Status: "partial", StartedAt: testNow.Add(-time.Minute), FinishedAt: testNow,
		Scanned: 5, Total: 9, Acted: 1, Observed: 2, Drift: 1, Continuation: "0:5", Error: "list: https://management.azure.com/... 500"}
	ta.store.SeedRun(run)
	got := decodeBody[runJSON](t, ta.do(t, get("/api/v1/reconcile/"+run.ID)), 200)
	if got.Status != "partial" || got.Trigger != "timer" || got.Scanned != 5 || got.Total != 9 || !got.Resumable || !got.HasErrors || got.Approved != nil {
		t.Errorf("run = %+v", got)
	}
	if strings.Contains(ta.do(t, get("/api/v1/reconcile/"+run.ID)).Body.String(), "management.azure.com") {
		t.Error("run error text leaked")
	}
	wantError(t, ta.do(t, get("/api/v1/reconcile/nope")), 404, CodeNotFound)
	wantError(t, ta.do(t, get("/api/v1/reconcile/"+strings.Repeat("a", 200))), 400, CodeBadRequest)
	wantError(t, ta.do(t, get("/api/v1/reconcile/a%23b")), 400, CodeBadRequest)
	ta.store.Down.Store(true)
	wantError(t, ta.do(t, get("/api/v1/reconcile/"+run.ID)), 503, CodeUnavailable)
}
