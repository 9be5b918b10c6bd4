package cli

import (
	"cmp"
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/plsgate/plsgate/internal/api"
	"github.com/plsgate/plsgate/internal/app"
	"github.com/plsgate/plsgate/internal/config"
	"github.com/plsgate/plsgate/internal/reconcile"
	"github.com/plsgate/plsgate/internal/resource"
)

const reconcileUsageText = `usage: plsgate reconcile [--pls ID ...] [--subscription ID ...] [--dry-run] [--output text|json]

Scans once what the timer scans: every private link service in scope, with the same
record-then-act path (Pending connections get the policy's decision, changes made
outside plsgate are recorded as observed, drift is reported or enforced per DRIFT_MODE).
Settings come from the environment as for serve (PLSGATE_TABLES_*, PLSGATE_POLICY,
SCOPE_*, DRIFT_MODE, ARM_ENDPOINT, ...). --pls and --subscription replace the
configured scope; both are repeatable and take comma-separated lists. Every kind of
resource plsgate manages is scanned like a private link service, and --pls takes
the ID of a resource of any of them.

The scan starts from the beginning and has no time budget (interrupt to stop it; the
timer then continues where it stopped). On a terminal, a progress line is shown on
stderr. A --pls that Azure Resource Manager does not know and plsgate never recorded is
"not found" (exit 1); one that disappeared lists its connections as removed.
Exit 0: everything converged; 1: something failed, was not found, or the scan was
interrupted; 2: bad arguments or configuration.

flags:
`

// maxTextOutcomes bounds the changed-connection table of the text output; the
// JSON output always has every outcome.
const maxTextOutcomes = 200

var subscriptionRE = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// checkResourceID accepts the ID of a resource of any registered kind (resource.Kinds): a
// private link service, or another kind plsgate manages (--pls keeps its name).
func checkResourceID(id string) error {
	if rid, _, ok := resource.ResourceOf(id); ok && resource.Same(rid, id) {
		return nil
	}
	var types []string
	for _, k := range resource.Kinds() {
		types = append(types, k.Type)
	}
	return fmt.Errorf("%q is not the ID of a private link service or another resource plsgate manages "+
		"(/subscriptions/…/resourceGroups/…/providers/{type}/{name}, {type} one of: %s)", id, strings.Join(types, ", "))
}

// Reconcile runs `plsgate reconcile`; env.Args are the arguments after "reconcile".
func Reconcile(ctx context.Context, env Env) int {
	stderr := env.Stderr
	fset := flag.NewFlagSet("plsgate reconcile", flag.ContinueOnError)
	fset.SetOutput(stderr)
	var plsIDs, subs listFlag
	fset.Var(&plsIDs, "pls", "private link service (or other managed resource) `ID` to scan (repeatable)")
	fset.Var(&subs, "subscription", "subscription `ID` whose private link services to scan (repeatable)")
	dryRun := fset.Bool("dry-run", false, "print what would be done; write nothing to ARM or Table storage")
	output := fset.String("output", "text", "output `format`: text or json")
	fset.Usage = func() {
		fmt.Fprint(stderr, reconcileUsageText)
		fset.PrintDefaults()
	}
	pos, code, ok := parseFlags(fset, env.Args, stderr)
	if !ok {
		return code
	}
	if len(pos) > 0 || !validOutput(*output) {
		if len(pos) > 0 {
			fmt.Fprintf(stderr, "plsgate reconcile: unexpected arguments %q\n", pos)
		}
		fset.Usage()
		return ExitUsage
	}
	for _, id := range plsIDs {
		if err := checkResourceID(id); err != nil {
			fmt.Fprintf(stderr, "plsgate reconcile: --pls: %v\n", err)
			return ExitUsage
		}
	}
	for _, s := range subs {
		if !subscriptionRE.MatchString(s) {
			fmt.Fprintf(stderr, "plsgate reconcile: --subscription: %q is not a subscription ID (GUID)\n", s)
			return ExitUsage
		}
	}

	cfg, err := config.Load(env.Getenv)
	if err != nil {
		fmt.Fprintf(stderr, "plsgate: invalid configuration:\n%v\n", err)
		return ExitUsage
	}
	scope := reconcile.Scope{Subscriptions: cfg.ScopeSubscriptions, PLSIDs: cfg.ScopePLSIDs}
	if len(plsIDs) > 0 || len(subs) > 0 {
		scope = reconcile.Scope{Subscriptions: subs, PLSIDs: plsIDs}
	}
	if len(scope.Subscriptions) == 0 && len(scope.PLSIDs) == 0 {
		fmt.Fprintln(stderr, "plsgate reconcile: nothing to scan: set SCOPE_SUBSCRIPTIONS or SCOPE_PLS_IDS, or give --subscription or --pls")
		return ExitUsage
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: cfg.LogLevel}))
	a, err := app.New(ctx, cfg, logger, app.Deps{})
	if err != nil {
		fmt.Fprintf(stderr, "plsgate reconcile: %v\n", err)
		return ExitCode(err)
	}
	defer func() {
		flush, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = a.Close(flush) // queued notifications
	}()
	var runs reconcile.RunRecorder = a.Store
	if *dryRun {
		// A what-if: read ARM and Table storage, write neither. (DRY_RUN=true in
		// serve is different: the audit-only mode records dry-run rows.)
		a.Reconciler.DryRun = true
		a.Reconciler.Store = reconcile.ReadOnly(a.Reconciler.Store)
		runs = nil
	}

	opts := reconcile.ScanOptions{Concurrency: cfg.ReconcileConcurrency}
	var prog *progressLine
	if isTerminal(stderr) {
		total := 0
		if len(scope.Subscriptions) == 0 {
			total = len(scope.PLSIDs) // known only without listing
		}
		prog = &progressLine{w: stderr, total: total}
		opts.Progress = prog.update
	}
	sum, scanErr := a.Reconciler.Scan(ctx, scope, runs, reconcile.Trigger{Kind: "cli"}, opts)
	if prog != nil {
		prog.done(sum)
	}
	failed := scanErr != nil || sum.Failed > 0 || !sum.Complete
	for _, nf := range notFound(scanErr) {
		fmt.Fprintf(stderr, "plsgate reconcile: %v\n", nf)
	}
	out := newReconcileOutput(sum, a.Reconciler.DryRun, scanErr)
	if *output == "json" {
		if code := writeJSON(env.Stdout, stderr, out); code != ExitOK {
			return code
		}
	} else {
		writeReconcileText(env.Stdout, out)
	}
	if failed {
		return max(ExitRuntime, ExitCode(scanErr)) // incomplete or a failed PLS without an error is 1
	}
	return ExitOK
}

