package azurite

import (
	"net"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestMain(m *testing.M) { Main(m) }

func TestStartStopRestart(t *testing.T) {
	cs := Start(t)
	if again := Start(t); again != cs {
		t.Fatalf("second Start returned %q, want the shared instance %q", again, cs)
	}
	m := regexp.MustCompile(`TableEndpoint=http://127\.0\.0\.1:(\d+)/devstoreaccount1;$`).FindStringSubmatch(cs)
	if m == nil || !strings.HasPrefix(cs, "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=") {
		t.Fatalf("unexpected connection string %q", cs)
	}
	port, _ := strconv.Atoi(m[1])
	addr := net.JoinHostPort("127.0.0.1", m[1])
	if !accepts(addr) {
		t.Fatalf("Azurite not accepting on %s after Start", addr)
	}

	srv.mu.Lock()
	pid := srv.cmd.Process.Pid
	srv.mu.Unlock()
	Stop()
	if accepts(addr) {
		t.Fatalf("%s still accepts connections after Stop", addr)
	}
	if err := syscall.Kill(-pid, 0); err != syscall.ESRCH {
		t.Fatalf("process group %d still exists after Stop (err=%v)", pid, err)
	}

	Restart(t)
	if !accepts(addr) {
		t.Fatalf("Azurite not accepting on %s after Restart", addr)
	}
	if got := Start(t); got != ConnectionString(port) {
		t.Fatalf("connection string changed across Restart: %q", got)
	}

	// Start after a Stop without Restart brings the service back too.
	Stop()
	if got := Start(t); got != cs || !accepts(addr) {
		t.Fatalf("Start after Stop: %q, accepting=%v", got, accepts(addr))
	}
}

func TestTablePrefix(t *testing.T) {
	valid := regexp.MustCompile(`^[A-Za-z][A-Za-z0-9]{0,39}$`)
	seen := map[string]bool{}
	for range 100 {
		p := TablePrefix(t)
		if !valid.MatchString(p) {
			t.Fatalf("prefix %q is not a valid table-name prefix", p)
		}
		if seen[p] {
			t.Fatalf("prefix %q returned twice", p)
		}
		seen[p] = true
	}
}

func accepts(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

func TestInstallWithoutNPMFailsClearly(t *testing.T) {
	t.Setenv("PATH", t.TempDir()) // neither node nor npm
	err := install(t.TempDir())   // a "repository" without node_modules
	if err == nil || !strings.Contains(err.Error(), "npm is not on PATH") {
		t.Fatalf("install without npm: %v", err)
	}
}
