package reconcile

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/plsgate/plsgate/internal/arm"
	"github.com/plsgate/plsgate/internal/arm/armfake"
	"github.com/plsgate/plsgate/internal/policy"
	"github.com/plsgate/plsgate/internal/resource"
	"github.com/plsgate/plsgate/internal/store"
	"github.com/plsgate/plsgate/internal/store/memstore"
)

const sub2 = "00000000-0000-0000-0000-000000000002"

var timer = Trigger{Kind: "timer", InvocationID: "inv-1"}

func scanPLSID(s string, i int) string {
	return fmt.Sprintf("/subscriptions/%s/resourceGroups/rg/providers/Microsoft.Network/privateLinkServices/pls-%02d", s, i)
}

// addServices adds n PLSs to subscription s, each with one Pending
// connection that the "customers" rule approves.
func (e *env) addServices(s string, n int) []string {
	var ids []string
	for i := range n {
		id := scanPLSID(s, i)
		e.arm.Add(&arm.PrivateLinkService{ID: id, Name: fmt.Sprintf("pls-%02d", i), SubscriptionID: s, ResourceGroup: "rg",
			Connections: []arm.Connection{{ID: id + "/privateEndpointConnections/c", Name: "c", Status: StatusPending, Description: "please approve", PrivateEndpointID: peCust}}})
		ids = append(ids, id)
	}
	return ids
}

// scanARM wraps the fake ARM to observe and shape a scan: pages handed out,
// writes in flight, and a delay for chosen PLSs.
type scanARM struct {
	*armfake.ARM
	pages    atomic.Int64
	inFlight atomic.Int64
	maxIn    atomic.Int64
	slow     map[string]time.Duration // PLS ID → extra write latency
	failList map[string]error         // subscription → error instead of pages
	onWrite  func(plsID string)
}

func (a *scanARM) List(ctx context.Context, s string) iter.Seq2[[]*resource.Resource, error] {
	if err := a.failList[s]; err != nil {
		return func(yield func([]*resource.Resource, error) bool) { yield(nil, err) }
	}
	return func(yield func([]*resource.Resource, error) bool) {
		for page, err := range a.ARM.List(ctx, s) {
			a.pages.Add(1)
			if !yield(page, err) {
				return
			}
		}
	}
}

func (a *scanARM) UpdateConnection(ctx context.Context, plsID string, u arm.ConnectionUpdate) (*arm.Connection, error) {
	n := a.inFlight.Add(1)
	defer a.inFlight.Add(-1)
	for {
		m := a.maxIn.Load()
		if n <= m || a.maxIn.CompareAndSwap(m, n) {
			break
		}
	}
	if a.onWrite != nil {
		a.onWrite(plsID)
	}
	if d := a.slow[plsID]; d > 0 {
		time.Sleep(d)
	} else {
		time.Sleep(time.Millisecond) // let writes overlap
	}
	return a.ARM.UpdateConnection(ctx, plsID, u)
}

func newScanEnv(t *testing.T) (*env, *scanARM) {
	t.Helper()
	e := newEnv(t, testPolicy)
	a := &scanARM{ARM: e.arm}
	e.r.Providers = providers(a)
	return e, a
}

func (e *env) approvedCount(ids []string) int {
	n := 0
	for _, id := range ids {
		if e.arm.Status(id, "c") == StatusApproved {
			n++
		}
	}
	return n
}

