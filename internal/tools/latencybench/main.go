package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/plsgate/plsgate/internal/armemu"
	"github.com/plsgate/plsgate/internal/devenv"
	devazurite "github.com/plsgate/plsgate/internal/devenv/azurite"
)

// scenario is one kind of request and how its news reaches plsgate.
type scenario struct {
	key, title string
	spl        bool   // a Web PubSub shared private link resource (else a private endpoint)
	events     bool   // Event Grid delivers to the host emulator
	writeAt    string // when the shared private link resource's write event is raised
	scaled     bool   // runs at -retry-scale
	timer      bool   // the Reconcile timer runs every -timer-period
}

var scenarios = []scenario{
	{key: "a", title: "(a) private endpoint in the PLS's subscription: its own write event (Event Grid's real retry schedule)", events: true},
	{key: "b", title: "(b) Web PubSub shared private link resource, write event at completion (Event Grid's real retry schedule)", spl: true, events: true, writeAt: armemu.SharedLinkAtCompleted},
	{key: "bp", title: "(b′) Web PubSub shared private link resource, write event at acceptance (compressed retry schedule, reported in real time)", spl: true, events: true, writeAt: armemu.SharedLinkAtAccepted, scaled: true},
	{key: "c", title: "(c) Web PubSub shared private link resource, no event (lost; CrossSubscription none): the timer only", spl: true, writeAt: armemu.SharedLinkAtCompleted, timer: true},
}

type options struct {
	scenarios    []scenario
	n, burst     int
	armLatencies []time.Duration
	parallelism  int
	retryScale   float64
	splDuration  time.Duration
	timerPeriod  time.Duration
	realPeriod   time.Duration
	timeout      time.Duration
	settle       time.Duration
	plsgate      string
	logLevel     string
	jsonFile     string
	keep         bool
}

