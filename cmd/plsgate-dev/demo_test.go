package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
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

	"github.com/plsgate/plsgate/internal/cli"
	"github.com/plsgate/plsgate/internal/testutil/extproc"
)

// buildBinaries builds the shipped plsgate and plsgate-dev into one
// directory, as make build dev does into bin/; the demo finds plsgate there.
func buildBinaries(t testing.TB) (dev, root string) {
	t.Helper()
	extproc.SkipShort(t, "go build and the plsgate binaries")
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "build", "-buildvcs=false", "-o", dir+string(filepath.Separator), ".", "./cmd/plsgate-dev")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	dev = filepath.Join(dir, "plsgate-dev")
	if runtime.GOOS == "windows" {
		dev += ".exe"
	}
	return dev, root
}

// Without --plsgate the demo starts the plsgate next to plsgate-dev; when there
// is none it says how to get one (exit 2) instead of starting anything.
func TestPlsgateBinary(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := plsgateBinary(""); err == nil || !strings.Contains(err.Error(), "no plsgate binary next to plsgate-dev ("+filepath.Dir(self)) ||
		!strings.Contains(err.Error(), "--plsgate PATH") {
		t.Fatalf("no plsgate next to the test binary: %v", err)
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "plsgate")
	if err := os.WriteFile(bin, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Chdir(dir)
	if got, err := plsgateBinary("plsgate"); err != nil || got != bin {
		t.Fatalf("relative --plsgate: %q %v, want the absolute %q", got, err, bin)
	}
	if _, err := plsgateBinary(dir); err == nil || !strings.Contains(err.Error(), "is a directory") {
		t.Fatalf("a directory: %v", err)
	}
}

// TestDemo runs `plsgate-dev demo` headless, as CI does, with the shipped
// plsgate built next to it as the handler: exit 0, one line per step with what
// it checked, the timeline and the notifications (which reach the local topic
// only if the child trusts its certificate through SSL_CERT_FILE), and nothing
// left running afterwards. Settings exported in the environment must not leak
// into the demo's plsgate (they would change the story). Outside the
// repository it is a usage error.
func TestDemo(t *testing.T) {
	dev, root := buildBinaries(t)
	t.Run("story", func(t *testing.T) { testDemoStory(t, dev, root) })
	t.Run("DEMO_KEEP", func(t *testing.T) { testDemoKeep(t, dev, root) })
	t.Run("outside the repository", func(t *testing.T) {
		cmd := exec.Command(dev, "demo")
		cmd.Dir = t.TempDir()
		out, err := cmd.CombinedOutput()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != cli.ExitUsage || !strings.Contains(string(out), "no plsgate go.mod") {
			t.Fatalf("outside the repository: want exit %d naming the missing go.mod; got %v\n%s", cli.ExitUsage, err, out)
		}
	})
}

func testDemoStory(t *testing.T, bin, root string) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "demo")
	cmd.Dir = root
	cmd.Env = append(withoutEnv(os.Environ(), "DEMO_KEEP"), "DRY_RUN=true", "SCOPE_PLS_IDS=/nonsense", "PLSGATE_POLICY=missing.yaml")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	out := stdout.String()
	t.Logf("demo took %v; output:\n%s", time.Since(start).Round(time.Millisecond), out)
	if err != nil {
		t.Fatalf("plsgate-dev demo: %v\nstderr:\n%s", err, stderr.String())
	}

	// One line per step, in order, each saying what it verified.
	steps := []string{
		`(?m)^ +Event Grid: plsgate subscribes to the system topics of subscriptions 00000000-0000-0000-0000-0000000000a1, 00000000-0000-0000-0000-0000000000a2 `,
		`(?m)^ +as in Azure, no event there when another subscription or tenant requests a connection; a shared private link resource's write event comes when its operation completes`,
		`(?m)^a\. Web PubSub contoso-webpubsub created shared private link resource pls-pe → contoso-pls \(fqdns \[pls\.contoso\.com\], requestMessage "plsgate-wps-3f9c1e7a52d84b60"\) with the armwebpubsub SDK: long-running operation polled \d+× to Succeeded; status Pending$`,
		`(?m)^b\. contoso-pls has a new connection contoso-webpubsub_pls-pe\.\S+ \(#1\): Pending, message "plsgate-wps-3f9c1e7a52d84b60"`,
		`(?m)^   \(the demo held Event Grid deliveries .* the one event queued is pls-pe's write — none for the connection itself\)$`,
		// The fast path: the demo checked that the approval's invocation is a
		// ResourceEvents invocation carrying pls-pe's write event.
		`(?m)^b\. Event Grid delivered ResourceWriteSuccess \(Microsoft\.SignalRService/webPubSub/sharedPrivateLinkResources/write of pls-pe, raised in subscription 00000000-0000-0000-0000-0000000000a1 when the operation completed\) to the host emulator's webhook → ResourceEvents invocation [0-9a-f]{8} → plsgate read pls-pe \(Succeeded, Pending, target contoso-pls\), then contoso-pls, and approved #1 by rule webpubsub-shared-endpoints$`,
		`(?m)^b\. Web PubSub sees it: pls-pe status Approved, provisioningState Succeeded .*connection Pending → Approved \(rule\), shared private link resource Pending → Approved$`,
		// The same with the event lost: the timer approves it.
		`(?m)^b\. the same with the event lost: Web PubSub contoso-webpubsub-eu \(subscription 00000000-0000-0000-0000-0000000000a2\) created pls-pe-eu → contoso-pls \(requestMessage "plsgate-wps-c41d8e0b96fa2735"\); its ResourceWriteSuccess was raised but the demo dropped the delivery, so #2 sat Pending unknown to plsgate until the Reconcile timer tick \(host emulator, invocation [0-9a-f]{8}\) approved it by rule webpubsub-shared-endpoints; pls-pe-eu status Approved$`,
		`(?m)^c\. fabrikam .*"let me in": no event reaches our subscriptions for it .*the next Reconcile timer tick \(host emulator\) recorded #3 Pending; no rule matches, so it stays Pending`,
		`(?m)^c\. operator alice@contoso\.com rejected #3: POST /api/v1/connections/reject .*→ 200, Pending → Rejected, reason "`,
		`(?m)^d\. northwind .*: likewise no event; the next timer tick recorded #4 Pending, and the policy leaves it$`,
		`(?m)^d\. bob@contoso\.com approved #4 in the portal`,
		`(?m)^d\. Reconcile timer tick \(host emulator\): recorded #4 Pending → Approved as observed .*reported drift`,
		`(?m)^d\. the held event arrived afterwards: plsgate re-read the PLS and found nothing to do`,
		`(?m)^e\. timeline from Table storage`,
		`(?m)^   [0-9:.]+  #1  connection   \(new\) → Pending +observed  event  observed`,
		`(?m)^   [0-9:.]+  #1  connection   Pending → Approved +done +event  rule:webpubsub-shared-endpoints`,
		`(?m)^   [0-9:.]+  #1  shared link  Pending → Approved +observed`,
		`(?m)^   [0-9:.]+  #2  connection   \(new\) → Pending +observed  timer  observed`,
		`(?m)^   [0-9:.]+  #2  connection   Pending → Approved +done +timer  rule:webpubsub-shared-endpoints`,
		`(?m)^   [0-9:.]+  #3  connection   \(new\) → Pending +observed  timer  observed`,
		`(?m)^   [0-9:.]+  #3  connection   Pending → Rejected +done +http   principal:alice@contoso\.com +unknown requester`,
		`(?m)^   [0-9:.]+  #4  connection   \(new\) → Pending +observed  timer  observed`,
		`(?m)^   [0-9:.]+  #4  connection   Pending → Approved +observed  timer  observed`,
		`(?m)^   [0-9:.]+  #4  drift        Approved; policy: leave +drift +timer`,
		`(?m)^e\. notifications the Event Grid topic received`,
		`(?m)^   Plsgate\.Connection\.Approved +#1  Pending → Approved +rule webpubsub-shared-endpoints$`,
		`(?m)^   Plsgate\.Connection\.Approved +#2  Pending → Approved +rule webpubsub-shared-endpoints$`,
		`(?m)^   Plsgate\.Connection\.Rejected +#3  Pending → Rejected`,
		`(?m)^   Plsgate\.Connection\.Drift +#4  Approved`,
		`(?m)^e\. status page: http://127\.0\.0\.1:\d+/api/v1/status\?code=demo-function-key$`,
		`(?m)^stopped everything the demo started; all expectations met \([0-9.]+m?s\)$`,
	}
	for _, gone := range []string{"note: Azure documents no event", "the emulator is set to send one", "reached plsgate by event"} {
		if strings.Contains(out, gone) {
			t.Errorf("output still says %q", gone)
		}
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

// testDemoKeep runs the demo with DEMO_KEEP=1 and uses what it prints, as a
// user pastes it into a shell: the token (and a fresh one from the printed
// endpoint), the approve call on the request it left Pending, the exported
// environment with `plsgate history` and `plsgate reconcile --dry-run`, and
// the Event Grid webhook with the printed URL and headers. Ctrl-C then stops
// everything (exit 0).
func testDemoKeep(t *testing.T, bin, root string) {
	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("no curl: the printed commands use it")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "demo")
	cmd.Dir = root
	cmd.Env = append(withoutEnv(os.Environ(), "DEMO_KEEP"), "DEMO_KEEP=1")
	pr, pw := io.Pipe()
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = pw, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait(); pw.Close() }()
	t.Cleanup(func() { _ = cmd.Process.Kill() })

	var out strings.Builder
	sc := bufio.NewScanner(pr)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() && !strings.HasPrefix(strings.TrimSpace(sc.Text()), "plsgate log ") {
		out.WriteString(sc.Text() + "\n")
	}
	printed := out.String()
	if !strings.Contains(printed, "DEMO_KEEP=1: everything keeps running") {
		t.Fatalf("the demo did not reach its DEMO_KEEP output:\n%s\nstderr:\n%s", printed, stderr.String())
	}
	rest := make(chan string, 1)
	go func() { b, _ := io.ReadAll(pr); rest <- string(b) }()

	line := func(re string) []string {
		t.Helper()
		m := regexp.MustCompile(re).FindStringSubmatch(printed)
		if m == nil {
			t.Fatalf("DEMO_KEEP output lacks %s:\n%s", re, printed)
		}
		return m
	}
	token := line(`(?m)^   (TOKEN=\S+)$`)[1]
	another := line(`(?m)another one: (TOKEN=\$\(curl -s http://127\.0\.0\.1:\d+/token\))$`)[1]
	pendingConn := line(`(?m)^   pending +(woodgrove-pe\.\S+): woodgrove`)[1]
	approve := line(`(?m)^   approve +(curl .*)$`)[1]
	line(`(?m)^   reject +curl .*/api/v1/connections/reject .*"force":true`)
	webhook := line(`(?m)^   Event Grid +POST (http://127\.0\.0\.1:\d+/runtime/webhooks/eventgrid\?functionName=ResourceEvents&code=\S+)$`)[1]
	line(`(?m)headers aeg-event-type: Notification \(SubscriptionValidation for the handshake\), Content-Type: application/json`)
	var exports []string
	for _, m := range regexp.MustCompile(`(?m)^   (export [A-Z_]+=.*)$`).FindAllStringSubmatch(printed, -1) {
		exports = append(exports, m[1])
	}
	if len(exports) < 5 {
		t.Fatalf("DEMO_KEEP output exports %q", exports)
	}
	history := line(`(?m)^   (\S+ history --pls \S+)$`)[1]
	reconcileCmd := line(`(?m)^   (\S+ reconcile --dry-run)$`)[1]
	if !strings.Contains(approve, pendingConn) || !strings.Contains(approve, "x-functions-key: demo-function-key") {
		t.Fatalf("approve example %q does not name the pending connection %s with the function key", approve, pendingConn)
	}

	run := func(script string) string {
		t.Helper()
		c := exec.CommandContext(ctx, "sh", "-ec", script)
		c.Dir = root
		c.Env = withoutEnv(os.Environ(), "PLSGATE_TABLES_CONNECTION", "ARM_ENDPOINT", "SCOPE_SUBSCRIPTIONS", "WEBPUBSUB_IDS", "PLSGATE_POLICY", "SCOPE_PLS_IDS", "AUTH_MODE")
		b, err := c.CombinedOutput()
		if err != nil {
			t.Fatalf("%s\n%v\n%s", script, err, b)
		}
		return string(b)
	}
	// The printed token is accepted (the API authenticates before it reads
	// the body: 400 for an empty one, 401 for a bad token); then a freshly
	// minted one approves the Pending request.
	approveURL := strings.Trim(regexp.MustCompile(`POST (\S+) `).FindStringSubmatch(approve)[1], "'")
	probe := "\ncurl -sS -o /dev/null -w '%{http_code}' -X POST '" + approveURL + "' -H 'x-functions-key: demo-function-key' -H \"Authorization: Bearer $TOKEN\" -H 'Content-Type: application/json' -d '{}'"
	if got := run("TOKEN=not-a-token" + probe); got != "401" {
		t.Errorf("a bad token with an empty body: HTTP %s, want 401", got)
	}
	if got := run(token + probe); got != "400" {
		t.Errorf("the printed token with an empty body: HTTP %s, want 400 (authenticated, body refused)", got)
	}
	got := run(another + "\n" + approve)
	if !strings.Contains(got, `"to": "Approved"`) || !strings.Contains(got, `"actor": "principal:alice@contoso.com"`) {
		t.Errorf("the printed approve call answered:\n%s", got)
	}
	env := strings.Join(exports, "\n") + "\n"
	if got := run(env + history); !regexp.MustCompile(pendingConn + `\s+connection\s+Pending→Approved\s+done\s+principal:alice@contoso\.com`).MatchString(got) {
		t.Errorf("plsgate history with the printed environment:\n%s", got)
	}
	// The scan reaches the demo's ARM emulator and Table storage: one PLS, five connections.
	if got := run(env + reconcileCmd); !strings.Contains(got, ": complete (dry run: nothing written)") ||
		!regexp.MustCompile(`private link services scanned\s+1\b`).MatchString(got) || !regexp.MustCompile(`connections\s+5\b`).MatchString(got) {
		t.Errorf("plsgate reconcile --dry-run with the printed environment:\n%s", got)
	}
	validation := `[{"id":"v1","topic":"/subscriptions/x","subject":"","eventType":"Microsoft.EventGrid.SubscriptionValidationEvent","eventTime":"2026-01-01T00:00:00Z","data":{"validationCode":"demo-code"},"dataVersion":"1","metadataVersion":"1"}]`
	if got := run("curl -sS -X POST '" + webhook + "' -H 'aeg-event-type: SubscriptionValidation' -H 'Content-Type: application/json' -d '" + validation + "'"); !strings.Contains(got, `"validationResponse":"demo-code"`) {
		t.Errorf("the printed Event Grid webhook answered the handshake with:\n%s", got)
	}

	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("after Ctrl-C: %v\nstderr:\n%s", err, stderr.String())
		}
	case <-ctx.Done():
		t.Fatal("the kept demo did not stop on Ctrl-C")
	}
	if tail := <-rest; !strings.Contains(tail, "stopped everything the demo started; all expectations met") {
		t.Errorf("after Ctrl-C the demo printed:\n%s", tail)
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
