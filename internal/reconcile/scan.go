package reconcile

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"iter"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/plsgate/plsgate/internal/resource"
	"github.com/plsgate/plsgate/internal/store"
)

// Scope is what a scan covers.
type Scope struct {
	Subscriptions []string // list every resource of each, of every registered kind (one ARM call per page)
	PLSIDs        []string // explicit resources, PLSs or of another registered kind (one GET each)
}

// ScanOptions tune one scan.
type ScanOptions struct {
	Concurrency int           // PLSs reconciled at once (default 8)
	Budget      time.Duration // stop dispatching after this long and store the position (0 = no limit)
	RunID       string        // default: store.NewRunID(start) (sorts newest first, unique)
	// Progress is called after each PLS (from several goroutines, serialized).
	Progress func(RunSummary)
	// Resume continues from the stored position of an earlier scan of the same scope.
	Resume bool
}

// RunRecorder is the part of the store that keeps runs and scan positions.
type RunRecorder interface {
	PutRun(ctx context.Context, r *store.Run) error
	GetCheckpoint(ctx context.Context, scope string) (string, error)
	PutCheckpoint(ctx context.Context, scope, value string) error
}

// RunSummary counts what a scan did.
type RunSummary struct {
	RunID       string
	Scanned     int // PLSs reconciled
	Listed      int // PLSs seen in list pages (or given explicitly)
	Connections int
	Approved    int
	Rejected    int
	Observed    int
	Drift       int
	LeftPending int
	Failed      int
	Complete    bool      // false: the budget ran out; the next scan resumes
	ResumedAt   string    // position this scan started from ("" = beginning)
	Outcomes    []Outcome `json:"-"` // only those that changed something, at most MaxScanOutcomes
	// OutcomesOmitted counts changed outcomes not kept in Outcomes (the
	// counters above count them all).
	OutcomesOmitted int
}

// MaxScanOutcomes bounds RunSummary.Outcomes: a first scan of a large estate
// observes every connection, and keeping all of them would make memory grow
// with the number of PLSs.
const MaxScanOutcomes = 1000

// Acted is the number of ARM writes made (approvals + rejections).
func (s RunSummary) Acted() int { return s.Approved + s.Rejected }

// ScopeKey names a scope for its stored position.
func ScopeKey(s Scope) string {
	subs := slices.Clone(s.Subscriptions)
	ids := make([]string, len(s.PLSIDs))
	for i, id := range s.PLSIDs {
		ids[i] = resource.Normalize(id)
	}
	slices.Sort(subs)
	slices.Sort(ids)
	h := sha256.Sum256([]byte(strings.ToLower(strings.Join(subs, ",") + "|" + strings.Join(ids, ","))))
	return "scan-" + hex.EncodeToString(h[:8])
}

// position is where a scan stands: the source index (explicit resources
// first, then each subscription × kind) and how many resources of that source
// are done, in list order.
type position struct{ source, done int }

func (p position) String() string { return fmt.Sprintf("%d:%d", p.source, p.done) }

func parsePosition(s string) (position, bool) {
	a, b, ok := strings.Cut(s, ":")
	if !ok {
		return position{}, false
	}
	src, err1 := strconv.Atoi(a)
	done, err2 := strconv.Atoi(b)
	if err1 != nil || err2 != nil || src < 0 || done < 0 {
		return position{}, false
	}
	return position{src, done}, true
}

