package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"log"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/plsgate/plsgate/internal/app"
	"github.com/plsgate/plsgate/internal/armemu"
	"github.com/plsgate/plsgate/internal/devenv"
	devazurite "github.com/plsgate/plsgate/internal/devenv/azurite"
	"github.com/plsgate/plsgate/internal/hostemu"
)

// The bench's world: one subscription holds the PLS pool, the consumers'
// private endpoints (scenario a) and the Web PubSub resource (b, b′, c).
const (
	subscription  = "00000000-0000-0000-0000-0000000000b1"
	resourceGroup = "latencybench"
	consumerRG    = "latencybench-consumers"
	webPubSubName = "lb-webpubsub"
	functionKey   = "latencybench-function-key"
	messagePrefix = "latencybench-" // + 16 hex digits: each shared private link resource its own message
)

// benchPolicy approves both kinds of request the bench makes: a private
// endpoint in the PLS owner's subscription, and a shared private link
// resource of the configured Web PubSub resource carrying an unguessable
// message (13 literal characters + 16 random hex digits; plsgate's loader
// wants at least 12 literal ones).
const benchPolicy = `version: 1
default: leave
rules:
  - name: same-subscription
    match:
      privateLinkService: { tags: { plsgate: enabled } }
      requester: { subscriptions: ["` + subscription + `"] }
    action: approve
  - name: webpubsub-shared-endpoints
    match:
      privateLinkService: { tags: { plsgate: enabled } }
      requestMessage: "^` + messagePrefix + `[0-9a-f]{16}$"
      verifiedBy: webPubSub
    action: approve
`

var (
	webPubSubID = "/subscriptions/" + subscription + "/resourceGroups/" + resourceGroup + "/providers/Microsoft.SignalRService/webPubSub/" + webPubSubName
)

func plsID(i int) string {
	return fmt.Sprintf("/subscriptions/%s/resourceGroups/%s/providers/Microsoft.Network/privateLinkServices/lb-pls-%03d", subscription, resourceGroup, i)
}

// stack is one scenario's environment: a fresh ARM emulator (and world), a
// fresh plsgate serve with its own table prefix, the host emulator; Azurite
// is shared by all stacks.
type stack struct {
	o    options
	sc   scenario
	rec  *recorder
	pool int

	emu            *armemu.Emulator
	servers        []*http.Server
	hostURL        string
	host           *hostemu.Host
	child          *exec.Cmd
	childDone      chan struct{}
	logFile        *os.File
	handlerURL     string
	timerStop      context.CancelFunc
	timerDone      chan struct{}
	unsettled      int // times the event queue was not idle within -settle after a request
	stopOnce       sync.Once
	azuritePID     int
	tablesOverHTTP *http.Transport
}

type stackConfig struct {
	o          options
	sc         scenario
	armLatency time.Duration
	root, bin  string
	dir        string // for plsgate's log and policy
	azurite    *devazurite.Process
	prefix     string
}

