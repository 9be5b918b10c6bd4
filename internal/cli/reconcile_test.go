package cli

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/plsgate/plsgate/internal/armemu"
	"github.com/plsgate/plsgate/internal/reconcile"
	"github.com/plsgate/plsgate/internal/store"
	"github.com/plsgate/plsgate/internal/testenv"
	"github.com/plsgate/plsgate/internal/testutil/azurite"
)

func TestMain(m *testing.M) { azurite.Main(m) }

const (
	consumerSub = "11111111-1111-1111-1111-111111111111"
	otherSub    = "22222222-2222-2222-2222-222222222222"
	opList      = armemu.OpPLSListBySubscription
	opGet       = armemu.OpPLSGet
	opUpdate    = armemu.OpPLSUpdateConnection
)

var otherPLSID = "/subscriptions/" + testenv.Subscription + "/resourceGroups/" + testenv.ResourceGroup + "/providers/Microsoft.Network/privateLinkServices/other-pls"

const cliPolicy = `
version: 1
default: leave
rules:
  - name: partner
    match:
      requester: { subscriptions: ["` + consumerSub + `"] }
      requestMessage: "^partner:"
    action: approve
  - name: no-spam
    match:
      requestMessage: "^spam"
    action: reject
`

func peID(name string) string {
	return "/subscriptions/" + consumerSub + "/resourceGroups/cust/providers/Microsoft.Network/privateEndpoints/" + name
}

// cliWorld: contoso-pls with three Pending requests (one per policy outcome)
// and other-pls with two connections approved before plsgate ran, one that
// the policy approves and one it does not (drift).
func cliWorld() *armemu.World {
	w := testenv.DemoWorld()
	w.PrivateLinkServices[0].Connections = []*armemu.Connection{
		{Name: "pe-partner.1", PrivateEndpointID: peID("pe-partner"), Status: "Pending", Description: "partner: acme"},
		{Name: "pe-spam.2", PrivateEndpointID: peID("pe-spam"), Status: "Pending", Description: "spam offer"},
		{Name: "pe-hello.3", PrivateEndpointID: peID("pe-hello"), Status: "Pending", Description: "hello"},
	}
	w.PrivateLinkServices = append(w.PrivateLinkServices, &armemu.PrivateLinkService{
		SubscriptionID: testenv.Subscription, ResourceGroup: testenv.ResourceGroup, Name: "other-pls", Location: "eastus",
		Connections: []*armemu.Connection{
			{Name: "pe-old.4", PrivateEndpointID: peID("pe-old"), Status: "Approved", Description: "partner: old"},
			{Name: "pe-manual.5", PrivateEndpointID: peID("pe-manual"), Status: "Approved", Description: "approved by hand"},
		},
	})
	return &w
}

func startCLIEnv(t *testing.T) *testenv.Env {
	t.Helper()
	return testenv.Start(t, testenv.Options{Policy: cliPolicy, World: cliWorld(), NoEvents: true})
}

// run runs one subcommand in-process with the environment's settings.
func run(t *testing.T, getenv func(string) string, stderr *bytes.Buffer, args ...string) (int, string) {
	t.Helper()
	var out bytes.Buffer
	code := Main(t.Context(), Env{Args: args, Stdout: &out, Stderr: stderr, Getenv: getenv, Version: "test"})
	return code, out.String()
}

var runIDRE = regexp.MustCompile(`"runId": "[^"]*"`)

