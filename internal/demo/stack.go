package demo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
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
	"github.com/plsgate/plsgate/internal/devenv/azurite"
	"github.com/plsgate/plsgate/internal/devenv/tokenissuer"
	"github.com/plsgate/plsgate/internal/hostemu"
	"github.com/plsgate/plsgate/internal/topicemu"
)

// stack is everything the demo started, stopped in reverse order.
type stack struct {
	o   Options
	dir string // temporary: Azurite's data, logs, the topic's CA file

	plsgateLog, emuLog *os.File
	emuLogger          *slog.Logger

	azurite *azurite.Process
	arm     *armemu.Emulator
	armURL  string
	topic   *topicemu.Topic
	caFile  string
	issuer  *tokenissuer.Issuer // Entra ID stand-in: the operator's access token
	// tokenSrv serves fresh operator tokens on loopback (DEMO_KEEP=1 only).
	tokenSrv *http.Server

	child      *exec.Cmd
	childDone  chan struct{}
	handlerURL string
	settings   map[string]string

	host    *hostemu.Host
	hostSrv *http.Server
	hostURL string
	client  *http.Client

	invMu sync.Mutex
	invs  []hostemu.Invocation

	stopOnce sync.Once
}

// start brings the pieces up in dependency order and prints one line each.
func start(ctx context.Context, o Options, p *printer) (s *stack, err error) {
	dir, err := os.MkdirTemp("", "plsgate-demo-*")
	if err != nil {
		return nil, fmt.Errorf("create the demo directory: %w", err)
	}
	s = &stack{o: o, dir: dir, client: &http.Client{Timeout: 2 * time.Minute}}
	defer func() {
		if err != nil {
			s.stop(ctx.Err() == nil) // a failure keeps the logs that say why; an interrupt does not
		}
	}()
	if s.plsgateLog, err = os.Create(filepath.Join(dir, "plsgate.log")); err != nil {
		return s, fmt.Errorf("create log file: %w", err)
	}
	if s.emuLog, err = os.Create(filepath.Join(dir, "emulators.log")); err != nil {
		return s, fmt.Errorf("create log file: %w", err)
	}
	s.emuLogger = slog.New(slog.NewTextHandler(s.emuLog, &slog.HandlerOptions{Level: slog.LevelInfo}))

	// Table storage: the pinned Azurite.
	if !azurite.Installed(o.Root) {
		p.info("installing the pinned Azurite into ./node_modules (npm ci) …")
		if err := azurite.Install(ctx, o.Root); err != nil {
			return s, err
		}
	}
	if s.azurite, err = azurite.Launch(ctx, o.Root, filepath.Join(dir, "azurite")); err != nil {
		return s, fmt.Errorf("start Azurite: %w", err)
	}
	p.component("Table storage", "Azurite "+azurite.Version(o.Root)+" (./node_modules)", fmt.Sprintf("http://127.0.0.1:%d/%s", s.azurite.Port, azurite.AccountName))

	// Azure Resource Manager + Event Grid, seeded with the demo world.
	s.arm = armemu.New(armemu.Options{
		Seed: 9,
		LRO:  armemu.LROOptions{InProgressPolls: 1},
		Events: armemu.EventOptions{
			Schema: armemu.SchemaEventGrid,
			// plsgate's system topics: the PLS owner's subscription and the Web PubSub resources'.
			Subscriptions: EventSubscriptions(),
			// As documented: no event in the PLS owner's subscription when
			// another subscription or tenant requests a connection
			// (event-schema-subscriptions.md; azure-facts §9).
			CrossSubscription: armemu.CrossNone,
			// Azure does not document when an async PUT's ResourceWriteSuccess
			// is raised; Azure/azure-rest-api-specs#7023 describes it at
			// completion, the likelier (azure-facts §9).
			SharedLinkWriteAt: armemu.SharedLinkAtCompleted,
			RetryScale:        0.01,
		},
		Logger: s.emuLogger.With("component", "armemu"),
	})
	if err := s.arm.Seed(World()); err != nil {
		return s, err
	}
	if s.armURL, err = s.arm.Start(); err != nil {
		return s, fmt.Errorf("start the ARM emulator: %w", err)
	}
	p.component("Azure (ARM)", "ARM + Event Grid emulator", s.armURL)
	p.component("", fmt.Sprintf("seeded: Web PubSub %s and private link service %s in resource group %s (tag plsgate=enabled, visible to anyone); Web PubSub %s in subscription %s",
		WebPubSubName, PLSName, ResourceGroup, WebPubSub2Name, AppsSubscription), "")
	p.component("", fmt.Sprintf("Event Grid: plsgate subscribes to the system topics of subscriptions %s (the PLS's, the Web PubSub resources')", strings.Join(EventSubscriptions(), ", ")), "")
	p.component("", "as in Azure, no event there when another subscription or tenant requests a connection; a shared private link resource's write event comes when its operation completes (undocumented: the likelier moment)", "")

	// The Event Grid topic plsgate publishes its outcomes to.
	s.topic = topicemu.Start(TopicKey)
	if s.caFile, err = s.writeTopicCA(ctx); err != nil {
		return s, err
	}
	p.component("notifications", "Event Grid topic emulator", s.topic.Endpoint())

	// plsgate itself, started like the Functions host starts a custom handler.
	port, err := azurite.FreePort()
	if err != nil {
		return s, err
	}
	// Entra ID: a local issuer of signed access tokens, which plsgate verifies (AUTH_MODE=entra).
	if s.issuer, err = tokenissuer.Start(); err != nil {
		return s, fmt.Errorf("start the local token issuer: %w", err)
	}
	p.component("Entra ID", "local token issuer (OpenID discovery + signing keys)", s.issuer.URL)

	s.settings = appSettings(o.Root, s.azurite.ConnectionString(), s.armURL, s.topic.Endpoint(), strconv.Itoa(port))
	s.settings["AUTH_AUTHORITY_HOST"] = s.issuer.URL
	if err := s.startChild(ctx); err != nil {
		return s, err
	}
	s.handlerURL = "http://127.0.0.1:" + strconv.Itoa(port)
	if err := devenv.WaitHandler(ctx, s.handlerURL, s.childDone, func() string { return fmt.Sprintf("%v: %s", s.child.ProcessState, s.logTail()) }); err != nil {
		return s, err
	}
	p.component("plsgate", fmt.Sprintf("%s serve (pid %d), policy %s", filepath.Base(o.Executable), s.child.Process.Pid, policyRel), s.handlerURL)

	// The Functions host in front of it.
	s.host, err = hostemu.Load(filepath.Join(o.Root, "functions"), s.handlerURL, hostemu.Options{
		FunctionKey:  FunctionKey,
		EventGridKey: EventGridKey,
		Settings:     s.settings,
		Logger:       s.emuLogger.With("component", "hostemu"),
		OnInvocation: s.record,
	})
	if err != nil {
		return s, fmt.Errorf("load the Functions host emulator: %w", err)
	}
	ln, err := net.Listen("tcp", hostAddr)
	if err != nil {
		if ln, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
			return s, fmt.Errorf("listen for the Functions host emulator: %w", err)
		}
	}
	s.hostURL = "http://" + ln.Addr().String()
	s.hostSrv = &http.Server{Handler: s.host.Handler(), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = s.hostSrv.Serve(ln) }()
	if err := s.arm.SetEventSink(s.webhookURL(), armemu.SchemaEventGrid); err != nil {
		return s, err
	}
	if err := s.waitAPI(ctx); err != nil {
		return s, err
	}
	p.component("Functions host", "host emulator (Event Grid webhook, timer, API)", s.hostURL)
	return s, nil
}