func startStack(ctx context.Context, c stackConfig) (s *stack, err error) {
	s = &stack{o: c.o, sc: c.sc, rec: newRecorder(), pool: c.o.burst, azuritePID: c.azurite.Process.Pid}
	defer func() {
		if err != nil {
			s.stop()
		}
	}()

	// ARM + Event Grid. Only the PLS owner's subscription has a system topic
	// for plsgate; the managed private endpoint of Web PubSub lives in another
	// subscription and tenant, so its connection raises nothing there (CrossNone).
	scale := 1.0
	if c.sc.scaled {
		scale = c.o.retryScale
	}
	lro := armemu.LROOptions{}
	if c.sc.key == "bp" {
		// The resource stays Updating for -spl-duration (scaled like the retry
		// schedule): plsgate's first attempt finds it not yet Succeeded.
		lro.MinDuration = time.Duration(float64(c.o.splDuration) * scale)
	}
	s.emu = armemu.New(armemu.Options{
		Seed: 15,
		LRO:  lro,
		Events: armemu.EventOptions{
			Schema:            armemu.SchemaEventGrid,
			Subscriptions:     []string{subscription},
			CrossSubscription: armemu.CrossNone,
			SharedLinkWriteAt: c.sc.writeAt,
			RetryScale:        scale,
			Parallelism:       c.o.parallelism,
		},
	})
	world := armemu.World{WebPubSubs: []*armemu.WebPubSub{{SubscriptionID: subscription, ResourceGroup: resourceGroup, Name: webPubSubName, Location: "eastus"}}}
	for i := range s.pool {
		world.PrivateLinkServices = append(world.PrivateLinkServices, &armemu.PrivateLinkService{
			SubscriptionID: subscription, ResourceGroup: resourceGroup, Name: fmt.Sprintf("lb-pls-%03d", i), Location: "eastus",
			Tags: map[string]string{"plsgate": "enabled"}, Visibility: []string{"*"}, Fqdns: []string{fmt.Sprintf("pls%03d.latencybench.example", i)},
		})
	}
	if err := s.emu.Seed(world); err != nil {
		return s, err
	}
	if c.armLatency > 0 {
		if err := s.emu.SetFaults(armemu.Faults{Rules: []armemu.FaultRule{{Operation: "*", Latency: armemu.Duration(c.armLatency)}}}); err != nil {
			return s, err
		}
	}
	armURL, err := s.serve(armHandler(s.emu.Handler(), s.rec, func(pls, conn string) string {
		cn, _ := s.emu.Connection(pls, conn)
		return cn.Status
	}))
	if err != nil {
		return s, err
	}

	// Table storage: a timing proxy in front of the shared Azurite (SharedKey
	// signs the path, not the host, so the proxy is transparent).
	target, _ := url.Parse(fmt.Sprintf("http://127.0.0.1:%d", c.azurite.Port))
	s.tablesOverHTTP = &http.Transport{MaxIdleConns: 256, MaxIdleConnsPerHost: 256, IdleConnTimeout: time.Minute}
	proxy := &httputil.ReverseProxy{
		Rewrite:   func(pr *httputil.ProxyRequest) { pr.SetURL(target) },
		Transport: &timedTransport{rec: s.rec, base: s.tablesOverHTTP, prefix: c.prefix},
		ErrorLog:  log.New(io.Discard, "", 0),
	}
	tablesURL, err := s.serve(proxy)
	if err != nil {
		return s, err
	}
	tablesPort, _ := strconv.Atoi(tablesURL[strings.LastIndex(tablesURL, ":")+1:])

	// plsgate serve, started as the Functions host starts a custom handler.
	port, err := devazurite.FreePort()
	if err != nil {
		return s, err
	}
	policyFile := filepath.Join(c.dir, "policy-"+c.prefix+".yaml")
	if err := os.WriteFile(policyFile, []byte(benchPolicy), 0o600); err != nil {
		return s, err
	}
	settings := map[string]string{
		"FUNCTIONS_CUSTOMHANDLER_PORT": strconv.Itoa(port),
		"PLSGATE_TABLES_CONNECTION":    devazurite.ConnectionString(tablesPort),
		"PLSGATE_TABLE_PREFIX":         c.prefix,
		"PLSGATE_POLICY":               policyFile,
		"SCOPE_SUBSCRIPTIONS":          subscription,
		"WEBPUBSUB_IDS":                webPubSubID,
		"ARM_ENDPOINT":                 armURL,
		"RECONCILE_SCHEDULE":           "0 */2 * * * *", // read by the host only; the bench fires the timer itself
		"PLSGATE_LOG_LEVEL":            c.o.logLevel,
	}
	if s.logFile, err = os.Create(filepath.Join(c.dir, "plsgate-"+c.prefix+".log")); err != nil {
		return s, err
	}
	cmd := exec.Command(c.bin, "serve")
	cmd.Dir = c.root
	cmd.Env = devenv.ServeEnv(os.Environ(), settings)
	cmd.Stdout, cmd.Stderr = s.logFile, s.logFile
	cmd.SysProcAttr = childProcAttr()
	if err := cmd.Start(); err != nil {
		return s, fmt.Errorf("start %s serve: %w", c.bin, err)
	}
	s.child, s.childDone = cmd, make(chan struct{})
	go func() { _ = cmd.Wait(); close(s.childDone) }()
	s.handlerURL = "http://127.0.0.1:" + strconv.Itoa(port)
	if err := devenv.WaitHandler(ctx, s.handlerURL, s.childDone, func() string { return fmt.Sprintf("%v: %s", s.child.ProcessState, s.logTail()) }); err != nil {
		return s, err
	}

	// The Functions host in front of it.
	if s.host, err = hostemu.Load(filepath.Join(c.root, "functions"), s.handlerURL, hostemu.Options{FunctionKey: functionKey, Settings: settings}); err != nil {
		return s, fmt.Errorf("load the Functions host emulator: %w", err)
	}
	if s.hostURL, err = s.serve(hostHandler(s.host.Handler(), s.rec)); err != nil {
		return s, err
	}
	if err := s.waitAPI(ctx); err != nil {
		return s, err
	}
	if c.sc.events {
		if err := s.emu.SetEventSink(s.hostURL+"/runtime/webhooks/eventgrid?functionName="+app.FunctionEvents, armemu.SchemaEventGrid); err != nil {
			return s, err
		}
	}
	if c.sc.timer {
		tctx, cancel := context.WithCancel(context.Background())
		s.timerStop, s.timerDone = cancel, make(chan struct{})
		go s.runTimer(tctx)
	}
	return s, nil
}