// A subscription scan reads list pages only (no per-PLS GET), writes once
// per Pending connection, and records a finished run without a position.
func TestScanSubscriptionListsPagesOnly(t *testing.T) {
	e, a := newScanEnv(t)
	ids := e.addServices(sub, 7) // 4 pages of 2
	sum, err := e.r.Scan(context.Background(), Scope{Subscriptions: []string{sub}}, e.store, timer, ScanOptions{Concurrency: 3})
	if err != nil {
		t.Fatal(err)
	}
	if !sum.Complete || sum.Scanned != 7 || sum.Listed != 7 || sum.Connections != 7 || sum.Approved != 7 || sum.Acted() != 7 || sum.ResumedAt != "" {
		t.Fatalf("summary: %+v", sum)
	}
	if got := [3]int64{a.pages.Load(), e.arm.Gets.Load(), e.arm.Writes.Load()}; got != [3]int64{4, 0, 7} {
		t.Fatalf("ARM pages/GETs/writes = %v, want [4 0 7]", got)
	}
	if e.approvedCount(ids) != 7 || len(sum.Outcomes) != 7 {
		t.Fatalf("approved %d, outcomes %d", e.approvedCount(ids), len(sum.Outcomes))
	}
	run := e.store.run(sum.RunID)
	if run.Status != "succeeded" || run.Trigger != "timer" || run.Scanned != 7 || run.Total != 7 || run.Acted != 7 || run.Continuation != "" || run.FinishedAt.IsZero() {
		t.Fatalf("run record: %+v", run)
	}
	if cp := e.store.checkpoint(ScopeKey(Scope{Subscriptions: []string{sub}})); cp != "" {
		t.Fatalf("position stored after a complete scan: %q", cp)
	}
	h := e.store.history("c")
	for _, tr := range h {
		if tr.Trigger != "timer" || tr.InvocationID != "inv-1" {
			t.Fatalf("transition without the timer trigger: %+v", tr)
		}
	}

	// The next scan finds nothing to do.
	sum, err = e.r.Scan(context.Background(), Scope{Subscriptions: []string{sub}}, e.store, timer, ScanOptions{})
	if err != nil || sum.Acted() != 0 || len(sum.Outcomes) != 0 || e.arm.Writes.Load() != 7 || len(e.store.history("c")) != len(h) {
		t.Fatalf("second scan: %+v %v (writes %d)", sum, err, e.arm.Writes.Load())
	}
}

// Explicit PLS IDs are read one GET each.
func TestScanExplicitPLSIDs(t *testing.T) {
	e, a := newScanEnv(t)
	ids := e.addServices(sub, 3)
	sum, err := e.r.Scan(context.Background(), Scope{PLSIDs: ids[:2]}, e.store, timer, ScanOptions{})
	if err != nil || !sum.Complete || sum.Scanned != 2 || sum.Approved != 2 {
		t.Fatalf("%+v %v", sum, err)
	}
	if e.arm.Gets.Load() != 2 || a.pages.Load() != 0 || e.arm.Status(ids[2], "c") != StatusPending {
		t.Fatalf("GETs %d, pages %d, third PLS %s", e.arm.Gets.Load(), a.pages.Load(), e.arm.Status(ids[2], "c"))
	}
}

// Pages are streamed: the scan never reads more than one page ahead of the
// PLSs it works on, so memory does not grow with the number of PLSs.
func TestScanStreamsPages(t *testing.T) {
	for _, conc := range []int{1, 4} {
		t.Run(fmt.Sprint("concurrency=", conc), func(t *testing.T) {
			e, a := newScanEnv(t)
			e.addServices(sub, 20) // 10 pages of 2
			var mu sync.Mutex
			started := 0
			a.onWrite = func(string) {
				mu.Lock()
				defer mu.Unlock()
				started++
				// PLS number `started` is at work: at most its own page, the
				// pages of the others in flight, and two pages ahead (one
				// waiting, one being read) are read.
				if limit := int64((started+conc-1)/2 + 3); a.pages.Load() > limit {
					t.Errorf("PLS %d at work with %d pages read (limit %d)", started, a.pages.Load(), limit)
				}
			}
			if _, err := e.r.Scan(context.Background(), Scope{Subscriptions: []string{sub}}, e.store, timer, ScanOptions{Concurrency: conc}); err != nil {
				t.Fatal(err)
			}
			if started != 20 || a.pages.Load() != 10 {
				t.Fatalf("%d PLSs worked on, %d pages", started, a.pages.Load())
			}
		})
	}
}

// A scan keeps at most MaxScanOutcomes outcomes (a first scan of a large
// estate changes every connection) and counts the rest.
func TestScanKeepsBoundedOutcomes(t *testing.T) {
	e, _ := newScanEnv(t)
	st := memstore.New() // indexed: the fake store scans every row per query
	e.r.Store = st
	e.arm.PageSize = 100
	n := MaxScanOutcomes + 5
	e.addServices(sub, n)
	sum, err := e.r.Scan(context.Background(), Scope{Subscriptions: []string{sub}}, st, timer, ScanOptions{Concurrency: 8})
	if err != nil || sum.Approved != n || len(sum.Outcomes) != MaxScanOutcomes || sum.OutcomesOmitted != 5 {
		t.Fatalf("approved %d, %d outcomes kept, %d omitted, err %v", sum.Approved, len(sum.Outcomes), sum.OutcomesOmitted, err)
	}
}