func TestReconcileUsage(t *testing.T) {
	valid := map[string]string{
		"PLSGATE_TABLES_CONNECTION": "UseDevelopmentStorage=true",
		"PLSGATE_POLICY":            cliPolicy,
		"SCOPE_SUBSCRIPTIONS":       testenv.Subscription,
	}
	with := func(k, v string) func(string) string {
		return func(name string) string {
			if name == k {
				return v
			}
			return valid[name]
		}
	}
	tests := []struct {
		name   string
		args   []string
		getenv func(string) string
		code   int
		stderr string
	}{
		{"unknown flag", []string{"--fast"}, with("", ""), ExitUsage, "flag provided but not defined: -fast"},
		{"positional argument", []string{"now"}, with("", ""), ExitUsage, `unexpected arguments ["now"]`},
		{"bad output", []string{"--output", "yaml"}, with("", ""), ExitUsage, "usage: plsgate reconcile"},
		{"bad pls", []string{"--pls", "/subscriptions/x/resourceGroups/y"}, with("", ""), ExitUsage, "--pls:"},
		{"pls of another type", []string{"--pls", testenv.WebPubSubID}, with("", ""), ExitUsage, "--pls:"},
		{"bad subscription", []string{"--subscription", "prod"}, with("", ""), ExitUsage, `--subscription: "prod" is not a subscription ID`},
		{"invalid configuration", nil, with("DRIFT_MODE", "fix"), ExitUsage, "setting DRIFT_MODE"},
		{"no scope", nil, with("SCOPE_SUBSCRIPTIONS", ""), ExitUsage, "nothing to scan"},
		{"invalid policy", nil, with("PLSGATE_POLICY", "version: 1\ndefault: maybe\n"), ExitUsage, "setting PLSGATE_POLICY"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stderr bytes.Buffer
			code, stdout := run(t, tt.getenv, &stderr, append([]string{"reconcile"}, tt.args...)...)
			if code != tt.code || !strings.Contains(stderr.String(), tt.stderr) {
				t.Fatalf("exit %d (want %d)\nstdout: %s\nstderr: %s\nwant stderr ~ %q", code, tt.code, stdout, stderr.String(), tt.stderr)
			}
		})
	}
}

// One scan converges the scope: approve, reject, leave, observe, report
// drift — with one list call, no per-PLS GET, one ARM write per decision —
// and the JSON report lists exactly what changed. A second run changes nothing.
func TestReconcileScanJSONAndText(t *testing.T) {
	env := startCLIEnv(t)
	var stderr bytes.Buffer
	code, out := run(t, env.Getenv, &stderr, "reconcile", "--output", "json")
	if code != ExitOK {
		t.Fatalf("exit %d\nstdout: %s\nstderr: %s", code, out, stderr.String())
	}
	if strings.Contains(stderr.String(), "\r") {
		t.Errorf("progress line written to a non-terminal: %q", stderr.String())
	}
	var parsed reconcileOutput
	if err := json.Unmarshal([]byte(out), &parsed); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, out)
	}
	if parsed.RunID == "" {
		t.Errorf("no run ID")
	}
	golden(t, "reconcile-scan.json", runIDRE.ReplaceAllString(out, `"runId": "RUN"`))

	c := env.ARM.Counters()
	if c[opList] != 1 || c[opGet] != 0 || c[opUpdate] != 2 {
		t.Errorf("ARM calls: %d list, %d PLS GET, %d writes; want 1, 0, 2 (%v)", c[opList], c[opGet], c[opUpdate], c)
	}
	for name, want := range map[string]string{"pe-partner.1": "Approved", "pe-spam.2": "Rejected", "pe-hello.3": "Pending"} {
		if got, _ := env.ARM.Connection(testenv.PLSID, name); got.Status != want {
			t.Errorf("%s is %s, want %s", name, got.Status, want)
		}
	}
	run1, err := env.App.Store.GetRun(t.Context(), parsed.RunID)
	if err != nil || run1.Trigger != "cli" || run1.Status != "succeeded" || run1.Acted != 2 {
		t.Errorf("run record: %+v %v", run1, err)
	}

	// Nothing left to do: the text report says so and no ARM write happens.
	stderr.Reset()
	code, out = run(t, env.Getenv, &stderr, "reconcile")
	if code != ExitOK {
		t.Fatalf("second run: exit %d\n%s\n%s", code, out, stderr.String())
	}
	for _, want := range []string{": complete\n", "private link services scanned 2", "connections 5", "approved 0", "no connection changed"} {
		if !containsFields(out, want) {
			t.Errorf("text output lacks %q:\n%s", want, out)
		}
	}
	if n := env.ARM.Counters()[opUpdate]; n != 2 {
		t.Errorf("second run wrote: %d writes in total", n)
	}
}

func TestReconcileTextListsChanges(t *testing.T) {
	env := startCLIEnv(t)
	var stderr bytes.Buffer
	code, out := run(t, env.Getenv, &stderr, "reconcile")
	if code != ExitOK {
		t.Fatalf("exit %d\n%s\n%s", code, out, stderr.String())
	}
	for _, want := range []string{
		"approved 1", "rejected 1", "observed 5", "drift 1", "left pending 1", "failed 0",
		"changed connections:", "RESULT PRIVATE LINK SERVICE CONNECTION FROM TO RULE REASON",
		`approved contoso-pls pe-partner.1 Pending Approved partner Rule "partner" matched, so the connection is approved.`,
		`rejected contoso-pls pe-spam.2 Pending Rejected no-spam`,
		`left-pending contoso-pls pe-hello.3 Pending Pending - No rule matched`,
		"drift other-pls pe-manual.5 Approved Approved - Approved outside plsgate, but the policy would leave it Pending (the default).",
		"observed other-pls pe-old.4 - Approved - connection requested: partner: old",
	} {
		if !containsFields(out, want) {
			t.Errorf("text output lacks %q:\n%s", want, out)
		}
	}
}

