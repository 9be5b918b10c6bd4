package azurite

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/plsgate/plsgate/internal/devenv"
	devazurite "github.com/plsgate/plsgate/internal/devenv/azurite"
	"github.com/plsgate/plsgate/internal/testutil/extproc"
)

// Well-known Azurite development account (public, documented by Microsoft; not a secret).
const (
	AccountName = devazurite.AccountName
	AccountKey  = devazurite.AccountKey
)

// ConnectionString is the full development connection string for an Azurite Table endpoint on port.
// aztables does not accept "UseDevelopmentStorage=true", so tests always use this form.
func ConnectionString(port int) string { return devazurite.ConnectionString(port) }

// server is the one Azurite process of this test binary.
type server struct {
	mu      sync.Mutex
	root    string // repository root (holds go.mod and node_modules)
	dir     string // data directory, kept across Restart
	port    int
	cmd     *devazurite.Process // nil while stopped
	initErr error               // sticky: installation/first start failed, every Start reports it
}

var (
	srv      server
	prefixes atomic.Uint64
)

// Start returns the connection string of this binary's Azurite, starting it on first use (and again
// after Stop). Under -short it skips the test (extproc.SkipShort): -short starts no process.
// Otherwise it fails the test (never skips) when Azurite cannot run, e.g. node or npm is missing.
func Start(tb testing.TB) string {
	tb.Helper()
	extproc.SkipShort(tb, "Azurite")
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
		case <-s.cmd.Exited(): // crashed since the last call: bring it back on the same port and data
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
	root, err := devenv.FindRoot(".")
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
	p, err := devazurite.Launch(context.Background(), s.root, s.dir)
	if err != nil {
		return err
	}
	s.cmd, s.port = p, p.Port
	return nil
}

func (s *server) launchLocked() error {
	p, err := devazurite.LaunchOnPort(context.Background(), s.root, s.dir, s.port)
	if err != nil {
		return err
	}
	s.cmd = p
	return nil
}

func (s *server) stopLocked() {
	if s.cmd == nil {
		return
	}
	s.cmd.Stop()
	s.cmd = nil
}

// install runs `npm ci` in root unless Azurite is already installed (serialised across test
// binaries by a lock file).
func install(root string) error { return devazurite.Install(context.Background(), root) }
