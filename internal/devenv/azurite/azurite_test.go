//go:build unix

package azurite

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/plsgate/plsgate/internal/testutil/extproc"
)

func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", "..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// Launch serves the Table endpoint on loopback with data in the given
// directory; Stop ends the whole process group and is idempotent.
func TestLaunchStop(t *testing.T) {
	extproc.SkipShort(t, "Azurite")
	root := repoRoot(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	if err := Install(ctx, root); err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(t.TempDir(), "data")
	p, err := Launch(ctx, root, data)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Stop)
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(p.Port))
	if !accepts(addr) {
		t.Fatalf("not accepting on %s", addr)
	}
	if p.DataDir != data || !strings.Contains(p.ConnectionString(), "TableEndpoint=http://"+addr+"/devstoreaccount1;") {
		t.Fatalf("process %+v, connection string %q", p, p.ConnectionString())
	}
	if _, err := os.Stat(data); err != nil {
		t.Fatalf("data directory: %v", err)
	}
	pid := p.Process.Pid
	p.Stop()
	p.Stop() // idempotent
	select {
	case <-p.Exited():
	default:
		t.Fatal("Exited not closed after Stop")
	}
	if accepts(addr) {
		t.Fatalf("%s still accepts after Stop", addr)
	}
	if runtime.GOOS != "windows" {
		if err := syscall.Kill(-pid, 0); err != syscall.ESRCH {
			t.Fatalf("process group %d still exists after Stop (err=%v)", pid, err)
		}
	}
}

func TestLaunchWithoutAzuriteInstalled(t *testing.T) {
	_, err := LaunchOnPort(context.Background(), t.TempDir(), t.TempDir(), 1)
	if err == nil || !(strings.Contains(err.Error(), "make tools") || strings.Contains(err.Error(), "node not found")) {
		t.Fatalf("launch without node_modules: %v", err)
	}
	if Installed(t.TempDir()) {
		t.Fatal("an empty directory has Azurite installed")
	}
}

func TestInstallWithoutNPMFailsClearly(t *testing.T) {
	t.Setenv("PATH", t.TempDir()) // neither node nor npm
	err := Install(context.Background(), t.TempDir())
	if err == nil || !strings.Contains(err.Error(), "npm is not on PATH") {
		t.Fatalf("install without npm: %v", err)
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
