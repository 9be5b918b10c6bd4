package store

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/plsgate/plsgate/internal/testutil/azurite"
)

func TestMain(m *testing.M) { azurite.Main(m) }

const testPLS = "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg-net/providers/Microsoft.Network/privateLinkServices/pls-web"

// newStore returns a store on this binary's Azurite with tables private to the test.
func newStore(tb testing.TB) *Store {
	tb.Helper()
	s, err := New(context.Background(), Options{ConnectionString: azurite.Start(tb), TablePrefix: azurite.TablePrefix(tb)})
	if err != nil {
		tb.Fatalf("New: %v", err)
	}
	return s
}

// ctxT is a safety net against hangs, not a timing assertion: generous for loaded CI machines.
func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func TestNewIsIdempotent(t *testing.T) {
	t.Parallel()
	o := Options{ConnectionString: azurite.Start(t), TablePrefix: azurite.TablePrefix(t)}
	for range 2 { // the second New sees 409 TableAlreadyExists for every table
		if _, err := New(ctxT(t), o); err != nil {
			t.Fatalf("New: %v", err)
		}
	}
}

func TestConnectionCRUD(t *testing.T) {
	t.Parallel()
	s, ctx := newStore(t), ctxT(t)
	updated := time.Date(2025, 3, 4, 5, 6, 7, 891234500, time.UTC)
	c := &Connection{
		PLSID: testPLS, Name: "pe-1.abc", ConnectionID: testPLS + "/privateEndpointConnections/pe-1.abc",
		Status: "Pending", Description: "please approve", PrivateEndpointID: "/subscriptions/s2/resourceGroups/r/providers/Microsoft.Network/privateEndpoints/pe-1",
		RequesterSubscription: "s2", LinkIdentifier: "536870912", LastDecision: "approve", LastRule: "webpubsub",
		LastActor: "rule:webpubsub", LastEventID: "evt-1", ARMETag: `W/"1"`, PendingAction: "approve",
		PendingTransition: "7000-abc", Drift: "", UpdatedAt: updated,
	}
	if err := s.PutConnection(ctx, c); err != nil {
		t.Fatalf("add: %v", err)
	}
	if c.ETag == "" {
		t.Fatal("add did not set the ETag")
	}

	// Looked up with different casing: resource IDs compare case-insensitively.
	got, err := s.GetConnection(ctx, strings.ToUpper(testPLS), "pe-1.abc")
	if err != nil {
		t.Fatalf("get: %v", err)
	}
	if *got != *c {
		t.Fatalf("read back differs:\n got %+v\nwant %+v", *got, *c)
	}

	// Update with the current ETag; clearing a field removes it (Replace, not Merge).
	got.Status, got.PendingAction, got.PendingTransition = "Approved", "", ""
	oldETag := got.ETag
	if err := s.PutConnection(ctx, got); err != nil {
		t.Fatalf("update: %v", err)
	}
	if got.ETag == oldETag {
		t.Fatal("update did not change the ETag")
	}
	again, err := s.GetConnection(ctx, testPLS, "pe-1.abc")
	if err != nil || again.Status != "Approved" || again.PendingAction != "" || again.ETag != got.ETag {
		t.Fatalf("after update: %+v, %v", again, err)
	}

	// Add of an existing row is a conflict.
	dup := *c
	dup.ETag = ""
	if err := s.PutConnection(ctx, &dup); !errors.Is(err, ErrConflict) {
		t.Fatalf("second add: err = %v, want ErrConflict", err)
	}
	// Update of a row that does not exist.
	ghost := &Connection{PLSID: testPLS, Name: "ghost", ETag: got.ETag}
	if err := s.PutConnection(ctx, ghost); !errors.Is(err, ErrNotFound) {
		t.Fatalf("update of missing row: err = %v, want ErrNotFound", err)
	}
	if _, err := s.GetConnection(ctx, testPLS, "nope"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("get missing: err = %v, want ErrNotFound", err)
	}
}

