package azurite

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Well-known Azurite development account (public, documented by Microsoft; not a secret).
const (
	AccountName = "devstoreaccount1"
	AccountKey  = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)

// BinRel is where `npm ci` puts the Table service's launcher, relative to the repository root.
const BinRel = "node_modules/.bin/azurite-table"

const (
	readyTimeout   = 60 * time.Second
	stopTimeout    = 5 * time.Second
	installTimeout = 10 * time.Minute
	maxOutput      = 64 << 10 // keep the tail of Azurite's output for error messages
)

// ConnectionString is the full development connection string for an Azurite Table endpoint on
// port. aztables does not accept "UseDevelopmentStorage=true", so plsgate always uses this form.
func ConnectionString(port int) string {
	return fmt.Sprintf("DefaultEndpointsProtocol=http;AccountName=%s;AccountKey=%s;TableEndpoint=http://127.0.0.1:%d/%s;",
		AccountName, AccountKey, port, AccountName)
}

// Installed reports whether the pinned Azurite is installed under root.
func Installed(root string) bool {
	_, err := os.Stat(filepath.Join(root, filepath.FromSlash(BinRel)))
	return err == nil
}

// Install runs `npm ci` in root unless Azurite is already installed there. A lock file outside
// node_modules (npm ci deletes that folder) serialises concurrent installers (test binaries
// running in parallel, a demo started meanwhile).
func Install(ctx context.Context, root string) error {
	if Installed(root) {
		return nil
	}
	npm, err := exec.LookPath("npm")
	if err != nil {
		return fmt.Errorf("%s is missing and npm is not on PATH: install Node.js (with npm) so `npm ci` can install the pinned Azurite in %s", BinRel, root)
	}
	sum := sha256.Sum256([]byte(root))
	unlock, err := lockFile(filepath.Join(os.TempDir(), "plsgate-npm-"+hex.EncodeToString(sum[:6])+".lock"))
	if err != nil {
		return fmt.Errorf("lock npm install: %w", err)
	}
	defer unlock()
	if Installed(root) { // someone else installed it while we waited
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, installTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, npm, "ci", "--no-audit", "--no-fund", "--loglevel=error")
	cmd.Dir = root
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("npm ci in %s: %w\n%s", root, err, tail(out, 4096))
	}
	if !Installed(root) {
		return fmt.Errorf("npm ci in %s succeeded but %s is missing: is azurite in package.json?", root, BinRel)
	}
	return nil
}

// Process is a running azurite-table.
type Process struct {
	Port    int    // loopback port of the Table endpoint
	DataDir string // Azurite's --location
	// Process is the node process, leader of its own process group on Unix.
	Process *os.Process

	cmd    *exec.Cmd
	exited chan struct{}
	out    *tailBuffer
	once   sync.Once
}

// Launch starts azurite-table from repoRoot's node_modules on a free loopback port with its data
// in dataDir (created if missing) and waits until it accepts connections. ctx bounds the start-up
// only: the process runs until Stop. A free port can be taken by someone else between probing
// and Azurite binding it, so Launch tries three ports.
func Launch(ctx context.Context, repoRoot, dataDir string) (*Process, error) {
	var err error
	for attempt := 0; attempt < 3; attempt++ {
		var port int
		if port, err = FreePort(); err != nil {
			return nil, err
		}
		var p *Process
		if p, err = LaunchOnPort(ctx, repoRoot, dataDir, port); err == nil {
			return p, nil
		}
		if ctx.Err() != nil {
			return nil, err
		}
	}
	return nil, err
}

// LaunchOnPort is Launch on a given port (e.g. to bring Azurite back on the port its clients
// know, with the same data directory).
func LaunchOnPort(ctx context.Context, repoRoot, dataDir string, port int) (*Process, error) {
	node, err := exec.LookPath("node")
	if err != nil {
		return nil, errors.New("node not found on PATH: Azurite needs Node.js (>= 18); install it and try again")
	}
	bin := filepath.Join(repoRoot, filepath.FromSlash(BinRel))
	if _, err := os.Stat(bin); err != nil {
		return nil, fmt.Errorf("%s is not installed in %s: run `make tools` (npm ci) first", BinRel, repoRoot)
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, fmt.Errorf("create Azurite data directory: %w", err)
	}
	cmd := exec.Command(node, bin,
		"--tableHost", "127.0.0.1",
		"--tablePort", strconv.Itoa(port),
		"--location", dataDir,
		"--silent",
		"--skipApiVersionCheck",
		"--disableProductStyleUrl",
		"--disableTelemetry",
	)
	cmd.Dir = dataDir
	cmd.Env = environ()
	out := &tailBuffer{max: maxOutput}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = sysProcAttr()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	p := &Process{Port: port, DataDir: dataDir, Process: cmd.Process, cmd: cmd, exited: make(chan struct{}), out: out}
	go func() { _ = cmd.Wait(); close(p.exited) }()

	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	ctx, cancel := context.WithTimeout(ctx, readyTimeout)
	defer cancel()
	for {
		select {
		case <-p.exited:
			return nil, fmt.Errorf("azurite-table exited before accepting connections on %s: %s", addr, out.String())
		default:
		}
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
			return p, nil
		}
		select {
		case <-ctx.Done():
			p.Stop()
			return nil, fmt.Errorf("azurite-table did not accept connections on %s: %w: %s", addr, ctx.Err(), out.String())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// ConnectionString is the development connection string for this process.
func (p *Process) ConnectionString() string { return ConnectionString(p.Port) }

// Exited is closed when the process has exited (after Stop, or on its own).
func (p *Process) Exited() <-chan struct{} { return p.exited }

// Output is the tail of Azurite's output (for error messages).
func (p *Process) Output() string { return p.out.String() }

// Stop shuts Azurite down — SIGINT to its process group, so it saves its database; SIGKILL after
// 5 s — and waits until it has exited. Safe to call more than once.
func (p *Process) Stop() {
	p.once.Do(func() {
		pid := p.Process.Pid
		_ = terminate(p.Process, pid)
		select {
		case <-p.exited:
		case <-time.After(stopTimeout):
			_ = kill(p.Process, pid)
			<-p.exited
		}
		// node may have spawned helpers in its group; make sure none outlives the leader.
		_ = kill(p.Process, pid)
	})
	<-p.exited
}

// FreePort returns a loopback port that was free a moment ago.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free loopback port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
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

// Version reads the installed Azurite's version from root's node_modules (for headers and reports).
func Version(root string) string {
	b, err := os.ReadFile(filepath.Join(root, "node_modules", "azurite", "package.json"))
	if err != nil {
		return "(version unknown)"
	}
	var pkg struct {
		Version string `json:"version"`
	}
	if json.Unmarshal(b, &pkg) != nil || pkg.Version == "" {
		return "(version unknown)"
	}
	return pkg.Version
}