// writeTopicCA saves the certificate the topic serves, read over a TLS
// connection that trusts it, for the child's SSL_CERT_FILE.
func (s *stack) writeTopicCA(ctx context.Context) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.topic.Endpoint(), nil)
	if err != nil {
		return "", err
	}
	resp, err := s.topic.Client().Do(req)
	if err != nil {
		return "", fmt.Errorf("reach the topic emulator: %w", err)
	}
	resp.Body.Close()
	if resp.TLS == nil || len(resp.TLS.PeerCertificates) == 0 {
		return "", errors.New("the topic emulator presented no certificate")
	}
	path := filepath.Join(s.dir, "topic-ca.pem")
	if err := devenv.WriteCAFile(path, resp.TLS.PeerCertificates); err != nil {
		return "", err
	}
	return path, nil
}

// childEnv is the process environment without any plsgate setting the user
// may have exported, plus the demo's settings and SSL_CERT_FILE naming
// caFile: the child trusts the local topic's self-signed certificate the
// standard way (internal/devenv SSLCertFile), so serve needs no setting of
// its own for it. Its roots are then that file and the system's certificate
// directories; it talks to nothing but loopback.
func childEnv(environ []string, settings map[string]string, caFile string) []string {
	return append(devenv.ServeEnv(environ, settings, devenv.SSLCertFile), devenv.SSLCertFile+"="+caFile)
}

