package azurite

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// Well-known Azurite development account (public, documented by Microsoft; not a secret).
const (
	AccountName = "devstoreaccount1"
	AccountKey  = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)

const (
	binRel         = "node_modules/.bin/azurite-table"
	readyTimeout   = 60 * time.Second
	stopTimeout    = 5 * time.Second
	installTimeout = 10 * time.Minute
	maxOutput      = 64 << 10 // keep the tail of Azurite's output for failure messages
)

// ConnectionString is the full development connection string for an Azurite Table endpoint on port.
// aztables does not accept "UseDevelopmentStorage=true", so tests always use this form.
func ConnectionString(port int) string {
	return fmt.Sprintf("DefaultEndpointsProtocol=http;AccountName=%s;AccountKey=%s;TableEndpoint=http://127.0.0.1:%d/%s;",
		AccountName, AccountKey, port, AccountName)
}

// server is the one Azurite process of this test binary.
type server struct {
	mu      sync.Mutex
	root    string // repository root (holds go.mod and node_modules)
	dir     string // data directory, kept across Restart
	port    int
	cmd     *exec.Cmd     // nil while stopped
	exited  chan struct{} // closed when cmd has exited
	out     *tailBuffer
	initErr error // sticky: installation/first start failed, every Start reports it
}

var (
	srv      server
	prefixes atomic.Uint64
)

// Start returns the connection string of this binary's Azurite, starting it on first use (and again
// after Stop). It fails the test (never skips) when Azurite cannot run, e.g. node or npm is missing.
func Start(tb testing.TB) string {
	tb.Helper()
	cs, err := srv.ensure()
	if err != nil {
		tb.Fatalf("azurite: %v", err)
	}
	return cs
}

// Stop shuts Azurite down (SIGINT to its process group, so it saves its database; SIGKILL after 5 s)
// and waits for it to exit; the port and data directory are kept for Restart. Stop is a no-op when
// Azurite is not running.
func Stop() {
	srv.mu.Lock()
	defer srv.mu.Unlock()
	srv.stopLocked()
}