// Scan reconciles every resource in scope (PLSs and every other registered
// kind, through their providers) with bounded concurrency, streaming list
// pages so memory does not grow with the number of PLSs. When the budget runs
// out it stops dispatching, waits for the PLSs in flight, and stores the
// position so the next scan continues there. The Functions timer runs one tick
// at a time (singleton lock), so one scan per scope runs at once.
func (r *Reconciler) Scan(ctx context.Context, scope Scope, runs RunRecorder, t Trigger, o ScanOptions) (RunSummary, error) {
	conc := o.Concurrency
	if conc <= 0 {
		conc = 8
	}
	start := r.now()
	sum := RunSummary{RunID: o.RunID}
	if sum.RunID == "" {
		// The store's run IDs sort newest first (LatestRun, the status page,
		// rely on it) and carry a random suffix, so two scans never collide.
		id, err := store.NewRunID(start)
		if err != nil {
			return sum, fmt.Errorf("scan run ID: %w", err)
		}
		sum.RunID = id
	}
	key := ScopeKey(scope)
	from := position{}
	if o.Resume && runs != nil {
		v, err := runs.GetCheckpoint(ctx, key)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return sum, storeErr("read scan position", err)
		}
		if p, ok := parsePosition(v); ok {
			from, sum.ResumedAt = p, v
		}
	}
	run := &store.Run{ID: sum.RunID, Trigger: t.Kind, Status: "running", StartedAt: start}
	if runs != nil {
		if err := runs.PutRun(ctx, run); err != nil {
			return sum, storeErr("record run start", err)
		}
	}

	dispatchCtx := ctx
	if o.Budget > 0 {
		var cancel context.CancelFunc
		dispatchCtx, cancel = context.WithTimeout(ctx, o.Budget)
		defer cancel()
	}

	var (
		mu       sync.Mutex
		errs     []error
		sem      = make(chan struct{}, conc)
		wg       sync.WaitGroup
		stopped  bool
		progress = from
	)
	// Completion tracking per source: the position only advances over a
	// contiguous prefix of finished PLSs, so a resume never skips one.
	type tracker struct {
		next     int
		finished map[int]bool
	}
	tr := &tracker{next: from.done, finished: map[int]bool{}}
	finish := func(source, idx int, outs []Outcome, err error) {
		mu.Lock()
		defer mu.Unlock()
		sum.Scanned++
		if err != nil {
			errs = append(errs, err)
			sum.Failed++
		}
		for _, oc := range outs {
			sum.Connections++
			if oc.AlsoObserved {
				sum.Observed++
			}
			switch oc.Result {
			case Approved:
				sum.Approved++
			case Rejected:
				sum.Rejected++
			case Observed:
				sum.Observed++
			case Drift:
				sum.Drift++
			case LeftPending:
				sum.LeftPending++
			case Failed:
				if err == nil {
					sum.Failed++
				}
			}
			if oc.Result != Unchanged && oc.Result != InProgress {
				if len(sum.Outcomes) < MaxScanOutcomes {
					sum.Outcomes = append(sum.Outcomes, oc)
				} else {
					sum.OutcomesOmitted++
				}
			}
		}
		if source == progress.source {
			tr.finished[idx] = true
			for tr.finished[tr.next] {
				delete(tr.finished, tr.next)
				tr.next++
			}
			progress.done = tr.next
		}
		if o.Progress != nil {
			o.Progress(sum)
		}
	}
	dispatch := func(source, idx int, work func(context.Context) ([]Outcome, error)) bool {
		select {
		case sem <- struct{}{}:
		case <-dispatchCtx.Done():
			return false
		}
		if dispatchCtx.Err() != nil {
			<-sem
			return false
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			outs, err := work(ctx)
			finish(source, idx, outs, err)
		}()
		return true
	}
	// moveTo waits for the current source to drain before the position moves on.
	moveTo := func(source int) {
		wg.Wait()
		mu.Lock()
		progress = position{source: source}
		tr.next, tr.finished = 0, map[int]bool{}
		mu.Unlock()
	}

	// Sources in a fixed order: the explicit resources (if any) as one source,
	// then one per subscription and registered kind (kinds in type order), so
	// a kind that cannot be listed does not hide the others and a stored
	// position counts within one listing. Within a source the order is the
	// list order. With only the private link service registered this is one
	// source per subscription, as before kinds.
	type source struct {
		ids   []string // explicit resources
		sub   string
		prov  resource.Provider // lists sub's resources of its kind
		graph bool              // Resource Graph candidates across scope.Subscriptions
	}
	var srcs []source
	if len(scope.PLSIDs) > 0 {
		srcs = append(srcs, source{ids: scope.PLSIDs})
	}
	if r.Graph != nil && len(scope.Subscriptions) > 0 {
		srcs = append(srcs, source{graph: true})
	} else {
		provs := r.sortedProviders()
		for _, sub := range scope.Subscriptions {
			for _, p := range provs {
				srcs = append(srcs, source{sub: sub, prov: p})
			}
		}
	}
	var listErr error
	count := func() { mu.Lock(); sum.Listed++; mu.Unlock() }