// reconcileOutput is the --output json shape of `reconcile` (and what the
// text output prints): the run's counters and every connection it changed.
type reconcileOutput struct {
	RunID       string `json:"runId"`
	Complete    bool   `json:"complete"`
	DryRun      bool   `json:"dryRun"`
	ResumedAt   string `json:"resumedAt,omitempty"`
	Scanned     int    `json:"scanned"` // private link services
	Listed      int    `json:"listed"`
	Connections int    `json:"connections"`
	Approved    int    `json:"approved"`
	Rejected    int    `json:"rejected"`
	Observed    int    `json:"observed"`
	Drift       int    `json:"drift"`
	LeftPending int    `json:"leftPending"`
	// Removed counts connections found gone (also every connection of a vanished PLS).
	Removed int `json:"removed"`
	// WouldAct counts dry-run decisions (approve/reject not carried out).
	WouldAct int               `json:"wouldAct"`
	Failed   int               `json:"failed"`
	Error    string            `json:"error,omitempty"`
	Outcomes []api.OutcomeJSON `json:"outcomes"`
	// OutcomesOmitted: changes beyond what a scan keeps (reconcile.MaxScanOutcomes);
	// the counters include them and the history has them all.
	OutcomesOmitted int `json:"outcomesOmitted,omitempty"`
}

func newReconcileOutput(sum reconcile.RunSummary, dryRun bool, err error) reconcileOutput {
	out := reconcileOutput{
		RunID: sum.RunID, Complete: sum.Complete, DryRun: dryRun, ResumedAt: sum.ResumedAt,
		Scanned: sum.Scanned, Listed: sum.Listed, Connections: sum.Connections,
		Approved: sum.Approved, Rejected: sum.Rejected, Observed: sum.Observed, Drift: sum.Drift,
		LeftPending: sum.LeftPending, Failed: sum.Failed, Outcomes: []api.OutcomeJSON{}, OutcomesOmitted: sum.OutcomesOmitted,
	}
	if err != nil {
		out.Error = err.Error()
	}
	outs := slices.Clone(sum.Outcomes)
	// Completion order depends on concurrency: sort for a stable, readable report.
	slices.SortStableFunc(outs, func(a, b reconcile.Outcome) int {
		return cmp.Or(strings.Compare(resource.Normalize(a.PLSID), resource.Normalize(b.PLSID)),
			strings.Compare(strings.ToLower(a.Connection), strings.ToLower(b.Connection)))
	})
	for _, o := range outs {
		switch o.Result {
		case reconcile.DryRun:
			out.WouldAct++
		case reconcile.Removed:
			out.Removed++
		}
		j := api.NewOutcomeJSON(o)
		if o.Err != nil {
			j.Error = o.Err.Error() // a local operator sees the detail
		}
		out.Outcomes = append(out.Outcomes, j)
	}
	return out
}

