package demo

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/streaming"
	"github.com/plsgate/plsgate/internal/auth"
	"github.com/plsgate/plsgate/internal/config"
	"github.com/plsgate/plsgate/internal/devenv"
	"github.com/plsgate/plsgate/internal/devenv/tokenissuer"
	"github.com/plsgate/plsgate/internal/hostemu"
	"github.com/plsgate/plsgate/internal/notify"
	"github.com/plsgate/plsgate/internal/testutil/extproc"
	"github.com/plsgate/plsgate/internal/topicemu"
)

func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := devenv.FindRoot(".")
	if err != nil {
		t.Fatal(err)
	}
	return root
}

func TestOptionsValidate(t *testing.T) {
	root := repoRoot(t)
	tests := []struct {
		name string
		o    Options
		want string
	}{
		{"ok", Options{Root: root, Executable: "plsgate"}, ""},
		{"no executable", Options{Root: root}, "no plsgate executable"},
		{"not the repository", Options{Root: t.TempDir(), Executable: "plsgate"}, "is not the plsgate repository"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.o.validate()
			if (err == nil) != (tc.want == "") || (err != nil && !strings.Contains(err.Error(), tc.want)) {
				t.Fatalf("validate: %v, want %q", err, tc.want)
			}
		})
	}
}

// childEnv drops every plsgate setting the user exported (they would change
// the story) and their SSL_CERT_FILE, keeps the rest, and adds the demo's
// settings and the topic's CA file as SSL_CERT_FILE.
func TestChildEnv(t *testing.T) {
	environ := []string{"PATH=/bin", "HOME=/root", "DRY_RUN=true", "dry_run=1", "SCOPE_PLS_IDS=/x", "AzureWebJobsStorage=secret",
		"FUNCTIONS_CUSTOMHANDLER_PORT=1", "SSL_CERT_FILE=/etc/user.pem", "GOFLAGS=-mod=mod"}
	for _, s := range config.Settings {
		environ = append(environ, s.Name+"=from-the-shell")
	}
	got := childEnv(environ, map[string]string{"PLSGATE_POLICY": "p.yaml", "FUNCTIONS_CUSTOMHANDLER_PORT": "4242"}, "/tmp/demo/topic-ca.pem")
	want := []string{"PATH=/bin", "HOME=/root", "GOFLAGS=-mod=mod", "FUNCTIONS_CUSTOMHANDLER_PORT=4242", "PLSGATE_POLICY=p.yaml", "SSL_CERT_FILE=/tmp/demo/topic-ca.pem"}
	if !slices.Equal(got, want) {
		t.Fatalf("childEnv\n got %q\nwant %q", got, want)
	}
}

// The demo's plsgate runs as deployed: every setting it gets is one of
// config.Settings (the app settings a Function App has) or the port the host
// sets — nothing serve would read only in the demo.
func TestAppSettingsAreProductSettings(t *testing.T) {
	known := map[string]bool{"FUNCTIONS_CUSTOMHANDLER_PORT": true}
	for _, st := range config.Settings {
		known[st.Name] = true
	}
	for k := range appSettings(repoRoot(t), "tables", "http://127.0.0.1:2", "https://127.0.0.1:3/api/events", "4") {
		if !known[k] {
			t.Errorf("the demo gives plsgate serve %s, which is not in config.Settings", k)
		}
	}
}

func TestAppSettingsLoad(t *testing.T) {
	root := repoRoot(t)
	s := appSettings(root, "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=a2V5;TableEndpoint=http://127.0.0.1:1/devstoreaccount1;",
		"http://127.0.0.1:2", "https://127.0.0.1:3/api/events", "4")
	cfg, err := config.Load(func(k string) string { return s[k] })
	if err != nil {
		t.Fatalf("the demo's settings do not load: %v", err)
	}
	if !cfg.ARMOverLoopbackHTTP() || len(cfg.WebPubSubIDs) != 2 || cfg.NotifyTopicEndpoint == "" || len(cfg.Approvers) != 1 {
		t.Fatalf("config %+v", cfg)
	}
	if _, err := os.Stat(s["PLSGATE_POLICY"]); err != nil {
		t.Fatalf("policy: %v", err)
	}
}