sources:
	for si := from.source; si < len(srcs); si++ {
		skip := 0
		if si == from.source {
			skip = from.done
		} else {
			moveTo(si)
		}
		if src := srcs[si]; src.ids != nil {
			for i := skip; i < len(src.ids); i++ {
				id := src.ids[i]
				count()
				if !dispatch(si, i, func(ctx context.Context) ([]Outcome, error) { return r.Reconcile(ctx, id, t) }) {
					stopped = true
					break sources
				}
			}
			continue
		}
		if srcs[si].graph {
			// Candidates only (Resource Graph lags ARM): each is re-read with a GET.
			idx := 0
			for ids, err := range r.Graph.PendingServices(dispatchCtx, scope.Subscriptions) {
				if err != nil {
					if dispatchCtx.Err() != nil && ctx.Err() == nil {
						stopped = true
						break sources
					}
					listErr = errors.Join(listErr, armErrWrap("query Resource Graph for Pending connections", err))
					break
				}
				for _, id := range ids {
					i := idx
					idx++
					if i < skip {
						continue
					}
					count()
					if !dispatch(si, i, func(ctx context.Context) ([]Outcome, error) { return r.Reconcile(ctx, id, t) }) {
						stopped = true
						break sources
					}
				}
			}
			continue
		}
		sub, prov := srcs[si].sub, srcs[si].prov
		idx := 0
		pages, stopReading := r.prefetch(prov.List(dispatchCtx, sub))
		defer stopReading()
		for fp := range pages {
			page, err, pageReadAt := fp.page, fp.err, fp.readAt
			if err != nil {
				if dispatchCtx.Err() != nil && ctx.Err() == nil {
					stopped = true
					break sources
				}
				listErr = errors.Join(listErr, armErrWrap("list "+listNoun(prov.Kind())+" of subscription "+sub, err))
				break
			}
			for _, res := range page {
				i := idx
				idx++
				if i < skip {
					continue
				}
				count()
				if !dispatch(si, i, func(ctx context.Context) ([]Outcome, error) {
					return r.reconcileResource(ctx, prov, res, t, pageReadAt)
				}) {
					stopped = true
					break sources
				}
			}
		}
	}
	wg.Wait()

	sum.Complete = !stopped && listErr == nil
	checkpoint := ""
	if stopped {
		mu.Lock()
		checkpoint = progress.String()
		mu.Unlock()
	}
	end := r.now()
	run.FinishedAt = end
	run.Scanned, run.Total, run.Acted, run.Observed, run.Drift, run.Failed = sum.Scanned, sum.Listed, sum.Acted(), sum.Observed, sum.Drift, sum.Failed
	run.Continuation = checkpoint
	run.Status = "succeeded"
	switch {
	case stopped:
		run.Status = "partial"
	case listErr != nil || len(errs) > 0:
		run.Status = "failed"
	}
	allErr := errors.Join(append(errs, listErr)...)
	if allErr != nil {
		run.Error = truncate(allErr.Error(), 2048)
	}
	if runs != nil {
		wctx := context.WithoutCancel(ctx)
		if err := runs.PutCheckpoint(wctx, key, checkpoint); err != nil {
			allErr = errors.Join(allErr, storeErr("store scan position", err))
		}
		if err := runs.PutRun(wctx, run); err != nil {
			allErr = errors.Join(allErr, storeErr("record run end", err))
		}
	}
	return sum, allErr
}

// sortedProviders are the providers in type order: a scan's fixed order.
func (r *Reconciler) sortedProviders() []resource.Provider {
	out := make([]resource.Provider, 0, len(r.Providers))
	for _, k := range slices.Sorted(maps.Keys(r.Providers)) {
		out = append(out, r.Providers[k])
	}
	return out
}

// listNoun names a kind's resources in messages ("private link services",
// else the ARM type).
func listNoun(k resource.Kind) string {
	if strings.EqualFold(k.Type, resource.PrivateLinkService.Type) {
		return "private link services"
	}
	return k.Type + " resources"
}

// fetchedPage is one list page read ahead by prefetch.
type fetchedPage struct {
	page   []*resource.Resource
	err    error
	readAt time.Time // when its read started: a row written after it may be fresher
}

// prefetch reads the pages of seq one ahead in a goroutine, so that fetching
// and decoding the next page overlaps with the work on the current one
// instead of leaving the workers idle meanwhile. Memory stays bounded: besides
// the page being dispatched, one page waits in the channel and one may be
// being read. stop ends the reader early (safe to call more than once).
func (r *Reconciler) prefetch(seq iter.Seq2[[]*resource.Resource, error]) (pages <-chan fetchedPage, stop func()) {
	ch := make(chan fetchedPage, 1)
	done := make(chan struct{})
	go func() {
		defer close(ch)
		readAt := r.now()
		for page, err := range seq {
			select {
			case ch <- fetchedPage{page: page, err: err, readAt: readAt}:
			case <-done:
				return
			}
			readAt = r.now() // the next page is read after this one was handed out
		}
	}()
	var once sync.Once
	return ch, func() { once.Do(func() { close(done) }) }
}