func TestConnectionStaleETag(t *testing.T) {
	t.Parallel()
	s, ctx := newStore(t), ctxT(t)
	if err := s.PutConnection(ctx, &Connection{PLSID: testPLS, Name: "c", Status: "Pending"}); err != nil {
		t.Fatal(err)
	}
	a, _ := s.GetConnection(ctx, testPLS, "c")
	b, _ := s.GetConnection(ctx, testPLS, "c")
	a.Status, b.Status = "Approved", "Rejected"
	if err := s.PutConnection(ctx, a); err != nil {
		t.Fatalf("first writer: %v", err)
	}
	if err := s.PutConnection(ctx, b); !errors.Is(err, ErrConflict) {
		t.Fatalf("second writer with stale ETag: err = %v, want ErrConflict", err)
	}
	cur, _ := s.GetConnection(ctx, testPLS, "c")
	if cur.Status != "Approved" {
		t.Fatalf("stale write landed: %s", cur.Status)
	}

	// Many writers from the same ETag: exactly one wins.
	const n = 8
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			c := *cur
			c.LastActor = fmt.Sprint("writer-", i)
			errs[i] = s.PutConnection(ctx, &c)
		})
	}
	wg.Wait()
	wins := 0
	for _, err := range errs {
		switch {
		case err == nil:
			wins++
		case !errors.Is(err, ErrConflict):
			t.Fatalf("unexpected error: %v", err)
		}
	}
	if wins != 1 {
		t.Fatalf("%d writers won with the same ETag, want 1", wins)
	}
}

func TestConnectionConcurrentAdd(t *testing.T) {
	t.Parallel()
	s, ctx := newStore(t), ctxT(t)
	const n = 8
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			errs[i] = s.PutConnection(ctx, &Connection{PLSID: testPLS, Name: "new", LastActor: fmt.Sprint(i)})
		})
	}
	wg.Wait()
	wins := 0
	for _, err := range errs {
		if err == nil {
			wins++
		} else if !errors.Is(err, ErrConflict) {
			t.Fatalf("unexpected error: %v", err)
		}
	}
	if wins != 1 {
		t.Fatalf("%d concurrent adds succeeded, want 1", wins)
	}
}

func transition(conn, cause string, at time.Time) *Transition {
	return &Transition{PLSID: testPLS, Connection: conn, Subject: "connection", From: "Pending", To: "Approved",
		Action: "approve", Actor: "rule:r1", Reason: "matched r1", Rule: "r1", Trigger: "event", EventID: cause,
		InvocationID: "inv", Phase: "intent", Cause: cause, At: at}
}