func TestScanConcurrencyBound(t *testing.T) {
	for _, conc := range []int{1, 3, 8} {
		t.Run(fmt.Sprint("concurrency=", conc), func(t *testing.T) {
			e, a := newScanEnv(t)
			e.arm.PageSize = 50
			ids := e.addServices(sub, 24)
			var calls atomic.Int64
			var mu sync.Mutex
			inProgress := false
			sum, err := e.r.Scan(context.Background(), Scope{Subscriptions: []string{sub}}, e.store, timer, ScanOptions{Concurrency: conc,
				Progress: func(s RunSummary) {
					// Serialized: never two calls at once (the race detector checks inProgress too).
					mu.Lock()
					if inProgress {
						t.Error("Progress called concurrently")
					}
					inProgress = true
					mu.Unlock()
					if n := calls.Add(1); int(n) != s.Scanned {
						t.Errorf("progress call %d reports %d scanned", n, s.Scanned)
					}
					mu.Lock()
					inProgress = false
					mu.Unlock()
				}})
			if err != nil || sum.Scanned != 24 || e.approvedCount(ids) != 24 {
				t.Fatalf("%+v %v", sum, err)
			}
			if m := a.maxIn.Load(); m > int64(conc) {
				t.Fatalf("%d writes in flight, concurrency %d", m, conc)
			}
			if calls.Load() != 24 {
				t.Fatalf("progress called %d times for 24 PLSs", calls.Load())
			}
		})
	}
}

// A scan that runs out of budget stores its position; the next one resumes
// there and finishes; every Pending connection is written exactly once.
func TestScanBudgetStopsAndNextScanResumes(t *testing.T) {
	tests := []struct {
		name     string
		explicit int // explicit PLSs (another subscription) scanned before the subscription
		slow     int // index (in the subscription) of the PLS that outlasts the budget
		source   string
	}{
		{"subscription", 0, 3, "0:"},
		{"explicit then subscription", 2, 5, "1:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, a := newScanEnv(t)
			explicit := e.addServices(sub2, tt.explicit)
			listed := e.addServices(sub, 10)
			scope := Scope{PLSIDs: explicit, Subscriptions: []string{sub}}
			all := append(append([]string(nil), explicit...), listed...)
			a.slow = map[string]time.Duration{listed[tt.slow]: 300 * time.Millisecond}
			ctx := context.Background()

			first, err := e.r.Scan(ctx, scope, e.store, timer, ScanOptions{Concurrency: 1, Budget: 50 * time.Millisecond, Resume: true})
			if err != nil {
				t.Fatal(err)
			}
			cp := e.store.checkpoint(ScopeKey(scope))
			total := len(all)
			if first.Complete || first.Scanned >= total || cp == "" || !strings.HasPrefix(cp, tt.source) {
				t.Fatalf("first scan: %+v, position %q", first, cp)
			}
			if run := e.store.run(first.RunID); run.Status != "partial" || run.Continuation != cp || run.Scanned != first.Scanned {
				t.Fatalf("first run record: %+v", run)
			}
			if w := int(e.arm.Writes.Load()); w != first.Scanned {
				t.Fatalf("first scan: %d writes for %d PLSs", w, first.Scanned)
			}

			second, err := e.r.Scan(ctx, scope, e.store, timer, ScanOptions{Concurrency: 1, Resume: true})
			if err != nil {
				t.Fatal(err)
			}
			if !second.Complete || second.ResumedAt != cp || first.Scanned+second.Scanned != total {
				t.Fatalf("second scan: %+v (first scanned %d of %d)", second, first.Scanned, total)
			}
			if e.store.checkpoint(ScopeKey(scope)) != "" || e.store.run(second.RunID).Status != "succeeded" {
				t.Fatalf("after the resumed scan: position %q, run %+v", e.store.checkpoint(ScopeKey(scope)), e.store.run(second.RunID))
			}
			if e.approvedCount(all) != total || int(e.arm.Writes.Load()) != total {
				t.Fatalf("approved %d, writes %d, want %d each", e.approvedCount(all), e.arm.Writes.Load(), total)
			}
			if gets := int(e.arm.Gets.Load()); gets != tt.explicit {
				t.Fatalf("%d GETs: the resumed scan read explicit PLSs again", gets)
			}

			// A later scan starts from the beginning again and changes nothing.
			third, err := e.r.Scan(ctx, scope, e.store, timer, ScanOptions{Concurrency: 4, Resume: true})
			if err != nil || !third.Complete || third.ResumedAt != "" || third.Scanned != total || third.Acted() != 0 {
				t.Fatalf("third scan: %+v %v", third, err)
			}
		})
	}
}

