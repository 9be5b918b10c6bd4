package cli

import (
	"bytes"
	"context"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestDevDemoUsage(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want int
		msg  string
	}{
		{"help", []string{"demo", "-h"}, ExitOK, "DEMO_KEEP=1"},
		{"bad flag", []string{"demo", "--fast"}, ExitUsage, "flag provided but not defined"},
		{"extra args", []string{"demo", "now"}, ExitUsage, "unexpected arguments"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			if got := Dev(context.Background(), tc.args, &stdout, &stderr); got != tc.want {
				t.Fatalf("exit %d, want %d; stderr %s", got, tc.want, stderr.String())
			}
			if !strings.Contains(stdout.String()+stderr.String(), tc.msg) {
				t.Fatalf("output lacks %q:\nstdout %s\nstderr %s", tc.msg, stdout.String(), stderr.String())
			}
		})
	}
}

// buildPlsgate builds this module's binary, as `make demo` (go run) does.
func buildPlsgate(t testing.TB) (bin, root string) {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	bin = filepath.Join(t.TempDir(), "plsgate")
	if runtime.GOOS == "windows" {
		bin += ".exe"
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "build", "-buildvcs=false", "-o", bin, ".")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin, root
}

// TestDevDemo runs `plsgate dev demo` headless, as CI does: exit 0, one line
// per step with what it checked, the timeline and notifications, and nothing
// left running afterwards. Settings exported in the environment must not leak
// into the demo's plsgate (they would change the story). Outside the
// repository it is a usage error.
func TestDevDemo(t *testing.T) {
	if testing.Short() {
		t.Skip("the demo starts Azurite and a plsgate child process: skipped in -short mode")
	}
	bin, root := buildPlsgate(t)
	t.Run("story", func(t *testing.T) { testDemoStory(t, bin, root) })
	t.Run("outside the repository", func(t *testing.T) {
		cmd := exec.Command(bin, "dev", "demo")
		cmd.Dir = t.TempDir()
		out, err := cmd.CombinedOutput()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != ExitUsage || !strings.Contains(string(out), "no plsgate go.mod") {
			t.Fatalf("outside the repository: want exit %d naming the missing go.mod; got %v\n%s", ExitUsage, err, out)
		}
	})
}

func testDemoStory(t *testing.T, bin, root string) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "dev", "demo")
	cmd.Dir = root
	cmd.Env = append(withoutEnv(os.Environ(), "DEMO_KEEP"), "DRY_RUN=true", "SCOPE_PLS_IDS=/nonsense", "PLSGATE_POLICY=missing.yaml")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	out := stdout.String()
	t.Logf("demo took %v; output:\n%s", time.Since(start).Round(time.Millisecond), out)
	if err != nil {
		t.Fatalf("plsgate dev demo: %v\nstderr:\n%s", err, stderr.String())
	}

	// One line per step, in order, each saying what it verified.
	steps := []string{
		`(?m)^a\. Web PubSub contoso-webpubsub created shared private link resource pls-pe → contoso-pls \(fqdns \[pls\.contoso\.com\], requestMessage "plsgate-wps-3f9c1e7a52d84b60"\) with the armwebpubsub SDK: long-running operation polled \d+× to Succeeded; status Pending$`,
		`(?m)^b\. contoso-pls has a new connection contoso-webpubsub_pls-pe\.\S+ \(#1\): Pending, message "plsgate-wps-3f9c1e7a52d84b60"`,
		`(?m)^b\. Event Grid delivered ResourceWriteSuccess .* → ResourceEvents invocation \w+ → .*approved by rule webpubsub-shared-endpoints$`,
		`(?m)^   note: Azure documents no event in the PLS owner's subscription`,
		`(?m)^b\. Web PubSub sees it: pls-pe status Approved, provisioningState Succeeded .*connection Pending → Approved \(rule\), shared private link resource Pending → Approved$`,
		`(?m)^c\. fabrikam .*"let me in": #2 reached plsgate by event; no rule matches, so it stays Pending`,
		`(?m)^c\. operator alice@contoso\.com rejected #2: POST /api/v1/connections/reject .*→ 200, Pending → Rejected, reason "`,
		`(?m)^d\. northwind .*#3 stays Pending as well$`,
		`(?m)^d\. bob@contoso\.com approved #3 in the portal`,
		`(?m)^d\. Reconcile timer tick \(host emulator\): recorded #3 Pending → Approved as observed .*reported drift`,
		`(?m)^d\. the held event arrived afterwards: plsgate re-read the PLS and found nothing to do`,
		`(?m)^e\. timeline from Table storage`,
		`(?m)^   [0-9:.]+  #1  connection   \(new\) → Pending +observed  event  observed`,
		`(?m)^   [0-9:.]+  #1  connection   Pending → Approved +done +event  rule:webpubsub-shared-endpoints`,
		`(?m)^   [0-9:.]+  #1  shared link  Pending → Approved +observed`,
		`(?m)^   [0-9:.]+  #2  connection   Pending → Rejected +done +http   principal:alice@contoso\.com +unknown requester`,
		`(?m)^   [0-9:.]+  #3  connection   Pending → Approved +observed  timer  observed`,
		`(?m)^   [0-9:.]+  #3  drift        Approved; policy: leave +drift +timer`,
		`(?m)^e\. notifications the Event Grid topic received`,
		`(?m)^   Plsgate\.Connection\.Approved +#1  Pending → Approved +rule webpubsub-shared-endpoints$`,
		`(?m)^   Plsgate\.Connection\.Rejected +#2  Pending → Rejected`,
		`(?m)^   Plsgate\.Connection\.Drift +#3  Approved`,
		`(?m)^e\. status page: http://127\.0\.0\.1:\d+/api/v1/status\?code=demo-function-key$`,
		`(?m)^stopped everything the demo started; all expectations met \([0-9.]+m?s\)$`,
	}
	pos := 0
	for _, re := range steps {
		loc := regexp.MustCompile(re).FindStringIndex(out[pos:])
		if loc == nil {
			t.Fatalf("output lacks (after what was matched so far) %s", re)
		}
		pos += loc[1]
	}

	// Everything it started is gone: the plsgate child and Azurite's port.
	if m := regexp.MustCompile(`plsgate serve \(pid (\d+)\)`).FindStringSubmatch(out); m == nil {
		t.Error("output does not name plsgate's pid")
	} else if pid, _ := strconv.Atoi(m[1]); runtime.GOOS != "windows" && alive(pid) {
		t.Errorf("plsgate serve (pid %d) still runs after the demo", pid)
	}
	if m := regexp.MustCompile(`Table storage +http://(127\.0\.0\.1:\d+)/`).FindStringSubmatch(out); m == nil {
		t.Error("output does not name Azurite's address")
	} else if c, err := net.DialTimeout("tcp", m[1], time.Second); err == nil {
		c.Close()
		t.Errorf("Azurite still accepts connections on %s after the demo", m[1])
	}
}

func withoutEnv(env []string, names ...string) []string {
	var out []string
	for _, kv := range env {
		k, _, _ := strings.Cut(kv, "=")
		drop := false
		for _, n := range names {
			drop = drop || strings.EqualFold(k, n)
		}
		if !drop {
			out = append(out, kv)
		}
	}
	return out
}

func alive(pid int) bool {
	p, err := os.FindProcess(pid)
	if err != nil {
		return false
	}
	return p.Signal(syscall.Signal(0)) == nil
}