func TestAppendTransitionIdempotent(t *testing.T) {
	t.Parallel()
	s, ctx := newStore(t), ctxT(t)
	at := time.Date(2025, 5, 6, 7, 8, 9, 123456789, time.UTC)

	first := transition("c1", "evt-1", at)
	created, err := s.AppendTransition(ctx, first)
	if err != nil || !created {
		t.Fatalf("first append: created=%v err=%v", created, err)
	}
	if !first.At.Equal(at.Truncate(100 * time.Nanosecond)) {
		t.Errorf("At not normalised to 100 ns: %v", first.At)
	}
	dup := transition("c1", "evt-1", at)
	dup.InvocationID, dup.Phase = "other-invocation", "done" // not part of the identity
	created, err = s.AppendTransition(ctx, dup)
	if err != nil || created {
		t.Fatalf("duplicate append: created=%v err=%v, want false, nil", created, err)
	}
	if dup.ID != first.ID || dup.ETag != first.ETag {
		t.Fatalf("duplicate did not load the stored row's ID/ETag: %q/%q vs %q/%q", dup.ID, dup.ETag, first.ID, first.ETag)
	}

	other := *first // reused struct with a stale ID: the key follows the content
	other.Cause = "evt-2"
	if created, err := s.AppendTransition(ctx, &other); err != nil || !created || other.ID == first.ID {
		t.Fatalf("different cause: created=%v err=%v id=%s", created, err, other.ID)
	}

	// Concurrent duplicates: exactly one creates the row.
	var wg sync.WaitGroup
	var mu sync.Mutex
	createdN := 0
	for range 8 {
		wg.Go(func() {
			c, err := s.AppendTransition(ctx, transition("c1", "evt-3", at))
			if err != nil {
				t.Errorf("concurrent append: %v", err)
			}
			if c {
				mu.Lock()
				createdN++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if createdN != 1 {
		t.Fatalf("%d concurrent appends created the row, want 1", createdN)
	}

	rows, err := s.ListTransitions(ctx, testPLS, "c1", 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 3 {
		t.Fatalf("%d rows, want 3 (evt-1, evt-2, evt-3)", len(rows))
	}
	got, err := s.GetTransition(ctx, testPLS, first.ID)
	if err != nil {
		t.Fatal(err)
	}
	if *got != *first {
		t.Fatalf("read back differs:\n got %+v\nwant %+v", *got, *first)
	}
	if k, _ := TransitionRowKey(got); k != got.ID {
		t.Errorf("key recomputed from the stored row %q != ID %q", k, got.ID)
	}
}

func TestUpdateTransition(t *testing.T) {
	t.Parallel()
	s, ctx := newStore(t), ctxT(t)
	tr := transition("c1", "evt-1", time.Now())
	if _, err := s.AppendTransition(ctx, tr); err != nil {
		t.Fatal(err)
	}
	stale := *tr
	tr.Phase = "done"
	if err := s.UpdateTransition(ctx, tr); err != nil {
		t.Fatalf("update: %v", err)
	}
	stale.Phase = "failed"
	if err := s.UpdateTransition(ctx, &stale); !errors.Is(err, ErrConflict) {
		t.Fatalf("update with stale ETag: err = %v, want ErrConflict", err)
	}
	got, err := s.GetTransition(ctx, testPLS, tr.ID)
	if err != nil || got.Phase != "done" || got.ETag != tr.ETag {
		t.Fatalf("after update: %+v, %v", got, err)
	}
	if err := s.UpdateTransition(ctx, &Transition{PLSID: testPLS, At: time.Now()}); err == nil {
		t.Fatal("update without ID accepted")
	}
	missing := *tr
	missing.ID = "0000000000000000000-0000000000000000"
	if err := s.UpdateTransition(ctx, &missing); !errors.Is(err, ErrNotFound) {
		t.Fatalf("update of missing row: err = %v, want ErrNotFound", err)
	}
}

func TestListTransitionsNewestFirst(t *testing.T) {
	t.Parallel()
	s, ctx := newStore(t), ctxT(t)
	base := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	order := rand.Perm(10) // written in random order
	for _, i := range order {
		conn := "a"
		if i%2 == 1 {
			conn = "b"
		}
		if _, err := s.AppendTransition(ctx, transition(conn, fmt.Sprint("evt-", i), base.Add(time.Duration(i)*time.Minute))); err != nil {
			t.Fatal(err)
		}
	}
	rows, err := s.ListTransitions(ctx, testPLS, "a", 3)
	if err != nil {
		t.Fatal(err)
	}
	if got := causes(rows); !slices.Equal(got, []string{"evt-8", "evt-6", "evt-4"}) {
		t.Fatalf("connection a, limit 3: %v", got)
	}
	all, err := s.ListTransitions(ctx, testPLS, "", 100)
	if err != nil {
		t.Fatal(err)
	}
	if got := causes(all); !slices.Equal(got, []string{"evt-9", "evt-8", "evt-7", "evt-6", "evt-5", "evt-4", "evt-3", "evt-2", "evt-1", "evt-0"}) {
		t.Fatalf("whole PLS: %v", got)
	}
	none, err := s.ListTransitions(ctx, testPLS+"-other", "a", 10)
	if err != nil || len(none) != 0 {
		t.Fatalf("other PLS: %v, %v", causes(none), err)
	}
}

func causes(ts []Transition) []string {
	var out []string
	for _, t := range ts {
		out = append(out, t.Cause)
	}
	return out
}

func TestRecentTransitions(t *testing.T) {
	t.Parallel()
	s, ctx := newStore(t), ctxT(t)
	now := time.Now().UTC()
	add := func(pls, cause string, at time.Time) {
		t.Helper()
		tr := transition("c", cause, at)
		tr.PLSID = pls
		if _, err := s.AppendTransition(ctx, tr); err != nil {
			t.Fatal(err)
		}
	}
	// Spread over PLSs whose key order differs from time order.
	add(testPLS+"-a", "a-recent", now.Add(-1*time.Minute))
	add(testPLS+"-z", "z-recent", now.Add(-2*time.Minute))
	add(testPLS+"-m", "m-3d", now.Add(-72*time.Hour))
	add(testPLS+"-a", "a-old", time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC))
	add(testPLS+"-z", "z-10d", now.Add(-240*time.Hour))

	got, err := s.RecentTransitions(ctx, 2)
	if err != nil {
		t.Fatal(err)
	}
	if c := causes(got); !slices.Equal(c, []string{"a-recent", "z-recent"}) {
		t.Fatalf("limit 2: %v", c)
	}
	got, err = s.RecentTransitions(ctx, 10) // widens to every window
	if err != nil {
		t.Fatal(err)
	}
	if c := causes(got); !slices.Equal(c, []string{"a-recent", "z-recent", "m-3d", "z-10d", "a-old"}) {
		t.Fatalf("limit 10: %v", c)
	}
}

func TestListConnectionsPaging(t *testing.T) {
	t.Parallel()
	s, ctx := newStore(t), ctxT(t)
	plss := []string{testPLS + "-1", testPLS + "-2", testPLS + "-3"}
	statuses := []string{"Pending", "Approved", "Rejected"}
	want := map[string]bool{}
	for i := range 23 {
		c := &Connection{PLSID: plss[i%3], Name: fmt.Sprintf("pe-%02d", i), Status: statuses[(i/3)%3]}
		if err := s.PutConnection(ctx, c); err != nil {
			t.Fatal(err)
		}
		want[c.PLSID+"|"+c.Name+"|"+c.Status] = true
	}

	collect := func(q ConnectionQuery) []string {
		t.Helper()
		var out []string
		for pages := 0; ; pages++ {
			if pages > 50 {
				t.Fatal("paging does not end")
			}
			items, next, err := s.ListConnections(ctx, q)
			if err != nil {
				t.Fatalf("list %+v: %v", q, err)
			}
			if len(items) > q.Limit {
				t.Fatalf("page of %d items, limit %d", len(items), q.Limit)
			}
			for _, c := range items {
				out = append(out, c.PLSID+"|"+c.Name+"|"+c.Status)
			}
			if next == "" {
				return out
			}
			q.Continuation = next
		}
	}

	all := collect(ConnectionQuery{Limit: 4})
	if len(all) != len(want) {
		t.Fatalf("paged %d connections, want %d: %v", len(all), len(want), all)
	}
	for _, k := range all {
		if !want[k] {
			t.Fatalf("unexpected or duplicate item %q", k)
		}
		delete(want, k)
	}

	onePLS := collect(ConnectionQuery{PLSID: strings.ToUpper(plss[1]), Limit: 3})
	if len(onePLS) != 8 { // i%3 == 1 for i < 23: 1,4,...,22
		t.Fatalf("PLS filter: %d items: %v", len(onePLS), onePLS)
	}
	pending := collect(ConnectionQuery{Status: "Pending", Limit: 2})
	for _, k := range pending {
		if !strings.HasSuffix(k, "|Pending") {
			t.Fatalf("status filter returned %q", k)
		}
	}
	both := collect(ConnectionQuery{PLSID: plss[0], Status: "Approved", Limit: 5})
	for _, k := range both {
		if !strings.HasPrefix(k, plss[0]+"|") || !strings.HasSuffix(k, "|Approved") {
			t.Fatalf("combined filter returned %q", k)
		}
	}
	if len(pending) == 0 || len(both) == 0 {
		t.Fatalf("filters matched nothing: %v %v", pending, both)
	}

	if _, _, err := s.ListConnections(ctx, ConnectionQuery{Continuation: "garbage!"}); !errors.Is(err, ErrInvalidContinuation) {
		t.Fatalf("bad continuation: %v", err)
	}
}

func TestKeysRoundTripThroughAzurite(t *testing.T) {
	t.Parallel()
	s, ctx := newStore(t), ctxT(t)
	names := []string{
		"slash/name", `back\slash`, "hash#name", "question?name", "percent%name", "%2F-literal",
		"quote'name", "ctrl\x01\x1f\x7f\u0085\u009f", "tab\tnl\n", "space name", "ümlaut-日本-🙂",
		"plus+amp&eq=", "bad\xffutf8", "'); drop", "..", "a'' or ''1''=''1",
	}
	pls := testPLS + "/odd#?\\%'"
	for _, n := range names {
		if err := s.PutConnection(ctx, &Connection{PLSID: pls, Name: n, Status: "Pending"}); err != nil {
			t.Fatalf("put %q: %v", n, err)
		}
		got, err := s.GetConnection(ctx, pls, n)
		if err != nil || got.Name != n || got.PLSID != pls {
			t.Fatalf("get %q: %+v, %v", n, got, err)
		}
		tr := transition(n, "evt", time.Now())
		tr.PLSID = pls
		if _, err := s.AppendTransition(ctx, tr); err != nil {
			t.Fatalf("append for %q: %v", n, err)
		}
		rows, err := s.ListTransitions(ctx, pls, n, 10)
		// Connection is a property value there, not a key: invalid UTF-8 cannot survive JSON.
		if err != nil || len(rows) != 1 || rows[0].Connection != strings.ToValidUTF8(n, "\uFFFD") {
			t.Fatalf("transitions of %q: %v, %v", n, causes(rows), err)
		}
	}
	items, next, err := s.ListConnections(ctx, ConnectionQuery{PLSID: pls, Limit: 1000})
	if err != nil || next != "" {
		t.Fatalf("list: %v next=%q", err, next)
	}
	var got []string
	for _, c := range items {
		got = append(got, c.Name)
	}
	slices.Sort(got)
	want := slices.Clone(names)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("listed names\n got %q\nwant %q", got, want)
	}
}

func TestFilterInjection(t *testing.T) {
	t.Parallel()
	s, ctx := newStore(t), ctxT(t)
	for i, st := range []string{"Pending", "Approved", "O'Brien"} {
		if err := s.PutConnection(ctx, &Connection{PLSID: testPLS, Name: fmt.Sprint("c", i), Status: st}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.AppendTransition(ctx, transition(fmt.Sprint("c", i), "evt", time.Now())); err != nil {
			t.Fatal(err)
		}
	}
	for _, q := range []ConnectionQuery{
		{Status: "x' or '1' eq '1"},
		{Status: "x' or Status ne '"},
		{Status: "Pending' or PartitionKey ne 'x"},
		{PLSID: "x' or PartitionKey ne '"},
		{PLSID: testPLS + "' or '1' eq '1"},
	} {
		items, _, err := s.ListConnections(ctx, q)
		if err != nil {
			t.Fatalf("%+v: %v", q, err)
		}
		if len(items) != 0 {
			t.Fatalf("injection %+v matched %d rows", q, len(items))
		}
	}
	// A legitimate quote in a value matches exactly that row.
	items, _, err := s.ListConnections(ctx, ConnectionQuery{Status: "O'Brien"})
	if err != nil || len(items) != 1 || items[0].Name != "c2" {
		t.Fatalf("quoted value: %+v, %v", items, err)
	}
	// A listed row carries its ETag: it can be updated conditionally without a re-read.
	items[0].Status = "Approved"
	if err := s.PutConnection(ctx, &items[0]); err != nil {
		t.Fatalf("update of a listed row: %v", err)
	}
	rows, err := s.ListTransitions(ctx, testPLS, "c0' or Connection ne '", 10)
	if err != nil || len(rows) != 0 {
		t.Fatalf("transition filter injection matched %d rows, %v", len(rows), err)
	}
}

func TestFreeTextTruncated(t *testing.T) {
	t.Parallel()
	s, ctx := newStore(t), ctxT(t)
	c := &Connection{PLSID: testPLS, Name: "long", Description: strings.Repeat("d", 100<<10)}
	if err := s.PutConnection(ctx, c); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetConnection(ctx, testPLS, "long")
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Description) > maxFreeText || !strings.HasSuffix(got.Description, truncatedMarker) || got.Description != c.Description {
		t.Fatalf("description: %d bytes, marker %v", len(got.Description), strings.HasSuffix(got.Description, truncatedMarker))
	}
	tr := transition("long", "evt", time.Now())
	tr.Reason = strings.Repeat("r", 1<<20)
	if _, err := s.AppendTransition(ctx, tr); err != nil {
		t.Fatalf("append with a 1 MiB reason: %v", err)
	}
	// Fields that are not free text are not truncated: an oversized one is refused before any call.
	bad := &Connection{PLSID: testPLS, Name: "bad", ConnectionID: strings.Repeat("x", 40<<10)}
	if err := s.PutConnection(ctx, bad); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("oversized property: %v", err)
	}
	if err := s.PutConnection(ctx, &Connection{PLSID: testPLS, Name: strings.Repeat("n", 600)}); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("oversized key: %v", err)
	}
}

func TestRunsAndCheckpoints(t *testing.T) {
	t.Parallel()
	s, ctx := newStore(t), ctxT(t)
	if _, err := s.LatestRun(ctx); !errors.Is(err, ErrNotFound) {
		t.Fatalf("latest run of an empty table: %v", err)
	}
	start := time.Date(2025, 7, 1, 10, 0, 0, 0, time.UTC)
	var runs []*Run
	for i := range 3 {
		r := &Run{Trigger: "timer", Status: "running", StartedAt: start.Add(time.Duration(i) * 5 * time.Minute)}
		if err := s.PutRun(ctx, r); err != nil {
			t.Fatal(err)
		}
		if r.ID == "" || r.ETag == "" {
			t.Fatalf("run not assigned ID/ETag: %+v", r)
		}
		runs = append(runs, r)
	}
	latest := runs[2]
	latest.Status, latest.FinishedAt = "succeeded", latest.StartedAt.Add(time.Minute)
	latest.Scanned, latest.Total, latest.Acted, latest.Observed, latest.Drift, latest.Failed = 10, 12, 3, 2, 1, 1<<40
	latest.Continuation, latest.Error = "https://management.azure.com/next?$skiptoken=abc%2F'", "partial: 1 failure"
	if err := s.PutRun(ctx, latest); err != nil {
		t.Fatal(err)
	}
	got, err := s.LatestRun(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if *got != *latest {
		t.Fatalf("latest run:\n got %+v\nwant %+v", *got, *latest)
	}
	byID, err := s.GetRun(ctx, runs[0].ID)
	if err != nil || byID.StartedAt != runs[0].StartedAt || byID.Status != "running" {
		t.Fatalf("get run: %+v, %v", byID, err)
	}
	stale := *runs[0]
	runs[0].Status = "abandoned"
	if err := s.PutRun(ctx, runs[0]); err != nil {
		t.Fatal(err)
	}
	if err := s.PutRun(ctx, &stale); !errors.Is(err, ErrConflict) {
		t.Fatalf("stale run update: %v", err)
	}
	if _, err := s.GetRun(ctx, "nope"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("missing run: %v", err)
	}

	scope := "subscription/0000-1"
	if v, err := s.GetCheckpoint(ctx, scope); err != nil || v != "" {
		t.Fatalf("missing checkpoint: %q, %v", v, err)
	}
	for _, v := range []string{"page-2", "https://management.azure.com/...?$skiptoken=x'y"} {
		if err := s.PutCheckpoint(ctx, scope, v); err != nil {
			t.Fatal(err)
		}
		if got, err := s.GetCheckpoint(ctx, scope); err != nil || got != v {
			t.Fatalf("checkpoint: %q, %v; want %q", got, err, v)
		}
	}
	if err := s.PutCheckpoint(ctx, scope, ""); err != nil {
		t.Fatal(err)
	}
	if v, err := s.GetCheckpoint(ctx, scope); err != nil || v != "" {
		t.Fatalf("cleared checkpoint: %q, %v", v, err)
	}
	if err := s.PutCheckpoint(ctx, scope, ""); err != nil { // clearing twice is fine
		t.Fatal(err)
	}
}

// TestOutage takes Azurite away: every operation must report IsUnavailable, and work again after the
// restart with the data intact. Not parallel: it stops the shared instance.
func TestOutage(t *testing.T) {
	cs := azurite.Start(t)
	ctx := ctxT(t)
	fast := &policy.RetryOptions{MaxRetries: 1, RetryDelay: 10 * time.Millisecond, MaxRetryDelay: 50 * time.Millisecond}
	s, err := New(ctx, Options{ConnectionString: cs, TablePrefix: azurite.TablePrefix(t), Retry: fast})
	if err != nil {
		t.Fatal(err)
	}
	c := &Connection{PLSID: testPLS, Name: "c", Status: "Pending"}
	if err := s.PutConnection(ctx, c); err != nil {
		t.Fatal(err)
	}

	azurite.Stop()
	restarted := false
	t.Cleanup(func() {
		if !restarted {
			azurite.Restart(t)
		}
	})
	ops := map[string]func() error{
		"get":    func() error { _, err := s.GetConnection(ctx, testPLS, "c"); return err },
		"update": func() error { cc := *c; cc.Status = "Approved"; return s.PutConnection(ctx, &cc) },
		"append": func() error { _, err := s.AppendTransition(ctx, transition("c", "evt", time.Now())); return err },
		"list":   func() error { _, _, err := s.ListConnections(ctx, ConnectionQuery{}); return err },
		"recent": func() error { _, err := s.RecentTransitions(ctx, 5); return err },
		"run":    func() error { return s.PutRun(ctx, &Run{Trigger: "timer"}) },
		"ckpt":   func() error { _, err := s.GetCheckpoint(ctx, "x"); return err },
		"new": func() error {
			_, err := New(ctx, Options{ConnectionString: cs, TablePrefix: "outage", Retry: fast})
			return err
		},
	}
	for name, op := range ops {
		err := op()
		if err == nil || !IsUnavailable(err) {
			t.Errorf("%s during outage: err = %v, IsUnavailable = %v", name, err, IsUnavailable(err))
		}
		if errors.Is(err, ErrConflict) || errors.Is(err, ErrNotFound) {
			t.Errorf("%s during outage classified as conflict/not found: %v", name, err)
		}
	}
	cut, cancel := context.WithTimeout(ctx, time.Millisecond)
	_, err = s.GetConnection(cut, testPLS, "c")
	cancel()
	if !IsUnavailable(err) {
		t.Errorf("deadline during outage: %v", err)
	}

	azurite.Restart(t)
	restarted = true
	ctx = ctxT(t)
	got, err := s.GetConnection(ctx, testPLS, "c")
	if err != nil || got.Status != "Pending" {
		t.Fatalf("after restart: %+v, %v", got, err)
	}
	got.Status = "Approved"
	if err := s.PutConnection(ctx, got); err != nil {
		t.Fatalf("update after restart: %v", err)
	}
	if _, err := s.AppendTransition(ctx, transition("c", "evt", time.Now())); err != nil {
		t.Fatalf("append after restart: %v", err)
	}
}