func TestRenderTimeline(t *testing.T) {
	at := func(ms int) time.Time { return time.Date(2026, 1, 2, 3, 4, 5, ms*int(time.Millisecond), time.Local) }
	// The API answers newest first per connection; equal times keep that order reversed.
	rows := []Transition{
		{At: at(20), Connection: "A", Subject: "sharedPrivateLinkResource", From: "Pending", To: "Approved", Phase: "observed", Trigger: "event", Actor: "observed", Reason: "pls-pe is Approved"},
		{At: at(20), Connection: "A", Subject: "connection", From: "Pending", To: "Approved", Phase: "done", Trigger: "event", Actor: "rule:r", Reason: "Rule r matched"},
		{At: at(10), Connection: "A", Subject: "connection", To: "Pending", Phase: "observed", Trigger: "event", Actor: "observed", Reason: "connection requested"},
		{At: at(30), Connection: "b", Subject: "drift", From: "Approved", To: "Approved", Action: "leave", Phase: "drift", Trigger: "timer", Actor: "policy", Reason: strings.Repeat("x", 100)},
	}
	var buf bytes.Buffer
	renderTimeline(&buf, rows, map[string]string{"a": "#1", "b": "#2"})
	want := "" +
		"   03:04:05.010  #1  connection   (new) → Pending         observed  event  observed                         connection requested\n" +
		"   03:04:05.020  #1  connection   Pending → Approved      done      event  rule:r                           Rule r matched\n" +
		"   03:04:05.020  #1  shared link  Pending → Approved      observed  event  observed                         pls-pe is Approved\n" +
		"   03:04:05.030  #2  drift        Approved; policy: leave drift     timer  policy                           " + strings.Repeat("x", 79) + "…\n"
	if buf.String() != want {
		t.Fatalf("timeline\n got:\n%s\nwant:\n%s", buf.String(), want)
	}
}

func TestNotifications(t *testing.T) {
	data := func(d notify.Data) json.RawMessage { b, _ := json.Marshal(d); return b }
	evs := []topicemu.Event{
		{Type: notify.EventTypePrefix + "Approved", Data: data(notify.Data{Connection: "A", From: "Pending", To: "Approved", Decision: "approve", Rule: "r", Reason: "Rule r matched"})},
		{Type: notify.EventTypePrefix + "LeftPending", Data: data(notify.Data{Connection: "b", From: "Pending", To: "Pending", Decision: "leave", Reason: "No rule matched"})},
	}
	notes := decodeNotes(evs)
	missing := missingNotes(notes, []expectedNote{{"Approved", "a"}, {"LeftPending", "B"}, {"Drift", "b"}, {"Approved", "b"}})
	if !slices.Equal(missing, []string{"Drift for b", "Approved for b"}) {
		t.Fatalf("missing = %q", missing)
	}
	var buf bytes.Buffer
	renderNotifications(&buf, notes, map[string]string{"a": "#1"})
	want := "" +
		"   Plsgate.Connection.Approved    #1  Pending → Approved   rule r\n" +
		"   Plsgate.Connection.LeftPending b   Pending              No rule matched\n"
	if buf.String() != want {
		t.Fatalf("notifications\n got:\n%s\nwant:\n%s", buf.String(), want)
	}
}

// eventOf reads the event from the invoke payload, whether the host sent it
// as an object or (dataType string) as a JSON string.
func TestEventOf(t *testing.T) {
	ev := `{"id":"1","topic":"/subscriptions/s1","eventType":"Microsoft.Resources.ResourceWriteSuccess","subject":"/s/x","data":{"operationName":"Microsoft.Network/privateLinkServices/privateEndpointConnections/write"}}`
	quoted, _ := json.Marshal(ev)
	cloud := `{"id":"1","source":"/subscriptions/s1","type":"Microsoft.Resources.ResourceWriteSuccess","subject":"/s/x","data":{"operationName":"op"}}`
	tests := []struct {
		name, event string
		want        eventInfo
	}{
		{"object", ev, eventInfo{"Microsoft.Resources.ResourceWriteSuccess", "/subscriptions/s1", "/s/x", "Microsoft.Network/privateLinkServices/privateEndpointConnections/write"}},
		{"string", string(quoted), eventInfo{"Microsoft.Resources.ResourceWriteSuccess", "/subscriptions/s1", "/s/x", "Microsoft.Network/privateLinkServices/privateEndpointConnections/write"}},
		{"cloudevent", cloud, eventInfo{"Microsoft.Resources.ResourceWriteSuccess", "/subscriptions/s1", "/s/x", "op"}},
		{"garbage", `42`, eventInfo{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := []byte(`{"Data":{"event":` + tc.event + `},"Metadata":{}}`)
			if got := eventOf(hostemu.Invocation{Request: req}); got != tc.want {
				t.Fatalf("eventOf = %+v, want %+v", got, tc.want)
			}
		})
	}
}

// The operator's token is one plsgate, configured as the demo configures it, accepts as an
// approver who may force.
func TestOperatorToken(t *testing.T) {
	iss, err := tokenissuer.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = iss.Close() })
	s := appSettings(repoRoot(t), "UseDevelopmentStorage=true", "http://127.0.0.1:2", "https://127.0.0.1:3/api/events", "4")
	s["AUTH_AUTHORITY_HOST"] = iss.URL
	cfg, err := config.Load(func(k string) string { return s[k] })
	if err != nil {
		t.Fatal(err)
	}
	v, err := auth.NewEntraVerifier(auth.EntraOptions{TenantID: cfg.AuthTenantID, Audiences: cfg.AuthAudiences, AuthorityHost: cfg.AuthAuthorityHost})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := operatorToken(iss)
	if err != nil {
		t.Fatal(err)
	}
	id, err := v.Verify(t.Context(), tok)
	if err != nil || cfg.AuthMode != auth.ModeEntra || !cfg.Approvers.Allows(id) || !cfg.ApproversForce.Allows(id) || id.Actor() != "principal:"+Operator {
		t.Fatalf("identity %+v, %v; config %+v", id, err, cfg)
	}
}

