package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"runtime/pprof"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"github.com/plsgate/plsgate/internal/arm"
	"github.com/plsgate/plsgate/internal/armemu"
	"github.com/plsgate/plsgate/internal/devenv"
	devazurite "github.com/plsgate/plsgate/internal/devenv/azurite"
	"github.com/plsgate/plsgate/internal/policy"
	"github.com/plsgate/plsgate/internal/reconcile"
	"github.com/plsgate/plsgate/internal/store"
	"github.com/plsgate/plsgate/internal/store/memstore"
)

// benchPolicy approves the generated consumers (armemu.GenerateWorld puts
// every private endpoint in this subscription): Pending connections are
// approved, Approved ones are what the policy wants (no drift).
const benchPolicy = `
version: 1
default: leave
rules:
  - name: consumers
    match:
      requester: { subscriptions: ["00000000-0000-0000-0000-0000000000c1"] }
    action: approve
`

// Settings passed from the parent to the child.
const (
	envARM    = "SCANBENCH_ARM"    // ARM emulator URL
	envStore  = "SCANBENCH_STORE"  // "memory:HOST:PORT" or "azurite:CONNECTION STRING"
	envPrefix = "SCANBENCH_PREFIX" // Table prefix (azurite)
)

type options struct {
	pls, conns, pendingEvery, pageSize, concurrency, ticks int
	latency                                                time.Duration
	store                                                  string
	asJSON                                                 bool
	cpuProfile                                             string
}

func main() {
	var o options
	child := flag.Bool("child", false, "run one scan (started by the parent; not for direct use)")
	flag.IntVar(&o.pls, "pls", 10000, "private link services")
	flag.IntVar(&o.conns, "conns", 5, "connections per private link service")
	flag.IntVar(&o.pendingEvery, "pending-every", 10, "every n-th connection is Pending")
	flag.IntVar(&o.pageSize, "page-size", armemu.DefaultPageSize, "ARM list page size")
	flag.DurationVar(&o.latency, "latency", 50*time.Millisecond, "ARM emulator latency per call")
	flag.IntVar(&o.concurrency, "concurrency", 8, "PLSs reconciled at once (RECONCILE_CONCURRENCY)")
	flag.IntVar(&o.ticks, "ticks", 2, "scans to run, each in a new process (1: converge only)")
	flag.StringVar(&o.store, "store", "memory", "Table store: memory (in the parent, over net/rpc) or azurite")
	flag.BoolVar(&o.asJSON, "json", false, "print the results as JSON")
	flag.StringVar(&o.cpuProfile, "cpuprofile", "", "write each tick's CPU profile to `FILE`.tickN")
	flag.Parse()
	var err error
	if *child {
		err = runChild(o)
	} else {
		err = runParent(o)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "scanbench:", err)
		os.Exit(1)
	}
}

// childResult is what a child prints on stdout.
type childResult struct {
	WallSeconds float64 `json:"wallSeconds"`
	Scanned     int     `json:"scanned"`
	Connections int     `json:"connections"`
	Approved    int     `json:"approved"`
	Observed    int     `json:"observed"`
	Failed      int     `json:"failed"`
	Complete    bool    `json:"complete"`
	Error       string  `json:"error,omitempty"`
	GoSysBytes  uint64  `json:"goSysBytes"` // memory the Go runtime got from the OS
	PeakRSS     int64   `json:"peakRssBytes"`
	StoreCalls  int64   `json:"storeCalls"` // Table requests (azurite) or store RPCs (memory)
}