// Without Resume, or with a position that is not ours or not readable, a scan starts at the beginning.
func TestScanIgnoresForeignOrBadPosition(t *testing.T) {
	e, _ := newScanEnv(t)
	e.addServices(sub, 4)
	scope := Scope{Subscriptions: []string{sub}}
	e.store.setCheckpoint(ScopeKey(Scope{Subscriptions: []string{sub2}}), "0:3")
	for _, tt := range []struct {
		stored string
		resume bool
	}{{"", true}, {"garbage", true}, {"0:-1", true}, {"0:3", false}} {
		e.store.setCheckpoint(ScopeKey(scope), tt.stored)
		sum, err := e.r.Scan(context.Background(), scope, e.store, timer, ScanOptions{Resume: tt.resume})
		if err != nil || sum.ResumedAt != "" || sum.Scanned != 4 {
			t.Fatalf("stored %q resume=%v: %+v %v", tt.stored, tt.resume, sum, err)
		}
	}
}

func TestScopeKey(t *testing.T) {
	a := ScopeKey(Scope{Subscriptions: []string{sub, sub2}, PLSIDs: []string{scanPLSID(sub, 1), scanPLSID(sub, 0)}})
	b := ScopeKey(Scope{Subscriptions: []string{sub2, sub}, PLSIDs: []string{strings.ToUpper(scanPLSID(sub, 0)), scanPLSID(sub, 1) + "/"}})
	if a != b {
		t.Errorf("order and case change the key: %s vs %s", a, b)
	}
	if a == ScopeKey(Scope{Subscriptions: []string{sub}}) || ScopeKey(Scope{Subscriptions: []string{sub}}) == ScopeKey(Scope{PLSIDs: []string{sub}}) {
		t.Errorf("different scopes share a key")
	}
}

// Run IDs sort newest first like the store's own (LatestRun, the status
// page) and never collide.
func TestScanRunIDsSortNewestFirst(t *testing.T) {
	e, _ := newScanEnv(t)
	e.addServices(sub, 1)
	var ids []string
	for range 3 {
		sum, err := e.r.Scan(context.Background(), Scope{Subscriptions: []string{sub}}, e.store, timer, ScanOptions{})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, sum.RunID)
	}
	if !(ids[2] < ids[1] && ids[1] < ids[0]) {
		t.Fatalf("run IDs do not sort newest first: %q", ids)
	}
	if sum, _ := e.r.Scan(context.Background(), Scope{Subscriptions: []string{sub}}, e.store, timer, ScanOptions{RunID: "given"}); sum.RunID != "given" {
		t.Fatalf("RunID option ignored: %q", sum.RunID)
	}
}

// A subscription that cannot be listed does not stop the others; the scan is
// incomplete, fails, and stores no position (the next tick starts over).
func TestScanListFailureOtherSubscriptionsContinue(t *testing.T) {
	e, a := newScanEnv(t)
	e.addServices(sub, 2)
	ids := e.addServices(sub2, 2)
	a.failList = map[string]error{sub: httpErr(403)}
	scope := Scope{Subscriptions: []string{sub, sub2}}
	sum, err := e.r.Scan(context.Background(), scope, e.store, timer, ScanOptions{Resume: true})
	if err == nil || !strings.Contains(err.Error(), "list private link services of subscription "+sub) || IsRetryable(err) {
		t.Fatalf("error: %v", err)
	}
	if sum.Complete || sum.Scanned != 2 || e.approvedCount(ids) != 2 {
		t.Fatalf("%+v", sum)
	}
	if run := e.store.run(sum.RunID); run.Status != "failed" || run.Error == "" || e.store.checkpoint(ScopeKey(scope)) != "" {
		t.Fatalf("run %+v, position %q", run, e.store.checkpoint(ScopeKey(scope)))
	}
}

// A PLS that fails (ARM 503 on the write) is counted, the error is
// retryable, and the next scan resumes the recorded intent: one approval.
func TestScanFailedPLSRetriedNextScan(t *testing.T) {
	e, _ := newScanEnv(t)
	ids := e.addServices(sub, 3)
	e.arm.FailWrites.Store(1)
	scope := Scope{Subscriptions: []string{sub}}
	sum, err := e.r.Scan(context.Background(), scope, e.store, timer, ScanOptions{Concurrency: 1})
	if !IsRetryable(err) || sum.Failed != 1 || sum.Approved != 2 || !sum.Complete || e.store.run(sum.RunID).Status != "failed" {
		t.Fatalf("%+v %v", sum, err)
	}
	sum, err = e.r.Scan(context.Background(), scope, e.store, timer, ScanOptions{})
	if err != nil || sum.Approved != 1 || e.approvedCount(ids) != 3 {
		t.Fatalf("second scan: %+v %v", sum, err)
	}
	if w := e.arm.Writes.Load(); w != 4 { // 3 approvals + the failed attempt
		t.Fatalf("writes %d", w)
	}
	done := 0
	for _, tr := range e.store.history("c") {
		if tr.Phase == PhaseDone {
			done++
		}
	}
	if done != 3 {
		t.Fatalf("%d done rows, want 3", done)
	}
}

