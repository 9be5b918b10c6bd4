package redact

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"syscall"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
)

const secret = "S3CRETsig0123456789abcdef%3D"

func TestString(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"plain text", "plain text"},
		{"a=b c", "a=b c"},
		{"https://h/p", "https://h/p"},
		{`Post "https://acct.table.core.windows.net/Tables?sv=2024&sig=` + secret + `": dial tcp: refused`,
			`Post "https://acct.table.core.windows.net/Tables?REDACTED": dial tcp: refused`},
		{"see https://h/api/v1/status?code=" + secret + " now", "see https://h/api/v1/status?REDACTED now"},
		{"https://user:" + secret + "@h/p", "https://REDACTED@h/p"},
		{"https://h/p#access_token=" + secret, "https://h/p#REDACTED"},
		{"https://h/p?a=1#f", "https://h/p?REDACTED#REDACTED"},
		{`{"message":"echo \"https://h/x?sig=` + secret + `\" end"}`, `{"message":"echo \"https://h/x?REDACTED\" end"}`},
		{"<a href='https://h/x?code=" + secret + "'>", "<a href='https://h/x?REDACTED>"},
		{"https://a.table.core.windows.net/t(PartitionKey='p',RowKey='r')?sig=" + secret, "https://a.table.core.windows.net/t(PartitionKey='p',RowKey='r')?REDACTED"},
		{"/api/v1/status?code=" + secret, "/api/v1/status?code=REDACTED"},
		{"sv=2024&ss=t&sig=" + secret, "sv=2024&ss=t&sig=REDACTED"},
		{"AccountName=a;AccountKey=" + secret + ";TableEndpoint=x", "AccountName=a;AccountKey=REDACTED;TableEndpoint=x"},
		{`parse "https://bad host/?sv=1&sig=` + secret + `": invalid character " " in host name`,
			`parse "https://bad host/?sv=1&sig=REDACTED": invalid character " " in host name`},
		{"error code=Forbidden", "error code=Forbidden"},
		{"two https://a/?x=1 and http://b/?y=2", "two https://a/?REDACTED and http://b/?REDACTED"},
		{"://?x", "://?x"},
	} {
		if got := String(c.in); got != c.want {
			t.Errorf("String(%q)\n got %q\nwant %q", c.in, got, c.want)
		}
	}
}

func TestErrorKeepsChain(t *testing.T) {
	base := &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}
	err := fmt.Errorf("store: get: %w", &urlError{u: "https://h/t?sig=" + secret, err: base})
	r := Error(err)
	if strings.Contains(r.Error(), secret) {
		t.Fatalf("secret in %q", r)
	}
	if !errors.Is(r, syscall.ECONNREFUSED) {
		t.Fatal("redacted error lost its chain")
	}
	if clean := errors.New("nothing here"); Error(clean) != clean {
		t.Fatal("an error with nothing to redact must come back as is")
	}
	if Error(nil) != nil {
		t.Fatal("nil must stay nil")
	}
}

type urlError struct {
	u   string
	err error
}

func (e *urlError) Error() string { return "Get " + fmt.Sprintf("%q", e.u) + ": " + e.err.Error() }
func (e *urlError) Unwrap() error { return e.err }

// pipeline builds an azcore pipeline like the SDK clients do, with Policy per call.
func pipeline(t *testing.T, client *http.Client) runtime.Pipeline {
	t.Helper()
	return runtime.NewPipeline("redacttest", "v0", runtime.PipelineOptions{}, &policy.ClientOptions{
		PerCallPolicies: []policy.Policy{Policy{}},
		Retry:           policy.RetryOptions{MaxRetries: -1},
		Transport:       client,
	})
}

func TestPolicyTransportError(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "http://" + ln.Addr().String()
	ln.Close() // nothing listens here any more: connection refused
	req, err := runtime.NewRequest(context.Background(), http.MethodGet, dead+"/Tables?sv=2024&sig="+secret)
	if err != nil {
		t.Fatal(err)
	}
	_, err = pipeline(t, http.DefaultClient).Do(req)
	if err == nil {
		t.Fatal("want a transport error")
	}
	if strings.Contains(err.Error(), secret) || strings.Contains(err.Error(), "sig=") {
		t.Fatalf("query in transport error: %v", err)
	}
	if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("chain lost: %v", err)
	}
}

func TestPolicyErrorBody(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusForbidden)
		fmt.Fprintf(w, `{"odata.error":{"code":"AuthenticationFailed","message":{"value":"refused https://%s%s"}}}`, r.Host, r.URL.RequestURI())
	}))
	defer srv.Close()
	req, err := runtime.NewRequest(context.Background(), http.MethodGet, srv.URL+"/Tables?sv=2024&sig="+secret)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := pipeline(t, srv.Client()).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	rerr := runtime.NewResponseError(resp)
	if strings.Contains(rerr.Error(), secret) {
		t.Fatalf("secret in response error: %v", rerr)
	}
	var re *azcore.ResponseError
	if !errors.As(rerr, &re) || re.ErrorCode != "AuthenticationFailed" || re.StatusCode != http.StatusForbidden {
		t.Fatalf("response error lost its code: %#v", rerr)
	}
}

func TestPolicyLeavesSuccessAlone(t *testing.T) {
	body := `{"value":"https://h/x?sig=kept-in-data"}`
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, body) }))
	defer srv.Close()
	req, _ := runtime.NewRequest(context.Background(), http.MethodGet, srv.URL)
	resp, err := pipeline(t, srv.Client()).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := runtime.Payload(resp)
	if string(got) != body {
		t.Fatalf("success body changed: %s", got)
	}
}

func TestHandler(t *testing.T) {
	var buf bytes.Buffer
	log := Logger(slog.New(slog.NewJSONHandler(&buf, nil)))
	err := fmt.Errorf(`Get "https://h/x?code=%s": refused`, secret)
	log.With("url", "https://h/y?sig="+secret).WithGroup("g").Error("failed https://h/z?sig="+secret,
		"err", err, "ids", []string{"https://h/w?sig=" + secret}, "n", 3, slog.Group("inner", "u", "/p?code="+secret))
	out := buf.String()
	if strings.Contains(out, secret) {
		t.Fatalf("secret in log: %s", out)
	}
	for _, want := range []string{`"n":3`, `?REDACTED`, `code=REDACTED`} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %s: %s", want, out)
		}
	}
	if Logger(log) != log {
		t.Error("wrapping twice")
	}
}

func BenchmarkStringPlain(b *testing.B) {
	s := "connection approved on /subscriptions/x/resourceGroups/y/providers/Microsoft.Network/privateLinkServices/z"
	for b.Loop() {
		_ = String(s)
	}
}
