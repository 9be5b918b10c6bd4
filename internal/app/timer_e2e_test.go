package app_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	azpolicy "github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/plsgate/plsgate/internal/app"
	"github.com/plsgate/plsgate/internal/armemu"
	"github.com/plsgate/plsgate/internal/reconcile"
	"github.com/plsgate/plsgate/internal/store"
	"github.com/plsgate/plsgate/internal/testenv"
)

// Timer (Reconcile function) end-to-end tests: the host emulator fires the
// timer, the handler runs the scan against the ARM emulator and Azurite.
// Events are not wired unless a test says so: the timer is the path under test.

const (
	timerConsumer = "11111111-1111-1111-1111-111111111111"
	opListSub     = armemu.OpPLSListBySubscription
	opGetPLS      = armemu.OpPLSGet
	opWrite       = armemu.OpPLSUpdateConnection
)

// timerPolicy approves partners and rejects spam; everything else waits.
const timerPolicy = `
version: 1
default: leave
rules:
  - name: partner
    match:
      requester: { subscriptions: ["` + timerConsumer + `"] }
      requestMessage: "^partner:"
    action: approve
  - name: no-spam
    match:
      requestMessage: "^spam"
    action: reject
`

// timerPolicyV2 no longer approves partners and would approve spam: a
// policy change that makes approved partners drift (and must never flip a
// Rejected connection).
const timerPolicyV2 = `
version: 1
default: leave
rules:
  - name: spam-welcome
    match:
      requestMessage: "^spam"
    action: approve
`

func timerPE(name string) string {
	return "/subscriptions/" + timerConsumer + "/resourceGroups/cust/providers/Microsoft.Network/privateEndpoints/" + name
}

// timerWorld is n PLSs pls-00.. in the scope subscription, each with the
// connections conns(i) returns.
func timerWorld(n int, conns func(i int) []*armemu.Connection) *armemu.World {
	w := &armemu.World{}
	for i := range n {
		w.PrivateLinkServices = append(w.PrivateLinkServices, &armemu.PrivateLinkService{
			SubscriptionID: testenv.Subscription, ResourceGroup: testenv.ResourceGroup, Name: fmt.Sprintf("pls-%02d", i),
			Location: "eastus", Visibility: []string{"*"}, Connections: conns(i),
		})
	}
	return w
}

func timerPLSID(i int) string {
	return fmt.Sprintf("/subscriptions/%s/resourceGroups/%s/providers/Microsoft.Network/privateLinkServices/pls-%02d", testenv.Subscription, testenv.ResourceGroup, i)
}