// --dry-run decides and prints what it would do, and writes nothing: no ARM
// write and no Table storage row (issue 13.5: it used to record dry-run rows).
func TestReconcileDryRun(t *testing.T) {
	env := startCLIEnv(t)
	var stderr bytes.Buffer
	code, out := run(t, env.Getenv, &stderr, "reconcile", "--dry-run", "--output", "json")
	if code != ExitOK {
		t.Fatalf("exit %d\n%s\n%s", code, out, stderr.String())
	}
	var o reconcileOutput
	if err := json.Unmarshal([]byte(out), &o); err != nil {
		t.Fatal(err)
	}
	if !o.DryRun || o.WouldAct != 2 || o.Approved != 0 || o.Rejected != 0 {
		t.Errorf("dry run summary: %+v", o)
	}
	if n := env.ARM.Counters()[opUpdate]; n != 0 {
		t.Errorf("dry run made %d ARM writes", n)
	}
	if c, _ := env.ARM.Connection(testenv.PLSID, "pe-partner.1"); c.Status != "Pending" {
		t.Errorf("dry run changed the connection to %s", c.Status)
	}
	var wouldApprove bool
	for _, oc := range o.Outcomes {
		wouldApprove = wouldApprove || (oc.Connection == "pe-partner.1" && oc.Result == string(reconcile.DryRun))
	}
	if !wouldApprove {
		t.Errorf("dry run does not say what it would do for pe-partner.1: %+v", o.Outcomes)
	}
	h, err := env.App.Store.RecentTransitions(t.Context(), 100)
	if err != nil || len(h) != 0 {
		t.Errorf("dry run recorded %d transitions: %+v %v", len(h), h, err)
	}
	rows, _, err := env.App.Store.ListConnections(t.Context(), store.ConnectionQuery{})
	if err != nil || len(rows) != 0 {
		t.Errorf("dry run recorded %d connection rows: %v", len(rows), err)
	}
	if r, err := env.App.Store.LatestRun(t.Context()); err == nil {
		t.Errorf("dry run recorded a run: %+v", r)
	}
	stderr.Reset()
	if code, out := run(t, env.Getenv, &stderr, "reconcile", "--dry-run"); code != ExitOK || !strings.Contains(out, "(dry run: nothing written)") {
		t.Errorf("text dry run: exit %d\n%s", code, out)
	}
}

// --pls and --subscription replace the configured scope.
func TestReconcileScopeFlags(t *testing.T) {
	env := startCLIEnv(t)
	var stderr bytes.Buffer
	code, out := run(t, env.Getenv, &stderr, "reconcile", "--pls", otherPLSID, "--output", "json")
	if code != ExitOK {
		t.Fatalf("exit %d\n%s\n%s", code, out, stderr.String())
	}
	var o reconcileOutput
	if err := json.Unmarshal([]byte(out), &o); err != nil {
		t.Fatal(err)
	}
	if o.Scanned != 1 || o.Connections != 2 {
		t.Errorf("--pls scanned %d PLSs, %d connections; want 1, 2", o.Scanned, o.Connections)
	}
	c := env.ARM.Counters()
	if c[opGet] != 1 || c[opList] != 0 || c[opUpdate] != 0 {
		t.Errorf("--pls: ARM calls %v; want one GET", c)
	}
	if got, _ := env.ARM.Connection(testenv.PLSID, "pe-partner.1"); got.Status != "Pending" {
		t.Errorf("a PLS out of the given scope was changed: %s", got.Status)
	}

	env.ARM.ResetCounters()
	code, out = run(t, env.Getenv, &stderr, "reconcile", "--subscription", otherSub, "--output", "json")
	if code != ExitOK {
		t.Fatalf("exit %d\n%s\n%s", code, out, stderr.String())
	}
	if err := json.Unmarshal([]byte(out), &o); err != nil || o.Scanned != 0 || !o.Complete {
		t.Errorf("--subscription of an empty subscription: %+v %v", o, err)
	}
	if c := env.ARM.Counters(); c[opList] != 1 || c[opUpdate] != 0 {
		t.Errorf("--subscription: ARM calls %v", c)
	}
}