// Drift across scans: reported once, counted in the run; enforce rejects it;
// a Rejected connection is never approved whatever the policy says.
func TestScanDriftAcrossScans(t *testing.T) {
	e, _ := newScanEnv(t)
	ids := e.addServices(sub, 1)
	e.arm.Add(&arm.PrivateLinkService{ID: scanPLSID(sub, 9), Name: "pls-09", SubscriptionID: sub, ResourceGroup: "rg",
		Connections: []arm.Connection{{ID: scanPLSID(sub, 9) + "/privateEndpointConnections/r", Name: "r", Status: StatusRejected, Description: "please approve", PrivateEndpointID: peCust}}})
	scope := Scope{Subscriptions: []string{sub}}
	scan := func() RunSummary {
		t.Helper()
		sum, err := e.r.Scan(context.Background(), scope, e.store, timer, ScanOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return sum
	}
	// Both first sightings are observed (the Pending one, then approved, counts too).
	if sum := scan(); sum.Approved != 1 || sum.Observed != 2 {
		t.Fatalf("first scan: %+v", sum)
	}
	// The policy no longer approves anyone.
	p, err := policy.Parse("v2.yaml", []byte("version: 1\ndefault: leave\nrules: []\n"))
	if err != nil {
		t.Fatal(err)
	}
	e.r.Policy = p
	if sum := scan(); sum.Drift != 1 || sum.Acted() != 0 || e.store.run(sum.RunID).Drift != 1 {
		t.Fatalf("report: %+v", sum)
	}
	if sum := scan(); sum.Drift != 0 || len(sum.Outcomes) != 0 {
		t.Fatalf("drift reported twice: %+v", sum)
	}
	e.r.EnforceDrift = true
	if sum := scan(); sum.Rejected != 1 || e.arm.Status(ids[0], "c") != StatusRejected {
		t.Fatalf("enforce: %+v", sum)
	}
	// Approve everything now: Rejected stays Rejected.
	if p, err = policy.Parse("v3.yaml", []byte("version: 1\ndefault: leave\nrules:\n  - name: all\n    action: approve\n")); err != nil {
		t.Fatal(err)
	}
	e.r.Policy = p
	if sum := scan(); sum.Acted() != 0 || e.arm.Status(ids[0], "c") != StatusRejected || e.arm.Status(scanPLSID(sub, 9), "r") != StatusRejected {
		t.Fatalf("a Rejected connection was acted on: %+v", sum)
	}
	if w := e.arm.Writes.Load(); w != 2 {
		t.Fatalf("writes %d, want 2 (approve, enforce)", w)
	}
}

func TestScanDryRun(t *testing.T) {
	e, _ := newScanEnv(t)
	ids := e.addServices(sub, 3)
	e.r.DryRun = true
	sum, err := e.r.Scan(context.Background(), Scope{Subscriptions: []string{sub}}, e.store, timer, ScanOptions{})
	if err != nil || sum.Acted() != 0 || len(sum.Outcomes) != 3 || e.arm.Writes.Load() != 0 || e.approvedCount(ids) != 0 {
		t.Fatalf("%+v %v writes=%d", sum, err, e.arm.Writes.Load())
	}
	for _, o := range sum.Outcomes {
		if o.Result != DryRun || o.Action != policy.Approve {
			t.Fatalf("outcome %+v", o)
		}
	}
}

// A scan whose run cannot be recorded does nothing (Table storage down: the
// tick fails and the next one tries again).
func TestScanStoreDown(t *testing.T) {
	e, _ := newScanEnv(t)
	e.addServices(sub, 2)
	down := &downRuns{}
	_, err := e.r.Scan(context.Background(), Scope{Subscriptions: []string{sub}}, down, timer, ScanOptions{Resume: true})
	if !IsRetryable(err) || e.arm.Writes.Load() != 0 {
		t.Fatalf("err %v, writes %d", err, e.arm.Writes.Load())
	}
}

type downRuns struct{}

var errRunsDown = errors.New("fake: runs table unavailable")

func (downRuns) PutRun(context.Context, *store.Run) error              { return errRunsDown }
func (downRuns) GetCheckpoint(context.Context, string) (string, error) { return "", errRunsDown }
func (downRuns) PutCheckpoint(context.Context, string, string) error   { return errRunsDown }
