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
	"testing"
	"time"

	"github.com/plsgate/plsgate/internal/devenv"
	"github.com/plsgate/plsgate/internal/testutil/extproc"
)

// chromiumPaths are where Debian and others put a Chromium-compatible browser.
var chromiumPaths = []string{"/usr/bin/chromium", "chromium", "chromium-browser", "google-chrome", "google-chrome-stable"}

// findChromium returns a browser or skips the test. It never installs one: `make test` must
// not change the machine. `make browser` installs Chromium explicitly (CI runs it first).
func findChromium(t *testing.T) string {
	t.Helper()
	p, why := locateChromium(chromiumPaths)
	if p == "" {
		t.Skip("browser test skipped: " + why)
	}
	return p
}

// locateChromium looks the candidates up on PATH; why says what to do when none is there.
func locateChromium(candidates []string) (path, why string) {
	for _, c := range candidates {
		if lp, err := exec.LookPath(c); err == nil {
			return lp, ""
		}
	}
	return "", "no Chromium found (looked for " + strings.Join(candidates, ", ") + "); run `make browser` to install it " +
		"(Debian's chromium via apt-get, as root) or put a Chromium-compatible browser on PATH"
}

// Without a browser the test skips with the target that installs one, and installs nothing
// itself: a fake apt-get first on PATH records any call (the old findChromium ran apt-get as root).
func TestLocateChromiumNeverInstalls(t *testing.T) {
	dir := t.TempDir()
	called := filepath.Join(dir, "apt-get-called")
	if err := os.WriteFile(filepath.Join(dir, "apt-get"), []byte("#!/bin/sh\n: > '"+called+"'\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir)
	t.Run("findChromium", func(t *testing.T) { findChromium(t) }) // skips, or finds an absolute path
	p, why := locateChromium([]string{"plsgate-no-such-browser"})
	if p != "" || !strings.Contains(why, "make browser") || !strings.Contains(why, "plsgate-no-such-browser") {
		t.Errorf("locateChromium = %q, %q", p, why)
	}
	if _, err := os.Stat(called); err == nil {
		t.Error("locating Chromium ran apt-get")
	}
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
	extproc.SkipShort(t, "Chromium")
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
		"Approved outside plsgate, but the policy would leave it Pending (the default).", "0001-run",
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