func timerHistory(t *testing.T, env *testenv.Env, plsID, conn string) []store.Transition {
	t.Helper()
	h, err := env.App.Store.ListTransitions(context.Background(), plsID, conn, 1000)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// timerSteps renders a history oldest first: subject:from>to:phase:actor:trigger.
func timerSteps(h []store.Transition) string {
	var out []string
	for i := len(h) - 1; i >= 0; i-- {
		out = append(out, fmt.Sprintf("%s:%s>%s:%s:%s:%s", h[i].Subject, h[i].From, h[i].To, h[i].Phase, h[i].Actor, h[i].Trigger))
	}
	return strings.Join(out, " | ")
}

func latestRun(t *testing.T, env *testenv.Env) *store.Run {
	t.Helper()
	r, err := env.App.Store.LatestRun(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// keepsHistory fails when a row of before is missing from after: a scan never deletes history.
func keepsHistory(t *testing.T, before, after []store.Transition) {
	t.Helper()
	have := map[string]bool{}
	for _, tr := range after {
		have[tr.ID] = true
	}
	for _, tr := range before {
		if !have[tr.ID] {
			t.Errorf("history row %s (%s %s>%s %s) disappeared", tr.ID, tr.Connection, tr.From, tr.To, tr.Phase)
		}
	}
}

func timerRetry() *azpolicy.RetryOptions {
	return &azpolicy.RetryOptions{MaxRetries: 2, RetryDelay: 5 * time.Millisecond, MaxRetryDelay: 2 * time.Second}
}

// A consumer's request whose event never reached plsgate (events not wired)
// is approved by the next tick: one list call, no per-PLS GET, one write.
func TestTimerCatchesMissedEvent(t *testing.T) {
	env := testenv.Start(t, testenv.Options{Policy: timerPolicy, NoEvents: true})
	pe, err := env.ARM.CreatePrivateEndpoint(armemu.PrivateEndpoint{SubscriptionID: timerConsumer, ResourceGroup: "cust", Name: "pe-missed", Location: "eastus",
		Links: []*armemu.PrivateEndpointLink{{Name: "pe-missed", Manual: true, PrivateLinkServiceID: testenv.PLSID, RequestMessage: "partner: acme"}}})
	if err != nil {
		t.Fatal(err)
	}
	name := pe.Links[0].ConnectionName
	if c, _ := env.ARM.Connection(testenv.PLSID, name); c.Status != "Pending" {
		t.Fatalf("before the tick the connection is %s", c.Status)
	}
	env.ARM.ResetCounters()

	env.Tick(t)

	if c, _ := env.ARM.Connection(testenv.PLSID, name); c.Status != "Approved" {
		t.Fatalf("after the tick the connection is %s, want Approved", c.Status)
	}
	want := map[string]int{opListSub: 1, opWrite: 1}
	if got := env.ARM.Counters(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("ARM calls %v, want %v (no per-PLS GET)", got, want)
	}
	h := timerHistory(t, env, testenv.PLSID, name)
	if got, want := timerSteps(h), "connection:>Pending:observed:observed:timer | connection:Pending>Approved:done:rule:partner:timer"; got != want {
		t.Fatalf("history\n got %s\nwant %s", got, want)
	}
	if h[0].InvocationID == "" || h[0].Rule != "partner" {
		t.Errorf("approval row: %+v", h[0])
	}
	run := latestRun(t, env)
	if run.Trigger != "timer" || run.Status != "succeeded" || run.Acted != 1 || run.Scanned != 1 || run.Continuation != "" {
		t.Errorf("run record: %+v", run)
	}
}

// A connection approved (and later removed) in the portal is recorded as
// observed, once, without any ARM write by plsgate.
func TestTimerRecordsPortalChangesAsObserved(t *testing.T) {
	w := testenv.DemoWorld()
	w.PrivateLinkServices[0].Connections = []*armemu.Connection{{Name: "pe-hello.1", PrivateEndpointID: timerPE("pe-hello"), Status: "Pending", Description: "hello"}}
	env := testenv.Start(t, testenv.Options{Policy: timerPolicy, World: &w, NoEvents: true})
	const name = "pe-hello.1"

	env.Tick(t) // no rule matches: it waits
	if c, _ := env.ARM.Connection(testenv.PLSID, name); c.Status != "Pending" {
		t.Fatalf("unmatched connection is %s", c.Status)
	}
	if err := env.ARM.SetConnectionStatus(testenv.PLSID, name, "Approved", "approved in the portal"); err != nil {
		t.Fatal(err)
	}
	env.Tick(t)
	h := timerHistory(t, env, testenv.PLSID, name)
	// The policy would leave it: approved by hand, it is also reported as drift.
	want := "connection:>Pending:observed:observed:timer | connection:Pending>Approved:observed:observed:timer | drift:Approved>Approved:drift:policy:timer"
	if got := timerSteps(h); got != want {
		t.Fatalf("history\n got %s\nwant %s", got, want)
	}
	if !strings.Contains(h[1].Reason, "status changed outside plsgate from Pending to Approved") {
		t.Errorf("observed row reason: %q", h[1].Reason)
	}
	env.Tick(t) // nothing new: observed once, drift reported once
	if n := len(timerHistory(t, env, testenv.PLSID, name)); n != len(h) {
		t.Errorf("a tick without change added %d rows", n-len(h))
	}

	if err := env.ARM.DeleteConnection(testenv.PLSID, name); err != nil {
		t.Fatal(err)
	}
	env.Tick(t)
	after := timerHistory(t, env, testenv.PLSID, name)
	if after[0].From != "Approved" || after[0].To != "Removed" || after[0].Phase != "observed" {
		t.Errorf("removal row: %+v", after[0])
	}
	keepsHistory(t, h, after)
	if n := env.ARM.Counters()[opWrite]; n != 0 {
		t.Errorf("plsgate made %d ARM writes; the portal made every change", n)
	}
}

// A policy change: DRIFT_MODE=report records drift once (no ARM write);
// enforce rejects the approved connection no rule approves any more, and
// never approves a Rejected one even when the policy now would.
func TestTimerDriftReportedThenEnforced(t *testing.T) {
	w := testenv.DemoWorld()
	w.PrivateLinkServices[0].Connections = []*armemu.Connection{
		{Name: "pe-partner.1", PrivateEndpointID: timerPE("pe-partner"), Status: "Pending", Description: "partner: acme"},
		{Name: "pe-spam.2", PrivateEndpointID: timerPE("pe-spam"), Status: "Pending", Description: "spam offer"},
	}
	env := testenv.Start(t, testenv.Options{Policy: timerPolicy, World: &w, NoEvents: true})
	status := func(name string) string { c, _ := env.ARM.Connection(testenv.PLSID, name); return c.Status }
	writes := func() int { return env.ARM.Counters()[opWrite] }

	env.Tick(t)
	if status("pe-partner.1") != "Approved" || status("pe-spam.2") != "Rejected" || writes() != 2 {
		t.Fatalf("first tick: partner %s, spam %s, %d writes", status("pe-partner.1"), status("pe-spam.2"), writes())
	}

	// The policy changes; drift is reported (the default mode), on the first tick only.
	env.Restart(t, testenv.RestartOptions{Settings: map[string]string{"PLSGATE_POLICY": timerPolicyV2}})
	for tick := 0; tick < 2; tick++ {
		env.Tick(t)
	}
	var drift []store.Transition
	for _, tr := range timerHistory(t, env, testenv.PLSID, "pe-partner.1") {
		if tr.Subject == reconcile.SubjectDrift {
			drift = append(drift, tr)
		}
	}
	if len(drift) != 1 || drift[0].Phase != "drift" || drift[0].From != "Approved" || drift[0].Actor != "policy" || drift[0].Action != "leave" {
		t.Fatalf("drift rows after two ticks: %+v", drift)
	}
	if writes() != 2 || status("pe-partner.1") != "Approved" {
		t.Fatalf("report mode changed ARM: %d writes, partner %s", writes(), status("pe-partner.1"))
	}
	row, err := env.App.Store.GetConnection(context.Background(), testenv.PLSID, "pe-partner.1")
	if err != nil || row.Drift == "" {
		t.Errorf("connection row drift marker: %+v %v", row, err)
	}
	if run := latestRun(t, env); run.Drift != 0 || run.Status != "succeeded" {
		t.Errorf("second report tick counted drift again: %+v", run)
	}
	before := timerHistory(t, env, testenv.PLSID, "")

	// Enforce: the drifted approval is rejected; the Rejected spam stays Rejected.
	env.Restart(t, testenv.RestartOptions{Settings: map[string]string{"PLSGATE_POLICY": timerPolicyV2, "DRIFT_MODE": "enforce"}})
	env.Tick(t)
	if status("pe-partner.1") != "Rejected" || status("pe-spam.2") != "Rejected" || writes() != 3 {
		t.Fatalf("enforce: partner %s, spam %s, %d writes (want Rejected, Rejected, 3)", status("pe-partner.1"), status("pe-spam.2"), writes())
	}
	h := timerHistory(t, env, testenv.PLSID, "pe-partner.1")
	if h[0].From != "Approved" || h[0].To != "Rejected" || h[0].Phase != "done" || h[0].Actor != "drift:default" || h[0].Trigger != "timer" {
		t.Errorf("enforcement row: %+v", h[0])
	}
	env.Tick(t)
	if writes() != 3 {
		t.Errorf("a tick after enforcement wrote again: %d writes", writes())
	}
	for _, tr := range timerHistory(t, env, testenv.PLSID, "pe-spam.2") {
		if tr.To == "Approved" {
			t.Errorf("a Rejected connection got an approval row: %+v", tr)
		}
	}
	keepsHistory(t, before, timerHistory(t, env, testenv.PLSID, ""))
}

// A tick that runs out of its time budget stores its position; the next
// tick resumes there and finishes, and every Pending connection is decided
// exactly once.
func TestTimerDeadlineResumesNextTick(t *testing.T) {
	const n = 10
	world := timerWorld(n, func(i int) []*armemu.Connection {
		return []*armemu.Connection{{Name: fmt.Sprintf("pe-%02d.1", i), PrivateEndpointID: timerPE(fmt.Sprintf("pe-%02d", i)), Status: "Pending", Description: "partner: acme"}}
	})
	// One PLS at a time, 300 ms per ARM call, 1 s budget: the first tick cannot finish.
	env := testenv.Start(t, testenv.Options{Policy: timerPolicy, World: world, NoEvents: true,
		Settings: map[string]string{"RECONCILE_TIME_BUDGET": "1s", "RECONCILE_CONCURRENCY": "1"}})
	env.SetARMLatency(t, 300*time.Millisecond)
	ctx := context.Background()
	scopeKey := reconcile.ScopeKey(env.App.Scope())

	env.Tick(t)
	run1 := latestRun(t, env)
	if run1.Status != "partial" || run1.Continuation == "" || run1.Scanned >= n {
		t.Fatalf("first tick: %+v; want a partial run with a continuation", run1)
	}
	if cp, err := env.App.Store.GetCheckpoint(ctx, scopeKey); err != nil || cp != run1.Continuation {
		t.Fatalf("stored position %q (%v), want %q", cp, err, run1.Continuation)
	}
	if w := env.ARM.Counters()[opWrite]; w != run1.Acted || w >= n {
		t.Fatalf("first tick: %d writes, run says %d acted", w, run1.Acted)
	}

	// The next tick (a fresh instance with a budget that fits the rest) resumes and finishes.
	env.Restart(t, testenv.RestartOptions{Settings: map[string]string{"RECONCILE_TIME_BUDGET": "2m"}})
	env.Tick(t)
	run2 := latestRun(t, env)
	if run2.ID == run1.ID || run2.Status != "succeeded" || run2.Continuation != "" {
		t.Fatalf("second tick: %+v", run2)
	}
	if run1.Scanned+run2.Scanned != n {
		t.Errorf("ticks scanned %d + %d PLSs, want %d in total (resumed, not restarted)", run1.Scanned, run2.Scanned, n)
	}
	if cp, err := env.App.Store.GetCheckpoint(ctx, scopeKey); err != nil || cp != "" {
		t.Errorf("position after a complete scan: %q %v", cp, err)
	}
	if w := env.ARM.Counters()[opWrite]; w != n {
		t.Errorf("ARM writes = %d, want exactly %d (each Pending connection decided once)", w, n)
	}
	for i := range n {
		name := fmt.Sprintf("pe-%02d.1", i)
		if c, _ := env.ARM.Connection(timerPLSID(i), name); c.Status != "Approved" {
			t.Errorf("%s is %s", name, c.Status)
		}
		done := 0
		for _, tr := range timerHistory(t, env, timerPLSID(i), name) {
			if tr.Phase == "done" {
				done++
			}
		}
		if done != 1 {
			t.Errorf("%s: %d done rows, want 1", name, done)
		}
	}
	if c := env.ARM.Counters(); c[opGetPLS] != 0 {
		t.Errorf("%d per-PLS GETs; the list pages carry the connections", c[opGetPLS])
	}
}

// 429s (with Retry-After) and 500/503s on 30 % of ARM calls: ticks fail
// along the way, but every eligible connection ends approved, none twice,
// nothing else is touched, and no history row is lost.
func TestTimerSurvivesARMFaults(t *testing.T) {
	const n = 6
	world := timerWorld(n, func(i int) []*armemu.Connection {
		return []*armemu.Connection{
			{Name: fmt.Sprintf("pe-%02d.ok", i), PrivateEndpointID: timerPE(fmt.Sprintf("pe-%02d-ok", i)), Status: "Pending", Description: "partner: acme"},
			{Name: fmt.Sprintf("pe-%02d.wait", i), PrivateEndpointID: timerPE(fmt.Sprintf("pe-%02d-wait", i)), Status: "Pending", Description: "hello"},
			{Name: fmt.Sprintf("pe-%02d.old", i), PrivateEndpointID: timerPE(fmt.Sprintf("pe-%02d-old", i)), Status: "Approved", Description: "partner: old"},
		}
	})
	env := testenv.Start(t, testenv.Options{Policy: timerPolicy, World: world, NoEvents: true,
		Deps: app.Deps{ARMRetry: timerRetry()}})
	// Seeded rates, and scripted first calls so that each kind surely occurs:
	// the first list call is throttled (Retry-After: 1), the first write
	// meets 429, 500 and 503 in a row — more than the client's retries.
	script := map[string][]int{opListSub: {429}, opWrite: {429, 500, 503}}
	var rules []armemu.FaultRule
	for _, op := range []string{opListSub, opWrite, armemu.OpPLSGetConnection} {
		rules = append(rules, armemu.FaultRule{Operation: op, Rate429: 0.1, Rate500: 0.1, Rate503: 0.1, RetryAfter: 1, Script: script[op]})
	}
	if err := env.ARM.SetFaults(armemu.Faults{Seed: 11, Rules: rules}); err != nil {
		t.Fatal(err)
	}
	approved := func() int {
		k := 0
		for i := range n {
			if c, _ := env.ARM.Connection(timerPLSID(i), fmt.Sprintf("pe-%02d.ok", i)); c.Status == "Approved" {
				k++
			}
		}
		return k
	}
	var failedTicks, ticks int
	var snapshot []store.Transition
	for ticks = 1; ticks <= 10; ticks++ {
		if err := env.TickErr(t); err != nil {
			failedTicks++
			t.Logf("tick %d failed (expected under faults): %v", ticks, err)
		}
		if ticks == 1 {
			snapshot = timerHistory(t, env, timerPLSID(0), "")
		}
		if approved() == n {
			break
		}
	}
	if approved() != n {
		t.Fatalf("after %d ticks %d of %d eligible connections are approved", ticks-1, approved(), n)
	}
	if f := env.ARM.FaultCounters(); f[opWrite] < 3 || f[opListSub] < 1 {
		t.Fatalf("faults injected %v: the scripted ones are missing", f)
	}
	t.Logf("converged after %d ticks (%d failed); faults injected: %v", ticks, failedTicks, env.ARM.FaultCounters())

	// No more faults: one clean tick settles everything else and writes nothing.
	if err := env.ARM.SetFaults(armemu.Faults{}); err != nil {
		t.Fatal(err)
	}
	env.Tick(t)
	if ok := env.ARM.Counters()[opWrite] - env.ARM.FaultCounters()[opWrite]; ok != n {
		t.Errorf("successful ARM writes = %d, want %d (one per eligible connection)", ok, n)
	}
	for i := range n {
		for _, suffix := range []string{"ok", "wait", "old"} {
			name := fmt.Sprintf("pe-%02d.%s", i, suffix)
			want := map[string]string{"ok": "Approved", "wait": "Pending", "old": "Approved"}[suffix]
			if c, _ := env.ARM.Connection(timerPLSID(i), name); c.Status != want {
				t.Errorf("%s is %s, want %s", name, c.Status, want)
			}
			done := 0
			for _, tr := range timerHistory(t, env, timerPLSID(i), name) {
				if tr.Phase == "done" {
					done++
				}
			}
			if wantDone := map[string]int{"ok": 1}[suffix]; done != wantDone {
				t.Errorf("%s: %d done rows, want %d", name, done, wantDone)
			}
		}
	}
	keepsHistory(t, snapshot, timerHistory(t, env, timerPLSID(0), ""))
	if run := latestRun(t, env); run.Status != "succeeded" || run.Failed != 0 {
		t.Errorf("clean tick: %+v", run)
	}
}

// With SCOPE_RESOURCE_GRAPH the timer asks Resource Graph for PLSs with a
// Pending connection and re-reads only those: no subscription listing.
func TestTimerResourceGraphCandidates(t *testing.T) {
	world := testenv.DemoWorld()
	for _, n := range []string{"other-1", "other-2"} {
		world.PrivateLinkServices = append(world.PrivateLinkServices, &armemu.PrivateLinkService{
			SubscriptionID: testenv.Subscription, ResourceGroup: testenv.ResourceGroup, Name: n, Visibility: []string{"*"}})
	}
	env := testenv.Start(t, testenv.Options{Policy: e2ePolicy, NoEvents: true, World: &world,
		Settings: map[string]string{"SCOPE_RESOURCE_GRAPH": "true"}})
	name := partnerEndpoint(t, env, "pe-graph")
	env.ARM.ResetCounters()
	env.Tick(t)
	if c, _ := env.ARM.Connection(testenv.PLSID, name); c.Status != "Approved" {
		t.Fatalf("connection is %s, want Approved", c.Status)
	}
	want := map[string]int{"Resources": 1, "PrivateLinkServices_Get": 1, updateOp: 1}
	if got := env.ARM.Counters(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("ARM calls %v, want %v", got, want)
	}
}
