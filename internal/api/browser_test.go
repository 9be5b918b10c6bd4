package api

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/plsgate/plsgate/internal/devenv"
)

// chromiumPaths are where Debian and others put a Chromium-compatible browser.
var chromiumPaths = []string{"/usr/bin/chromium", "chromium", "chromium-browser", "google-chrome", "google-chrome-stable"}

var (
	chromiumOnce sync.Once
	chromiumPath string
	chromiumWhy  string // why there is none
)

// findChromium returns a browser, installing Debian's chromium with apt-get when the test runs
// as root on a machine that has apt-get (CI containers). Once per test binary.
func findChromium(t *testing.T) string {
	t.Helper()
	chromiumOnce.Do(func() {
		if p := lookChromium(); p != "" {
			chromiumPath = p
			return
		}
		if os.Geteuid() != 0 {
			chromiumWhy = "chromium is not installed and the test is not running as root (install it: apt-get install -y chromium)"
			return
		}
		if _, err := exec.LookPath("apt-get"); err != nil {
			chromiumWhy = "chromium is not installed and there is no apt-get to install it"
			return
		}
		t.Log("chromium not found: installing it with apt-get (once)")
		// Bounded well inside make test's -timeout: a slow mirror skips the test, it never kills the run.
		ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
		defer cancel()
		for _, args := range [][]string{
			{"-o", "DPkg::Lock::Timeout=600", "update"},
			{"-o", "DPkg::Lock::Timeout=600", "install", "-y", "--no-install-recommends", "chromium"},
		} {
			cmd := exec.CommandContext(ctx, "apt-get", args...)
			cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
			out, err := cmd.CombinedOutput()
			if err != nil {
				chromiumWhy = "chromium could not be installed: apt-get " + strings.Join(args, " ") + ": " + err.Error() + ": " + tail(string(out), 800)
				return
			}
		}
		if chromiumPath = lookChromium(); chromiumPath == "" {
			chromiumWhy = "apt-get installed chromium but no browser binary was found"
		}
	})
	if chromiumPath == "" {
		t.Skip("browser test skipped: " + chromiumWhy)
	}
	return chromiumPath
}

func lookChromium() string {
	for _, p := range chromiumPaths {
		if lp, err := exec.LookPath(p); err == nil {
			return lp
		}
	}
	return ""
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}

// runChromium runs headless Chromium with the flags a sandbox-less CI container needs and
// returns stdout; stderr (console messages with --enable-logging) goes to *console.
func runChromium(t *testing.T, browser string, console *string, args ...string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	base := []string{
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--disable-dev-shm-usage", "--hide-scrollbars", "--enable-logging=stderr", "--v=0",
		"--user-data-dir=" + t.TempDir(),
	}
	cmd := exec.CommandContext(ctx, browser, append(base, args...)...)
	cmd.Env = append(os.Environ(), "HOME="+t.TempDir())
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %v: %v\n%s", browser, args, err, tail(stderr.String(), 2000))
	}
	if console != nil {
		*console = stderr.String()
	}
	return stdout.Bytes()
}

// TestStatusPageInBrowser loads the status page, served from a seeded store on 127.0.0.1, in
// headless Chromium: the DOM must hold the seeded connections and transitions, the page's own
// Content-Security-Policy must not block its style, and a screenshot is saved under
// build/screenshots/status.png (and docs/status.png with UPDATE_SCREENSHOT=1).
func TestStatusPageInBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test: skipped in -short mode")
	}
	browser := findChromium(t)

	ta := newTestAPI(t, func(o *Options) { o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil)) })
	seedStore(ta.store)
	srv := httptest.NewServer(ta.h) // 127.0.0.1, random port
	t.Cleanup(srv.Close)
	url := srv.URL + "/api/v1/status?code=" + secretKey

	var console string
	dom := string(runChromium(t, browser, &console, "--dump-dom", url))
	for _, want := range []string{
		"<title>plsgate status</title>",
		"contoso-pls", "fabrikam-pls", connName, "pe2.waiting", "pe3.spam", "legacy", "wps-pe",
		`class="badge s-pending"`, `class="badge s-approved"`, `class="badge s-rejected"`,
		"principal:" + aliceUPN, "approved in CAB", "rule customers matched", "Web PubSub shared private link",
		"leave (the default)", "0001-run",
		"&lt;script&gt;alert('x')&lt;/script&gt;",
	} {
		if !strings.Contains(dom, want) {
			t.Errorf("browser DOM lacks %q", want)
		}
	}
	if strings.Contains(dom, "<script") {
		t.Error("a seeded reason became markup")
	}
	if strings.Contains(console, "Content Security Policy") {
		t.Errorf("the page's CSP blocked something:\n%s", tail(console, 2000))
	}

	shot := filepath.Join(t.TempDir(), "status.png")
	runChromium(t, browser, nil, "--screenshot="+shot, "--window-size=1280,900", url)
	png, err := os.ReadFile(shot)
	if err != nil {
		t.Fatalf("no screenshot: %v", err)
	}
	if !bytes.HasPrefix(png, []byte("\x89PNG\r\n\x1a\n")) || len(png) < 10<<10 {
		t.Fatalf("screenshot is not a plausible PNG (%d bytes)", len(png))
	}
	root, err := devenv.FindRoot(".")
	if err != nil {
		t.Fatal(err)
	}
	dests := []string{filepath.Join(root, "build", "screenshots", "status.png")}
	if os.Getenv("UPDATE_SCREENSHOT") == "1" {
		dests = append(dests, filepath.Join(root, "docs", "status.png"))
	}
	for _, d := range dests {
		if err := os.MkdirAll(filepath.Dir(d), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(d, png, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("screenshot: %s", d)
	}
}