func (s *stack) startChild(ctx context.Context) error {
	cmd := exec.Command(s.o.Executable, "serve")
	cmd.Dir = s.o.Root
	cmd.Env = childEnv(os.Environ(), s.settings, s.caFile)
	cmd.Stdout, cmd.Stderr = s.plsgateLog, s.plsgateLog
	cmd.SysProcAttr = childProcAttr()
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s serve: %w", s.o.Executable, err)
	}
	s.child, s.childDone = cmd, make(chan struct{})
	go func() { _ = cmd.Wait(); close(s.childDone) }()
	return nil
}

// waitAPI waits until plsgate has opened Table storage (the API answers 503
// Starting until then).
func (s *stack) waitAPI(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	for {
		code, body, err := s.api(ctx, http.MethodGet, "/api/v1/connections?limit=1", nil, nil)
		if err == nil && code == http.StatusOK {
			return nil
		}
		select {
		case <-s.childDone:
			return fmt.Errorf("plsgate serve exited (%v) while starting: %s", s.child.ProcessState, s.logTail())
		case <-ctx.Done():
			return fmt.Errorf("plsgate did not become ready (last answer %d %s, %v): %s", code, clip(string(body), 200), err, s.logTail())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func (s *stack) record(inv hostemu.Invocation) {
	s.invMu.Lock()
	s.invs = append(s.invs, inv)
	s.invMu.Unlock()
}

// invocation returns the host's record of invocation id.
func (s *stack) invocation(id string) (hostemu.Invocation, bool) {
	s.invMu.Lock()
	defer s.invMu.Unlock()
	for _, inv := range s.invs {
		if strings.EqualFold(inv.ID, id) {
			return inv, true
		}
	}
	return hostemu.Invocation{}, false
}

// failedInvocations lists invocations that failed (the host would log them).
func (s *stack) failedInvocations() []string {
	s.invMu.Lock()
	defer s.invMu.Unlock()
	var out []string
	for _, inv := range s.invs {
		if inv.Err != nil {
			out = append(out, fmt.Sprintf("%s %s: %v", inv.Function, inv.ID, inv.Err))
		}
	}
	return out
}

// api calls the Api function through the host emulator over HTTP, with the
// function key (and headers such as X-MS-CLIENT-PRINCIPAL).
func (s *stack) api(ctx context.Context, method, path string, body any, headers map[string]string) (int, []byte, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, nil, err
		}
		rd = strings.NewReader(string(b))
	}
	req, err := http.NewRequestWithContext(ctx, method, s.hostURL+path, rd)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("x-functions-key", FunctionKey)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return 0, nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	return resp.StatusCode, b, err
}

// webhookURL is the Event Grid subscription's endpoint: the host's webhook
// for the ResourceEvents function, with the eventgrid_extension key.
func (s *stack) webhookURL() string {
	return s.hostURL + "/runtime/webhooks/eventgrid?functionName=" + app.FunctionEvents + "&code=" + EventGridKey
}

// statusURL is the status page as a browser opens it (the key in ?code=).
func (s *stack) statusURL() string { return s.hostURL + "/api/v1/status?code=" + FunctionKey }

// logTail is the end of plsgate's log, for error messages.
func (s *stack) logTail() string {
	b, err := os.ReadFile(s.plsgateLog.Name())
	if err != nil || len(b) == 0 {
		return "(plsgate wrote no log)"
	}
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return "plsgate log tail:\n" + strings.TrimSpace(string(b))
}

// stop ends everything in reverse order: the host (no more invocations), the
// emulator's deliveries, plsgate (SIGINT: it flushes its notifications to the
// still running topic), the topic, Azurite. keepLogs leaves the directory.
func (s *stack) stop(keepLogs bool) {
	s.stopOnce.Do(func() {
		if s.hostSrv != nil {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			_ = s.hostSrv.Shutdown(ctx)
			cancel()
		}
		if s.arm != nil {
			s.arm.Close()
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
		if s.topic != nil {
			s.topic.Close()
		}
		if s.tokenSrv != nil {
			_ = s.tokenSrv.Close()
		}
		if s.issuer != nil {
			_ = s.issuer.Close()
		}
		if s.azurite != nil {
			s.azurite.Stop()
		}
		for _, f := range []*os.File{s.plsgateLog, s.emuLog} {
			if f != nil {
				f.Close()
			}
		}
		if !keepLogs {
			_ = os.RemoveAll(s.dir)
		}
	})
}

func clip(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