// fqdnsPolicy adds properties.fqdns to the shared private link resource PUT
// only, keeping the SDK's other properties.
func TestFqdnsPolicy(t *testing.T) {
	var got []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got = append(got, r.Method+" "+r.URL.Path+" "+string(b))
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(srv.Close)
	pl := runtime.NewPipeline("demo", "v0", runtime.PipelineOptions{}, &policy.ClientOptions{
		PerCallPolicies: []policy.Policy{fqdnsPolicy{fqdns: []string{"pls.contoso.com"}}},
		Retry:           policy.RetryOptions{MaxRetries: -1},
	})
	do := func(method, path, body string) {
		req, err := runtime.NewRequest(context.Background(), method, srv.URL+path)
		if err != nil {
			t.Fatal(err)
		}
		if body != "" {
			if err := req.SetBody(streaming.NopCloser(strings.NewReader(body)), "application/json"); err != nil {
				t.Fatal(err)
			}
		}
		resp, err := pl.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	do(http.MethodPut, "/x/sharedPrivateLinkResources/pls-pe", `{"properties":{"privateLinkResourceId":"/p","requestMessage":"please approve"}}`)
	do(http.MethodPut, "/x/privateEndpointConnections/c", `{"properties":{}}`)
	do(http.MethodGet, "/x/sharedPrivateLinkResources/pls-pe", "")
	want := []string{
		`PUT /x/sharedPrivateLinkResources/pls-pe {"properties":{"fqdns":["pls.contoso.com"],"privateLinkResourceId":"/p","requestMessage":"please approve"}}`,
		`PUT /x/privateEndpointConnections/c {"properties":{}}`,
		`GET /x/sharedPrivateLinkResources/pls-pe `,
	}
	if !slices.Equal(got, want) {
		t.Fatalf("requests\n got %q\nwant %q", got, want)
	}
}

// A plsgate that does not start is a *Failure that keeps the logs, and the
// pieces started before it (Azurite, the emulators) are stopped.
func TestRunFailsWhenPlsgateDoesNotStart(t *testing.T) {
	extproc.SkipShort(t, "Azurite and a plsgate child process")
	bad, err := exec.LookPath("false")
	if err != nil {
		t.Skip("no `false` command to stand in for a broken plsgate")
	}
	var out bytes.Buffer
	err = Run(context.Background(), Options{Root: repoRoot(t), Executable: bad, Out: &out, WaitTimeout: 10 * time.Second})
	var f *Failure
	if !errors.As(err, &f) || !strings.Contains(err.Error(), "exited") || f.LogDir == "" {
		t.Fatalf("Run with a broken plsgate: %v\n%s", err, out.String())
	}
	t.Cleanup(func() { os.RemoveAll(f.LogDir) })
	if _, err := os.Stat(filepath.Join(f.LogDir, "plsgate.log")); err != nil {
		t.Fatalf("log not kept: %v", err)
	}
	if !strings.Contains(out.String(), "Table storage") || strings.Contains(out.String(), "a. ") {
		t.Fatalf("output:\n%s", out.String())
	}
}

// plsgate's Event Grid subscription must cover the subscription of every
// Web PubSub resource it verifies with, or the fast path never fires.
func TestEventSubscriptionsCoverWebPubSub(t *testing.T) {
	s := appSettings(repoRoot(t), "UseDevelopmentStorage=true", "http://127.0.0.1:2", "https://127.0.0.1:3/api/events", "4")
	subs := EventSubscriptions()
	for _, id := range append(strings.Split(s["WEBPUBSUB_IDS"], ","), PLSID) {
		if !slices.Contains(subs, subscriptionOf(id)) {
			t.Errorf("EventSubscriptions %q lacks the subscription of %s", subs, id)
		}
	}
	if len(subs) != 2 {
		t.Errorf("EventSubscriptions = %q, want the PLS's and the second Web PubSub's, once each", subs)
	}
}

// The printed commands survive a POSIX shell unchanged.
func TestShellQuote(t *testing.T) {
	extproc.SkipShort(t, "sh")
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh")
	}
	for _, v := range []string{"plain", "http://127.0.0.1:1/x?a=b&c=d", "a;b c", `it's "quoted" $HOME`, "", `{"reason":"x y"}`} {
		out, err := exec.Command(sh, "-c", "printf %s "+shellQuote(v)).Output()
		if err != nil || string(out) != v {
			t.Errorf("shellQuote(%q) = %s: the shell read %q (%v)", v, shellQuote(v), out, err)
		}
	}
}