func (s *stack) serve(h http.Handler) (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, ErrorLog: log.New(io.Discard, "", 0)}
	s.servers = append(s.servers, srv)
	go func() { _ = srv.Serve(ln) }()
	return "http://" + ln.Addr().String(), nil
}

// waitAPI waits until plsgate has opened Table storage (503 until then).
func (s *stack) waitAPI(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.hostURL+"/api/v1/connections?limit=1", nil)
		req.Header.Set("x-functions-key", functionKey)
		resp, err := http.DefaultClient.Do(req)
		code := 0
		if err == nil {
			code = resp.StatusCode
			resp.Body.Close()
			if code == http.StatusOK {
				return nil
			}
		}
		select {
		case <-s.childDone:
			return fmt.Errorf("plsgate serve exited (%v) while starting: %s", s.child.ProcessState, s.logTail())
		case <-ctx.Done():
			return fmt.Errorf("plsgate did not become ready (last answer %d, %v): %s", code, err, s.logTail())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// runTimer fires the Reconcile timer through the host emulator every
// -timer-period, as the Functions timer does: one tick at a time; a tick
// that overruns skips the occurrences it covered.
func (s *stack) runTimer(ctx context.Context) {
	defer close(s.timerDone)
	p := s.o.timerPeriod
	origin := time.Now()
	for ctx.Err() == nil {
		start := time.Now()
		err := s.host.FireTimer(ctx, app.FunctionTimer, false)
		end := time.Now()
		label := "ok"
		if err != nil {
			label = "failed: " + err.Error()
		}
		s.rec.addTick(span{Start: start, End: end, Label: label})
		next := origin.Add(p * time.Duration(end.Sub(origin)/p+1))
		select {
		case <-ctx.Done():
		case <-time.After(time.Until(next)):
		}
	}
}

// create makes request i on PLS pool slot slot, as the consumer (a private
// endpoint) or the Web PubSub owner (a shared private link resource) does.
func (s *stack) create(i, slot int) (*request, error) {
	kind := "pe"
	if s.sc.spl {
		kind = "spl"
	}
	req := &request{Index: i, Token: fmt.Sprintf("lb-%s-%05d", kind, i), PLS: slot, done: make(chan struct{})}
	s.rec.add(req) // before the write: its events may be delivered before it returns
	req.Created = time.Now()
	req.Deadline = req.Created.Add(s.timeout())
	if !s.sc.spl {
		pe, err := s.emu.CreatePrivateEndpoint(armemu.PrivateEndpoint{SubscriptionID: subscription, ResourceGroup: consumerRG, Name: req.Token, Location: "eastus",
			Links: []*armemu.PrivateEndpointLink{{Name: req.Token, Manual: true, PrivateLinkServiceID: plsID(slot), RequestMessage: "latencybench"}}})
		if err != nil {
			return nil, fmt.Errorf("create private endpoint %s: %w", req.Token, err)
		}
		req.resourceID = pe.ID
		return req, nil
	}
	var b [8]byte
	_, _ = rand.Read(b[:])
	if err := s.emu.CreateSharedPrivateLinkResource(webPubSubID, req.Token, armemu.SharedPrivateLinkResource{
		PrivateLinkResourceID: plsID(slot), RequestMessage: messagePrefix + hex.EncodeToString(b[:]), Fqdns: []string{req.Token + ".latencybench.example"}}); err != nil {
		return nil, fmt.Errorf("create shared private link resource %s: %w", req.Token, err)
	}
	req.resourceID = webPubSubID + "/sharedPrivateLinkResources/" + req.Token
	if s.sc.key != "bp" {
		// The owner's poller reads the operation: it completes at once (no
		// minimum duration), raising the event at completion in scenario b.
		s.emu.SharedPrivateLinkResource(req.resourceID)
	}
	return req, nil
}

func (s *stack) timeout() time.Duration {
	if s.sc.timer {
		return max(s.o.timeout, 10*s.o.timerPeriod)
	}
	return s.o.timeout
}

func (s *stack) wait(ctx context.Context, req *request) {
	select {
	case <-req.done:
	case <-time.After(time.Until(req.Deadline)):
	case <-ctx.Done():
	}
}

// cleanup withdraws the request (its connection leaves the PLS) so the pool
// slot holds one request at a time and the Web PubSub resource few shared
// private link resources.
func (s *stack) cleanup(req *request) error {
	if s.sc.spl {
		return s.emu.DeleteSharedPrivateLinkResource(req.resourceID)
	}
	return s.emu.DeletePrivateEndpoint(req.resourceID)
}

// settle waits (at most -settle) until no delivery has run for quietPeriod,
// so the cleanup's events do not run inside the next request's window.
// Redeliveries Event Grid scheduled for later (10 s, …) are not waited for:
// they land where they land, as in Azure.
func (s *stack) settle(ctx context.Context) {
	if !s.sc.events {
		return
	}
	deadline := time.Now().Add(s.o.settle)
	for !s.rec.quietFor(quietPeriod) {
		if time.Now().After(deadline) || ctx.Err() != nil {
			s.unsettled++
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
}

const quietPeriod = 100 * time.Millisecond

// randomPhase sleeps a uniform fraction of the timer period, so a request
// arrives at a random point of the timer's cycle.
func (s *stack) randomPhase(ctx context.Context) {
	if !s.sc.timer {
		return
	}
	select {
	case <-ctx.Done():
	case <-time.After(time.Duration(mrand.Int64N(int64(s.o.timerPeriod)))):
	}
}

// cpu is plsgate's and Azurite's CPU time so far (Linux; 0 elsewhere).
func (s *stack) cpu() (plsgate, azurite time.Duration) {
	if s.child != nil && s.child.Process != nil {
		plsgate = processCPU(s.child.Process.Pid)
	}
	return plsgate, processCPU(s.azuritePID)
}

// processCPU reads utime+stime of pid from /proc (USER_HZ is 100 on Linux).
func processCPU(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 13 {
		return 0
	}
	u, err1 := strconv.ParseInt(f[11], 10, 64) // field 14 of stat
	k, err2 := strconv.ParseInt(f[12], 10, 64) // field 15
	if err1 != nil || err2 != nil {
		return 0
	}
	return time.Duration(u+k) * 10 * time.Millisecond
}

// invocationFailures is plsgate's error for each invocation it failed.
func (s *stack) invocationFailures() map[string]string {
	if s.logFile == nil {
		return nil
	}
	b, err := os.ReadFile(s.logFile.Name())
	if err != nil {
		return nil
	}
	return invocationFailures(b)
}

func (s *stack) logTail() string {
	if s.logFile == nil {
		return ""
	}
	b, err := os.ReadFile(s.logFile.Name())
	if err != nil || len(b) == 0 {
		return "(plsgate wrote no log)"
	}
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return "plsgate log tail:\n" + strings.TrimSpace(string(b))
}

// stop ends the timer, the emulator's deliveries, plsgate (SIGINT) and the servers.
func (s *stack) stop() {
	s.stopOnce.Do(func() {
		if s.timerStop != nil {
			s.timerStop()
			<-s.timerDone
		}
		if s.emu != nil {
			s.emu.Close()
		}
		if s.child != nil {
			_ = interrupt(s.child.Process)
			select {
			case <-s.childDone:
			case <-time.After(10 * time.Second):
				_ = s.child.Process.Kill()
				<-s.childDone
			}
		}
		for _, srv := range s.servers {
			_ = srv.Close()
		}
		if s.tablesOverHTTP != nil {
			s.tablesOverHTTP.CloseIdleConnections()
		}
		if s.logFile != nil {
			s.logFile.Close()
		}
	})
}