// Restart starts Azurite again on the same port with the same data directory (so stored entities
// survive an outage) and waits until it accepts connections.
func Restart(tb testing.TB) {
	tb.Helper()
	srv.mu.Lock()
	defer srv.mu.Unlock()
	if srv.port == 0 {
		tb.Fatalf("azurite: Restart before Start")
	}
	srv.stopLocked()
	// The old listener may need a moment to be released by the kernel.
	var err error
	for attempt := 0; attempt < 10; attempt++ {
		if err = srv.launchLocked(); err == nil {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	tb.Fatalf("azurite: restart on port %d: %v", srv.port, err)
}

// Main runs the tests and then stops Azurite (and removes its data) before exiting. Use it from
// TestMain: func TestMain(m *testing.M) { azurite.Main(m) }.
func Main(m *testing.M) {
	// Azurite runs in its own process group (so it can be killed as a whole); forward interrupts so a
	// Ctrl-C of `go test` does not leave it behind.
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	go func() {
		s := <-sig
		shutdown()
		fmt.Fprintf(os.Stderr, "azurite: stopped on %v\n", s)
		os.Exit(2)
	}()
	code := m.Run()
	signal.Stop(sig)
	shutdown()
	os.Exit(code)
}

func shutdown() {
	srv.mu.Lock()
	defer srv.mu.Unlock()
	srv.stopLocked()
	if srv.dir != "" {
		_ = os.RemoveAll(srv.dir)
		srv.dir = ""
	}
}

// TablePrefix returns a table-name prefix unique to this call within the test binary (letters and
// digits only, as table names require), so tests sharing one Azurite never see each other's rows.
func TablePrefix(tb testing.TB) string {
	sum := sha256.Sum256([]byte(tb.Name()))
	return "t" + hex.EncodeToString(sum[:4]) + strconv.FormatUint(prefixes.Add(1), 10)
}

func (s *server) ensure() (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.initErr != nil {
		return "", s.initErr
	}
	if s.cmd != nil {
		select {
		case <-s.exited: // crashed since the last call: bring it back on the same port and data
			s.cmd = nil
		default:
			return ConnectionString(s.port), nil
		}
	}
	if s.port != 0 { // stopped by a test that did not restart it
		if err := s.launchLocked(); err != nil {
			return "", err
		}
		return ConnectionString(s.port), nil
	}
	if err := s.firstStartLocked(); err != nil {
		s.initErr = err
		return "", err
	}
	return ConnectionString(s.port), nil
}

func (s *server) firstStartLocked() error {
	root, err := repoRoot()
	if err != nil {
		return err
	}
	s.root = root
	if _, err := exec.LookPath("node"); err != nil {
		return errors.New("node not found on PATH: the integration tests need Node.js (>= 18) to run Azurite; install Node.js and run `make test` again")
	}
	if err := install(root); err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "plsgate-azurite-*")
	if err != nil {
		return fmt.Errorf("create data directory: %w", err)
	}
	s.dir = dir
	// A free port can be taken by someone else between probing and Azurite binding it: retry.
	for attempt := 0; attempt < 3; attempt++ {
		if s.port, err = freePort(); err != nil {
			return err
		}
		if err = s.launchLocked(); err == nil {
			return nil
		}
	}
	return err
}

func (s *server) launchLocked() error {
	node, err := exec.LookPath("node")
	if err != nil {
		return errors.New("node not found on PATH: the integration tests need Node.js to run Azurite")
	}
	bin := filepath.Join(s.root, filepath.FromSlash(binRel))
	cmd := exec.Command(node, bin,
		"--tableHost", "127.0.0.1",
		"--tablePort", strconv.Itoa(s.port),
		"--location", s.dir,
		"--silent",
		"--skipApiVersionCheck",
		"--disableProductStyleUrl",
		"--disableTelemetry",
	)
	cmd.Dir = s.dir
	cmd.Env = environ()
	out := &tailBuffer{max: maxOutput}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = sysProcAttr()
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", bin, err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	s.cmd, s.exited, s.out = cmd, exited, out

	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port))
	deadline := time.Now().Add(readyTimeout)
	for {
		select {
		case <-exited:
			s.cmd = nil
			return fmt.Errorf("azurite-table exited before accepting connections on %s: %s", addr, out.String())
		default:
		}
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
			return nil
		}
		if time.Now().After(deadline) {
			s.stopLocked()
			return fmt.Errorf("azurite-table did not accept connections on %s within %v: %s", addr, readyTimeout, out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (s *server) stopLocked() {
	if s.cmd == nil {
		return
	}
	pid := s.cmd.Process.Pid
	_ = terminate(s.cmd.Process, pid)
	select {
	case <-s.exited:
	case <-time.After(stopTimeout):
		_ = kill(s.cmd.Process, pid)
		<-s.exited
	}
	// node may have spawned helpers in its group; make sure none outlives the leader.
	_ = kill(s.cmd.Process, pid)
	s.cmd = nil
}

// environ drops settings that would change Azurite's accounts, so the well-known dev key always works.
func environ() []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "AZURITE_ACCOUNTS=") {
			continue
		}
		env = append(env, kv)
	}
	return env
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free loopback port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// repoRoot walks up from the working directory (the package directory under go test) to go.mod.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("find repository root: %w", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("find repository root: no go.mod above the working directory")
		}
		dir = parent
	}
}

// install runs `npm ci` in root unless Azurite is already installed. A lock file outside
// node_modules (npm ci deletes that folder) serialises concurrent test binaries.
func install(root string) error {
	bin := filepath.Join(root, filepath.FromSlash(binRel))
	if _, err := os.Stat(bin); err == nil {
		return nil
	}
	npm, err := exec.LookPath("npm")
	if err != nil {
		return fmt.Errorf("%s is missing and npm is not on PATH: install Node.js (with npm) so the tests can run `npm ci` in %s", binRel, root)
	}
	sum := sha256.Sum256([]byte(root))
	unlock, err := lockFile(filepath.Join(os.TempDir(), "plsgate-npm-"+hex.EncodeToString(sum[:6])+".lock"))
	if err != nil {
		return fmt.Errorf("lock npm install: %w", err)
	}
	defer unlock()
	if _, err := os.Stat(bin); err == nil { // another test binary installed it while we waited
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), installTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, npm, "ci", "--no-audit", "--no-fund")
	cmd.Dir = root
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("npm ci in %s: %w\n%s", root, err, tail(out, 4096))
	}
	if _, err := os.Stat(bin); err != nil {
		return fmt.Errorf("npm ci in %s succeeded but %s is missing: is azurite in package.json?", root, binRel)
	}
	return nil
}

func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}

// tailBuffer keeps the last max bytes written (Azurite's output, for error messages).
type tailBuffer struct {
	mu  sync.Mutex
	max int
	buf bytes.Buffer
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf.Write(p)
	if extra := t.buf.Len() - t.max; extra > 0 {
		t.buf.Next(extra)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := strings.TrimSpace(t.buf.String())
	if s == "" {
		return "(no output)"
	}
	return s
}