func main() {
	o, err := parseFlags(os.Args[1:], os.Stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		fmt.Fprintln(os.Stderr, "latencybench:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, o, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "latencybench:", err)
		os.Exit(1)
	}
}

func parseFlags(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("latencybench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	sc := fs.String("scenarios", "a,b,bp,c", "scenarios to run: a, b, bp (b′; also b'), c")
	lat := fs.String("arm-latency", "0,50ms", "comma-separated ARM emulator latencies per call; each scenario runs at each")
	fs.IntVar(&o.n, "n", 200, "requests per mode (sequential, then the same number in bursts)")
	fs.IntVar(&o.burst, "burst", 50, "requests per burst (also the PLS pool: one request per PLS at a time)")
	fs.IntVar(&o.parallelism, "eg-parallelism", 8, "concurrent Event Grid deliveries (armemu's default is 1)")
	fs.Float64Var(&o.retryScale, "retry-scale", 0.05, "Event Grid retry schedule multiplier for b′ (a and b always run at 1)")
	fs.DurationVar(&o.splDuration, "spl-duration", 5*time.Second, "b′: how long, in real time, a shared private link resource stays Updating (scaled by -retry-scale)")
	fs.DurationVar(&o.timerPeriod, "timer-period", time.Second, "c: the period at which the bench fires the Reconcile timer")
	fs.DurationVar(&o.realPeriod, "real-period", 2*time.Minute, "c: the timer period to scale the results to (RECONCILE_SCHEDULE's default)")
	fs.DurationVar(&o.timeout, "timeout", 60*time.Second, "per request: not approved by then counts as never approved (c: at least 10 timer periods)")
	fs.DurationVar(&o.settle, "settle", 2*time.Second, "after each request or burst, wait at most this long for Event Grid to go idle")
	fs.StringVar(&o.plsgate, "plsgate", "", "plsgate binary to run as `plsgate serve` (default: go build one into a temporary directory)")
	fs.StringVar(&o.logLevel, "log-level", "info", "plsgate's PLSGATE_LOG_LEVEL")
	fs.StringVar(&o.jsonFile, "json", "", "also write the results as JSON to `FILE`")
	fs.BoolVar(&o.keep, "keep", false, "keep the temporary directory (plsgate's logs)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: go run ./internal/tools/latencybench [flags]   (see the package documentation)")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected argument %q (flags only)", fs.Arg(0))
	}
	seen := map[string]bool{}
	for _, k := range strings.Split(*sc, ",") {
		k = strings.TrimSpace(strings.ToLower(k))
		if k == "b'" || k == "b′" {
			k = "bp"
		}
		found := false
		for _, s := range scenarios {
			if s.key == k && !seen[k] {
				o.scenarios, seen[k], found = append(o.scenarios, s), true, true
			}
		}
		if !found && !seen[k] {
			return o, fmt.Errorf("-scenarios: unknown scenario %q (want a, b, bp, c)", k)
		}
	}
	for _, v := range strings.Split(*lat, ",") {
		d, err := time.ParseDuration(strings.TrimSpace(v))
		if err != nil || d < 0 {
			return o, fmt.Errorf("-arm-latency: %q is not a duration ≥ 0 (e.g. 0,50ms)", v)
		}
		o.armLatencies = append(o.armLatencies, d)
	}
	switch {
	case o.n < 1:
		return o, fmt.Errorf("-n %d: want at least 1", o.n)
	case o.burst < 1 || o.burst > 999:
		return o, fmt.Errorf("-burst %d: want 1..999", o.burst)
	case o.parallelism < 1:
		return o, fmt.Errorf("-eg-parallelism %d: want at least 1", o.parallelism)
	case o.retryScale <= 0 || o.retryScale > 1:
		return o, fmt.Errorf("-retry-scale %v: want (0, 1]", o.retryScale)
	case o.splDuration <= 0 || o.splDuration >= 5*time.Minute:
		return o, fmt.Errorf("-spl-duration %v: want (0, 5m) (plsgate stops requeueing 5 minutes after the event)", o.splDuration)
	case o.timerPeriod < 100*time.Millisecond:
		return o, fmt.Errorf("-timer-period %v: want at least 100ms", o.timerPeriod)
	case o.realPeriod <= 0:
		return o, fmt.Errorf("-real-period %v: want > 0", o.realPeriod)
	case o.timeout <= 0 || o.settle < 0:
		return o, fmt.Errorf("-timeout must be > 0 and -settle ≥ 0")
	}
	return o, nil
}

// scenarioResult is one scenario at one ARM latency.
type scenarioResult struct {
	Scenario    string       `json:"scenario"`
	Title       string       `json:"title"`
	ARMLatency  string       `json:"armLatency"`
	RetryScale  float64      `json:"retryScale"`
	TimerPeriod string       `json:"timerPeriod,omitempty"`
	LoadBefore  string       `json:"loadAverageBefore"`
	LoadAfter   string       `json:"loadAverageAfter"`
	Modes       []modeResult `json:"modes"`
	Error       string       `json:"error,omitempty"`
}

type report struct {
	CPUs          int              `json:"cpus"`
	GOMAXPROCS    int              `json:"gomaxprocs"`
	Parallelism   int              `json:"eventGridParallelism"`
	Requests      int              `json:"requestsPerMode"`
	Burst         int              `json:"burst"`
	SPLDurationS  float64          `json:"splDurationSeconds"`
	Results       []scenarioResult `json:"results"`
	TotalSeconds  float64          `json:"totalSeconds"`
	PlsgateBinary string           `json:"plsgate"`
}

func run(ctx context.Context, o options, out io.Writer) error {
	began := time.Now()
	root, err := devenv.FindRoot(".")
	if err != nil {
		return err
	}
	if !devazurite.Installed(root) {
		return fmt.Errorf("%s is not installed: run `make tools` (npm ci) first", devazurite.BinRel)
	}
	dir, err := os.MkdirTemp("", "latencybench-")
	if err != nil {
		return err
	}
	if o.keep {
		fmt.Fprintln(os.Stderr, "latencybench: logs in", dir)
	} else {
		defer os.RemoveAll(dir)
	}
	bin := o.plsgate
	if bin == "" {
		bin = filepath.Join(dir, "plsgate")
		fmt.Fprintln(os.Stderr, "latencybench: building plsgate …")
		cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, ".")
		cmd.Dir, cmd.Stdout, cmd.Stderr = root, os.Stderr, os.Stderr
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("go build plsgate: %w", err)
		}
	} else if bin, err = filepath.Abs(bin); err != nil {
		return err
	}
	az, err := devazurite.Launch(ctx, root, filepath.Join(dir, "azurite"))
	if err != nil {
		return fmt.Errorf("start Azurite: %w", err)
	}
	defer az.Stop()

	rep := report{CPUs: runtime.NumCPU(), GOMAXPROCS: runtime.GOMAXPROCS(0), Parallelism: o.parallelism, Requests: o.n, Burst: o.burst,
		SPLDurationS: o.splDuration.Seconds(), PlsgateBinary: bin}
	fmt.Fprintf(out, "latencybench: %d requests per mode (sequential, then bursts of %d), one PLS per request in flight (pool of %d), %d concurrent Event Grid deliveries\n",
		o.n, o.burst, o.burst, o.parallelism)
	fmt.Fprintf(out, "machine: %d CPUs, GOMAXPROCS %d; stack: host emulator → plsgate serve (child process) → ARM emulator; Azurite %s (Table calls through a timing proxy)\n\n",
		rep.CPUs, rep.GOMAXPROCS, devazurite.Version(root))
	var failed []string
	for li, lat := range o.armLatencies {
		for _, sc := range o.scenarios {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			res := runScenario(ctx, o, sc, lat, stackConfig{o: o, sc: sc, armLatency: lat, root: root, bin: bin, dir: dir, azurite: az,
				prefix: fmt.Sprintf("lb%s%d", sc.key, li)})
			rep.Results = append(rep.Results, res)
			if res.Error != "" {
				failed = append(failed, sc.key+"@"+lat.String()+": "+res.Error)
			}
			printScenario(out, res, o)
		}
	}
	rep.TotalSeconds = time.Since(began).Seconds()
	fmt.Fprintf(out, "total %.0fs\n", rep.TotalSeconds)
	if o.jsonFile != "" {
		b, err := json.MarshalIndent(rep, "", "  ")
		if err != nil {
			return err
		}
		if err := os.WriteFile(o.jsonFile, append(b, '\n'), 0o644); err != nil {
			return err
		}
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if len(failed) > 0 {
		return fmt.Errorf("%d scenario(s) failed: %s", len(failed), strings.Join(failed, "; "))
	}
	return nil
}

func runScenario(ctx context.Context, o options, sc scenario, lat time.Duration, c stackConfig) scenarioResult {
	res := scenarioResult{Scenario: sc.key, Title: sc.title, ARMLatency: lat.String(), RetryScale: 1, LoadBefore: loadAverage()}
	if sc.scaled {
		res.RetryScale = o.retryScale
	}
	if sc.timer {
		res.TimerPeriod = o.timerPeriod.String()
	}
	progress("%s at ARM latency %v: starting plsgate", sc.key, lat)
	s, err := startStack(ctx, c)
	if err != nil {
		res.Error = err.Error()
		return res
	}
	defer s.stop()

	seq := s.runSequential(ctx)
	var bur *phase
	if seq.aborted == "" {
		b := s.runBursts(ctx)
		bur = &b
	}
	failures := s.invocationFailures()
	res.Modes = append(res.Modes, analyze("sequential", seq, s.rec, sc, o, true, failures))
	if bur != nil {
		res.Modes = append(res.Modes, analyze(fmt.Sprintf("bursts of %d", o.burst), *bur, s.rec, sc, o, false, failures))
	}
	for _, m := range res.Modes {
		if m.Aborted != "" {
			res.Error = m.Mode + ": " + m.Aborted
		}
	}
	res.LoadAfter = loadAverage()
	return res
}

// abortAfter: a scenario whose first requests are all never approved stops
// (the path is not there) instead of waiting -timeout for each of -n requests.
const abortAfter = 3

func (s *stack) runSequential(ctx context.Context) phase {
	ph := phase{start: time.Now()}
	p0, a0 := s.cpu()
	u0 := s.unsettled
	for i := 0; i < s.o.n && ctx.Err() == nil; i++ {
		s.randomPhase(ctx)
		req, err := s.create(i, i%s.pool)
		if err != nil {
			ph.aborted = err.Error()
			break
		}
		s.wait(ctx, req)
		if err := s.cleanup(req); err != nil {
			ph.aborted = err.Error()
			break
		}
		s.settle(ctx)
		ph.reqs = append(ph.reqs, req)
		if len(ph.reqs) == abortAfter && approvedCount(ph.reqs) == 0 {
			ph.aborted = fmt.Sprintf("none of the first %d requests was approved within %v: is the path wired? (%s)", abortAfter, s.timeout(), s.lastLogLine())
			break
		}
		if (i+1)%50 == 0 {
			progress("%s sequential: %d/%d", s.sc.key, i+1, s.o.n)
		}
	}
	ph.end = time.Now()
	p1, a1 := s.cpu()
	ph.cpuPlsgate, ph.cpuAzure, ph.unsettled = p1-p0, a1-a0, s.unsettled-u0
	return ph
}

func (s *stack) runBursts(ctx context.Context) phase {
	ph := phase{start: time.Now()}
	p0, a0 := s.cpu()
	u0 := s.unsettled
	for first := 0; first < s.o.n && ctx.Err() == nil; first += s.pool {
		s.randomPhase(ctx)
		m := min(s.pool, s.o.n-first)
		reqs := make([]*request, 0, m)
		for j := range m {
			req, err := s.create(s.o.n+first+j, j)
			if err != nil {
				ph.aborted = err.Error()
				break
			}
			reqs = append(reqs, req)
		}
		for _, req := range reqs {
			s.wait(ctx, req)
		}
		for _, req := range reqs {
			if err := s.cleanup(req); err != nil && ph.aborted == "" {
				ph.aborted = err.Error()
			}
		}
		s.settle(ctx)
		ph.reqs = append(ph.reqs, reqs...)
		if ph.aborted != "" {
			break
		}
		if approvedCount(reqs) == 0 {
			ph.aborted = fmt.Sprintf("no request of a burst of %d was approved within %v", m, s.timeout())
			break
		}
		progress("%s bursts: %d/%d", s.sc.key, first+m, s.o.n)
	}
	ph.end = time.Now()
	p1, a1 := s.cpu()
	ph.cpuPlsgate, ph.cpuAzure, ph.unsettled = p1-p0, a1-a0, s.unsettled-u0
	return ph
}

func approvedCount(reqs []*request) int {
	n := 0
	for _, r := range reqs {
		if !r.Approved.IsZero() {
			n++
		}
	}
	return n
}

// lastLogLine is plsgate's last warning or error, for an abort message.
func (s *stack) lastLogLine() string {
	b, err := os.ReadFile(s.logFile.Name())
	if err != nil {
		return "no log"
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		if strings.Contains(lines[i], "level=WARN") || strings.Contains(lines[i], "level=ERROR") {
			return "plsgate's last warning: " + clip(lines[i], 300)
		}
	}
	return "plsgate logged no warning"
}

func printScenario(w io.Writer, r scenarioResult, o options) {
	fmt.Fprintf(w, "%s\n  ARM latency %s per call", r.Title, r.ARMLatency)
	if r.RetryScale != 1 {
		fmt.Fprintf(w, ", retry schedule ×%s, shared private link resource Updating for %v (real time)", trimFloat(r.RetryScale), o.splDuration)
	}
	if r.TimerPeriod != "" {
		fmt.Fprintf(w, ", timer fired every %s (reported in periods and scaled to %v)", r.TimerPeriod, o.realPeriod)
	}
	fmt.Fprintf(w, "; load average %s → %s\n", r.LoadBefore, r.LoadAfter)
	if r.Error != "" && len(r.Modes) == 0 {
		fmt.Fprintf(w, "  FAILED: %s\n\n", r.Error)
		return
	}
	for _, m := range r.Modes {
		fmt.Fprintf(w, "  %s: %d requests, %d approved, %d never approved (timeout)", m.Mode, m.Requests, m.Approved, m.Never)
		if m.Unsettled > 0 {
			fmt.Fprintf(w, ", Event Grid not idle %d× after -settle", m.Unsettled)
		}
		fmt.Fprintln(w)
		if m.Aborted != "" {
			fmt.Fprintf(w, "    ABORTED: %s\n", m.Aborted)
		}
		for _, mt := range m.Metrics {
			fmt.Fprintf(w, "    %-s\n      %s\n", mt.Name, fmtStats(mt.Stats, mt.Unit))
		}
		if len(m.Attempts) > 0 {
			var parts []string
			keys := make([]int, 0, len(m.Attempts))
			for k := range m.Attempts {
				keys = append(keys, k)
			}
			sort.Ints(keys)
			for _, k := range keys {
				name := "first delivery"
				if k > 0 {
					name = fmt.Sprintf("redelivery %d (after %v)", k, cumulativeDelay(k))
				}
				parts = append(parts, fmt.Sprintf("%s %d", name, m.Attempts[k]))
			}
			fmt.Fprintf(w, "    approved on: %s\n", strings.Join(parts, ", "))
		}
		if len(m.FailedDeliveries) > 0 {
			keys := make([]string, 0, len(m.FailedDeliveries))
			for k := range m.FailedDeliveries {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			parts := make([]string, len(keys))
			for i, k := range keys {
				parts[i] = fmt.Sprintf("%s %d", k, m.FailedDeliveries[k])
			}
			fmt.Fprintf(w, "    deliveries plsgate failed during the phase, cleanup included (Event Grid redelivers): %s\n", strings.Join(parts, ", "))
		}
		if m.NoHandoff > 0 {
			fmt.Fprintf(w, "    %d approved with no event of theirs handed to the host (left out)\n", m.NoHandoff)
		}
		if b := m.Breakdown; b != nil {
			fmt.Fprintf(w, "    where the time goes (%s; median / mean per request):\n", b.Window)
			fmt.Fprintf(w, "      total %s = ARM %s + Table %s + plsgate and host emulator %s (ARM and Table overlap when plsgate runs them at once)\n",
				mm(b.TotalMS), mm(b.ARMMS), mm(b.TableMS), mm(b.RestMS))
			fmt.Fprintf(w, "      ARM calls: %s\n      Table calls: %s\n", fmtCalls(b.ARMCalls), fmtCalls(b.TableCalls))
			fmt.Fprintf(w, "      CPU per request (the whole phase, cleanup included): plsgate %.1f ms, Azurite %.1f ms; wall per request %.0f ms\n",
				b.PlsgateCPU, b.AzuriteCPU, b.WallPerReq)
			if b.TickSeconds != nil {
				fmt.Fprintf(w, "      timer ticks: %d, duration %s\n", b.TickSeconds.N, fmtStats(*b.TickSeconds, "s"))
			}
		}
	}
	fmt.Fprintln(w)
}

func cumulativeDelay(attempt int) time.Duration {
	var d time.Duration
	for i := range attempt {
		d += retryDelay(i)
	}
	return d
}

func fmtStats(s stats, unit string) string {
	if s.N == 0 {
		return "no data"
	}
	f := func(v float64) string {
		switch unit {
		case "ms":
			return fmtMS(v)
		case "s":
			return fmt.Sprintf("%.2fs", v)
		default:
			return fmt.Sprintf("%.2f %s", v, unit)
		}
	}
	return fmt.Sprintf("p50 %s  p95 %s  p99 %s  max %s  mean %s  (n=%d)", f(s.P50), f(s.P95), f(s.P99), f(s.Max), f(s.Mean), s.N)
}

func fmtMS(v float64) string {
	if v >= 10000 {
		return fmt.Sprintf("%.1fs", v/1000)
	}
	if v >= 100 {
		return fmt.Sprintf("%.0fms", v)
	}
	return fmt.Sprintf("%.1fms", v)
}

func mm(s stats) string { return fmtMS(s.P50) + "/" + fmtMS(s.Mean) }

func fmtCalls(m map[string]float64) string {
	if len(m) == 0 {
		return "none"
	}
	keys := make([]string, 0, len(m))
	total := 0.0
	for k, v := range m {
		keys = append(keys, k)
		total += v
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s %.2f", k, m[k])
	}
	return fmt.Sprintf("%.2f (%s)", total, strings.Join(parts, ", "))
}

func trimFloat(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

func progress(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "latencybench: "+format+"\n", args...)
}

func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}