func runChild(o options) error {
	ctx := context.Background()
	client, err := arm.New(arm.Options{Endpoint: os.Getenv(envARM), Credential: arm.StaticToken("scanbench"), AllowHTTP: true})
	if err != nil {
		return err
	}
	kind, arg, _ := strings.Cut(os.Getenv(envStore), ":")
	var st interface {
		reconcile.Store
		reconcile.RunRecorder
	}
	var storeCalls func() int64
	switch kind {
	case "memory":
		c, err := memstore.Dial(arg)
		if err != nil {
			return err
		}
		defer c.Close()
		st, storeCalls = c, c.Calls
	case "azurite":
		tr := &countingTransport{}
		s, err := store.New(ctx, store.Options{ConnectionString: arg, TablePrefix: os.Getenv(envPrefix), Transport: tr})
		if err != nil {
			return err
		}
		st, storeCalls = s, tr.n.Load
		tr.n.Store(0) // not the table creation
	default:
		return fmt.Errorf("%s: unknown store %q", envStore, kind)
	}
	pol, err := policy.Parse("bench.yaml", []byte(benchPolicy))
	if err != nil {
		return err
	}
	r := &reconcile.Reconciler{Providers: arm.Providers(client), Store: st, Policy: pol,
		Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))}
	scope := reconcile.Scope{Subscriptions: []string{armemu.GenerateWorld(1, 0, 0, nil).PrivateLinkServices[0].SubscriptionID}}
	if o.cpuProfile != "" {
		f, err := os.Create(o.cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	start := time.Now()
	sum, scanErr := r.Scan(ctx, scope, st, reconcile.Trigger{Kind: "timer"}, reconcile.ScanOptions{Concurrency: o.concurrency})
	res := childResult{
		WallSeconds: time.Since(start).Seconds(), Scanned: sum.Scanned, Connections: sum.Connections,
		Approved: sum.Approved, Observed: sum.Observed, Failed: sum.Failed, Complete: sum.Complete,
	}
	if scanErr != nil {
		res.Error = scanErr.Error()
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	res.GoSysBytes = ms.Sys
	res.PeakRSS = selfPeakRSS()
	res.StoreCalls = storeCalls()
	return json.NewEncoder(os.Stdout).Encode(res)
}

// tickReport is one tick as the parent measured it.
type tickReport struct {
	Tick         int            `json:"tick"`
	childResult                 //
	ARMCalls     map[string]int `json:"armCalls"`
	Pages        int            `json:"pages"`
	Writes       int            `json:"writes"`
	PerPLSGets   int            `json:"perPlsGets"`
	IdealSeconds float64        `json:"idealSeconds"`
	Ratio        float64        `json:"wallOverIdeal"`
}

type report struct {
	PLS          int          `json:"pls"`
	Conns        int          `json:"connectionsPerPls"`
	Pending      int          `json:"pending"`
	LatencyMS    float64      `json:"latencyMs"`
	Concurrency  int          `json:"concurrency"`
	PageSize     int          `json:"pageSize"`
	Store        string       `json:"store"`
	StoreRows    string       `json:"storeRows,omitempty"`
	GOMAXPROCS   int          `json:"gomaxprocs"`
	CPUs         int          `json:"cpus"`
	LoadAverage  string       `json:"loadAverage,omitempty"`
	Ticks        []tickReport `json:"ticks"`
	GeneratedSec float64      `json:"setupSeconds"`
}

func runParent(o options) error {
	if o.store != "memory" && o.store != "azurite" {
		return fmt.Errorf("-store %q: want memory or azurite", o.store)
	}
	setup := time.Now()
	world := armemu.GenerateWorld(o.pls, o.conns, o.pendingEvery, nil)
	pending := 0
	for _, p := range world.PrivateLinkServices {
		for _, c := range p.Connections {
			if c.Status == "Pending" {
				pending++
			}
		}
	}
	emu := armemu.New(armemu.Options{PageSize: o.pageSize})
	url, err := emu.Start()
	if err != nil {
		return err
	}
	defer emu.Close()
	if err := emu.Seed(world); err != nil {
		return err
	}
	world = armemu.World{} // the emulator has its own copy
	if err := emu.SetFaults(armemu.Faults{Rules: []armemu.FaultRule{{Operation: "*", Latency: armemu.Duration(o.latency)}}}); err != nil {
		return err
	}

	env := append(os.Environ(), envARM+"="+url)
	var mem *memstore.Store
	switch o.store {
	case "memory":
		mem = memstore.New()
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return err
		}
		defer ln.Close()
		go func() { _ = memstore.Serve(ln, mem) }()
		env = append(env, envStore+"=memory:"+ln.Addr().String())
	case "azurite":
		root, err := devenv.FindRoot(".")
		if err != nil {
			return err
		}
		dir, err := os.MkdirTemp("", "scanbench-azurite-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		p, err := devazurite.Launch(context.Background(), root, dir)
		if err != nil {
			return err
		}
		defer p.Stop()
		env = append(env, envStore+"=azurite:"+p.ConnectionString(), envPrefix+"=scanbench")
	}

	rep := report{PLS: o.pls, Conns: o.conns, Pending: pending, LatencyMS: float64(o.latency) / float64(time.Millisecond),
		Concurrency: o.concurrency, PageSize: o.pageSize, Store: o.store, GOMAXPROCS: runtime.GOMAXPROCS(0), CPUs: runtime.NumCPU(),
		LoadAverage: loadAverage(), GeneratedSec: time.Since(setup).Seconds()}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	for tick := 1; tick <= o.ticks; tick++ {
		emu.ResetCounters()
		args := []string{"-child", fmt.Sprint("-concurrency=", o.concurrency)}
		if o.cpuProfile != "" {
			args = append(args, fmt.Sprintf("-cpuprofile=%s.tick%d", o.cpuProfile, tick))
		}
		cmd := exec.Command(self, args...)
		cmd.Env = env
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, os.Stderr
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("tick %d: %w", tick, err)
		}
		var t tickReport
		if err := json.Unmarshal(out.Bytes(), &t.childResult); err != nil {
			return fmt.Errorf("tick %d: child output %q: %w", tick, out.String(), err)
		}
		t.Tick, t.ARMCalls = tick, emu.Counters()
		t.Pages = t.ARMCalls[armemu.OpPLSListBySubscription]
		t.Writes = t.ARMCalls[armemu.OpPLSUpdateConnection]
		t.PerPLSGets = t.ARMCalls[armemu.OpPLSGet] + t.ARMCalls[armemu.OpPLSGetConnection]
		ideal := (float64(t.Pages) + math.Ceil(float64(t.Writes)/float64(o.concurrency))) * o.latency.Seconds()
		t.IdealSeconds, t.Ratio = ideal, t.WallSeconds/ideal
		rep.Ticks = append(rep.Ticks, t)
		if t.Error != "" || !t.Complete {
			return fmt.Errorf("tick %d did not complete: %s", tick, t.Error)
		}
		if want := map[int]int{1: pending}[tick]; t.Approved != want {
			return fmt.Errorf("tick %d approved %d, want %d", tick, t.Approved, want)
		}
	}
	if mem != nil {
		s := mem.Stats()
		rep.StoreRows = fmt.Sprintf("%d connections, %d transitions, %d runs", s.Connections, s.Transitions, s.Runs)
	}
	if o.asJSON {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	printReport(os.Stdout, rep)
	return nil
}

func printReport(w io.Writer, r report) {
	fmt.Fprintf(w, "world: %d PLSs × %d connections (%d Pending), ARM latency %v per call, page size %d, concurrency %d\n",
		r.PLS, r.Conns, r.Pending, time.Duration(r.LatencyMS*float64(time.Millisecond)), r.PageSize, r.Concurrency)
	fmt.Fprintf(w, "store: %s", r.Store)
	if r.StoreRows != "" {
		fmt.Fprintf(w, " (%s after the ticks)", r.StoreRows)
	}
	fmt.Fprintf(w, "\nmachine: %d CPUs, GOMAXPROCS %d, load average %s\n\n", r.CPUs, r.GOMAXPROCS, r.LoadAverage)
	for _, t := range r.Ticks {
		name := "converge"
		if t.Tick > 1 {
			name = "steady state"
		}
		fmt.Fprintf(w, "tick %d (%s): %d PLSs, %d connections, %d approved, %d observed, %d failed\n",
			t.Tick, name, t.Scanned, t.Connections, t.Approved, t.Observed, t.Failed)
		fmt.Fprintf(w, "  wall %.2fs, ideal %.2fs ((%d pages + ⌈%d writes / %d⌉) × %v): %.3f× the ideal\n",
			t.WallSeconds, t.IdealSeconds, t.Pages, t.Writes, r.Concurrency, time.Duration(r.LatencyMS*float64(time.Millisecond)), t.Ratio)
		fmt.Fprintf(w, "  peak RSS of the scanning process %.1f MiB (Go runtime Sys %.1f MiB)\n",
			float64(t.PeakRSS)/(1<<20), float64(t.GoSysBytes)/(1<<20))
		total := 0
		var ops []string
		for op, n := range t.ARMCalls {
			total += n
			ops = append(ops, fmt.Sprintf("%s=%d", op, n))
		}
		sort.Strings(ops)
		fmt.Fprintf(w, "  ARM calls %d: %s (per-PLS GETs: %d)\n", total, strings.Join(ops, " "), t.PerPLSGets)
		fmt.Fprintf(w, "  store calls %d\n\n", t.StoreCalls)
	}
}

func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return ""
	}
	return strings.Join(f[:3], " ")
}

// countingTransport counts the Table requests of the scanning process.
type countingTransport struct{ n atomic.Int64 }

func (c *countingTransport) Do(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return http.DefaultTransport.RoundTrip(r)
}