// A scan that cannot read its scope exits 1 and says why.
func TestReconcileFailureExits1(t *testing.T) {
	env := startCLIEnv(t)
	if err := env.ARM.SetFaults(armemu.Faults{Rules: []armemu.FaultRule{{Operation: opList, Script: []int{403}}}}); err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	code, out := run(t, env.Getenv, &stderr, "reconcile")
	if code != ExitRuntime {
		t.Fatalf("exit %d, want 1\n%s\n%s", code, out, stderr.String())
	}
	for _, want := range []string{"INCOMPLETE", "errors:", "403"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

// fakeTTY is a buffer that says it is a terminal.
type fakeTTY struct{ bytes.Buffer }

func (*fakeTTY) Stat() (os.FileInfo, error) { return ttyInfo{}, nil }

type ttyInfo struct{}

func (ttyInfo) Name() string       { return "tty" }
func (ttyInfo) Size() int64        { return 0 }
func (ttyInfo) Mode() os.FileMode  { return os.ModeDevice | os.ModeCharDevice | 0o620 }
func (ttyInfo) ModTime() time.Time { return time.Time{} }
func (ttyInfo) IsDir() bool        { return false }
func (ttyInfo) Sys() any           { return nil }

// On a terminal, stderr gets a progress line redrawn with \r and ended by a newline.
func TestReconcileProgressOnTerminal(t *testing.T) {
	env := startCLIEnv(t)
	var tty fakeTTY
	var out bytes.Buffer
	code := Main(t.Context(), Env{Args: []string{"reconcile"}, Stdout: &out, Stderr: &tty, Getenv: env.Getenv})
	if code != ExitOK {
		t.Fatalf("exit %d\n%s\n%s", code, out.String(), tty.String())
	}
	if !strings.Contains(tty.String(), "\rPLS 2/?? scanned, 2 acted\n") {
		t.Errorf("progress line: %q", tty.String())
	}
	if strings.Contains(out.String(), "\r") {
		t.Errorf("progress went to stdout: %q", out.String())
	}
}

func TestProgressText(t *testing.T) {
	tests := []struct {
		sum   reconcile.RunSummary
		total int
		want  string
	}{
		{reconcile.RunSummary{Scanned: 120, Approved: 2, Rejected: 1}, 0, "PLS 120/?? scanned, 3 acted"},
		{reconcile.RunSummary{Scanned: 3}, 10, "PLS 3/10 scanned, 0 acted"},
		{reconcile.RunSummary{Scanned: 7, Approved: 1, Failed: 2}, 0, "PLS 7/?? scanned, 1 acted, 2 failed"},
	}
	for _, tt := range tests {
		if got := progressText(tt.sum, tt.total); got != tt.want {
			t.Errorf("progressText(%+v, %d) = %q, want %q", tt.sum, tt.total, got, tt.want)
		}
	}
	// A shorter line erases the rest of a longer one.
	var b bytes.Buffer
	p := &progressLine{w: &b}
	p.draw(reconcile.RunSummary{Scanned: 10, Failed: 1})
	p.draw(reconcile.RunSummary{Scanned: 11})
	if want := "\rPLS 10/?? scanned, 0 acted, 1 failed\rPLS 11/?? scanned, 0 acted          "; b.String() != want {
		t.Errorf("redraw: %q, want %q", b.String(), want)
	}
}

func TestIsTerminal(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	if isTerminal(w) || isTerminal(&bytes.Buffer{}) || !isTerminal(&fakeTTY{}) {
		t.Errorf("isTerminal: pipe %v, buffer %v, tty %v", isTerminal(w), isTerminal(&bytes.Buffer{}), isTerminal(&fakeTTY{}))
	}
}

// containsFields reports whether out contains want, comparing runs of blanks
// as one space (column widths are tabwriter's business).
func containsFields(out, want string) bool {
	norm := func(s string) string { return regexp.MustCompile(`[ \t]+`).ReplaceAllString(s, " ") }
	return strings.Contains(norm(out), norm(want))
}

// golden compares got with testdata/name (rewritten with -update).
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *updateGolden {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if string(want) != got {
		t.Errorf("%s differs:\n got %s\nwant %s", name, got, want)
	}
}