func writeReconcileText(w io.Writer, o reconcileOutput) {
	state := "complete"
	if !o.Complete {
		state = "INCOMPLETE"
	}
	if o.DryRun {
		state += " (dry run: nothing written)"
	}
	fmt.Fprintf(w, "run %s: %s\n", o.RunID, state)
	if o.ResumedAt != "" {
		fmt.Fprintf(w, "resumed at position %s\n", o.ResumedAt)
	}
	type count struct {
		name string
		n    int
	}
	rows := []count{
		{"private link services scanned", o.Scanned}, {"connections", o.Connections},
		{"approved", o.Approved}, {"rejected", o.Rejected}, {"observed", o.Observed},
		{"drift", o.Drift}, {"left pending", o.LeftPending}, {"removed", o.Removed},
	}
	if o.DryRun {
		rows = append(rows, count{"would act (dry run)", o.WouldAct})
	}
	rows = append(rows, count{"failed", o.Failed})
	for _, r := range rows {
		fmt.Fprintf(w, "  %-30s %6d\n", r.name, r.n)
	}
	if o.Error != "" {
		fmt.Fprintf(w, "errors:\n")
		for _, line := range strings.Split(o.Error, "\n") {
			fmt.Fprintf(w, "  %s\n", line)
		}
	}
	if len(o.Outcomes) == 0 {
		fmt.Fprintln(w, "\nno connection changed")
		return
	}
	fmt.Fprintln(w, "\nchanged connections:")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "RESULT\tPRIVATE LINK SERVICE\tCONNECTION\tFROM\tTO\tRULE\tREASON")
	for i, oc := range o.Outcomes {
		if i == maxTextOutcomes {
			break
		}
		reason := oc.Reason
		if oc.Error != "" {
			reason = "error: " + oc.Error
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", oc.Result, lastSegment(oc.PrivateLinkServiceID), oc.Connection,
			dash(oc.From), dash(oc.To), dash(oc.Rule), clip(oneLine(reason), 100))
	}
	_ = tw.Flush()
	if n := len(o.Outcomes) - maxTextOutcomes; n > 0 {
		fmt.Fprintf(w, "… and %d more (--output json lists them)\n", n)
	}
	if o.OutcomesOmitted > 0 {
		fmt.Fprintf(w, "… and %d more changes not kept by the scan (counted above; `plsgate history` has them)\n", o.OutcomesOmitted)
	}
}

// notFound lists the private link services an operator named that do not exist.
func notFound(err error) []*reconcile.ServiceNotFoundError {
	var out []*reconcile.ServiceNotFoundError
	var walk func(error)
	walk = func(err error) {
		if nf, ok := err.(*reconcile.ServiceNotFoundError); ok {
			out = append(out, nf)
			return
		}
		switch u := err.(type) {
		case interface{ Unwrap() []error }:
			for _, e := range u.Unwrap() {
				walk(e)
			}
		case interface{ Unwrap() error }:
			walk(u.Unwrap())
		}
	}
	walk(err)
	return out
}

// progressLine redraws one status line on a terminal ("\r" updates), at most
// every 100 ms: a scan reports after every private link service.
type progressLine struct {
	w     io.Writer
	total int // 0 = unknown (subscriptions are listed as the scan goes)

	mu    sync.Mutex
	last  time.Time
	width int
}

func (p *progressLine) update(s reconcile.RunSummary) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if now := time.Now(); now.Sub(p.last) >= 100*time.Millisecond {
		p.last = now
		p.draw(s)
	}
}

func (p *progressLine) done(s reconcile.RunSummary) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.draw(s)
	fmt.Fprintln(p.w)
}

func (p *progressLine) draw(s reconcile.RunSummary) {
	line := progressText(s, p.total)
	pad := ""
	if n := p.width - len(line); n > 0 {
		pad = strings.Repeat(" ", n) // erase what a longer previous line left
	}
	p.width = len(line)
	fmt.Fprintf(p.w, "\r%s%s", line, pad)
}

// progressText is the progress line's text: "PLS 120/?? scanned, 3 acted".
func progressText(s reconcile.RunSummary, total int) string {
	t := "??"
	if total > 0 {
		t = fmt.Sprint(total)
	}
	line := fmt.Sprintf("PLS %d/%s scanned, %d acted", s.Scanned, t, s.Acted())
	if s.Failed > 0 {
		line += fmt.Sprintf(", %d failed", s.Failed)
	}
	return line
}

// isTerminal reports whether w is a character device (a terminal): the
// progress line is for people, never for logs or pipes.
func isTerminal(w io.Writer) bool {
	f, ok := w.(interface{ Stat() (os.FileInfo, error) })
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

func lastSegment(id string) string {
	if i := strings.LastIndex(strings.TrimRight(id, "/"), "/"); i >= 0 {
		return strings.TrimRight(id, "/")[i+1:]
	}
	return id
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

func clip(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
