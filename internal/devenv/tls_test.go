package devenv

import (
	"crypto/x509"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/plsgate/plsgate/internal/testutil/extproc"
)

// A process started with SSL_CERT_FILE naming a CA file trusts that CA's
// server through the default client, and the same process without it does
// not: the mechanism the demo gives its child `plsgate serve` for the local
// topic (the child re-runs this test binary).
func TestSSLCertFileTrustsTheCA(t *testing.T) {
	if url := os.Getenv("PLSGATE_SSLCERT_CHILD_URL"); url != "" {
		resp, err := http.Get(url)
		if err != nil {
			t.Fatalf("GET: %v", err)
		}
		resp.Body.Close()
		t.Log("trusted")
		return
	}
	if runtime.GOOS == "darwin" || runtime.GOOS == "windows" || runtime.GOOS == "ios" {
		t.Skipf("%s verifies with the platform and ignores %s", runtime.GOOS, SSLCertFile)
	}
	extproc.SkipShort(t, "this test binary")
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) }))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the untrusting child's handshake error
	t.Cleanup(srv.Close)
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := WriteCAFile(ca, []*x509.Certificate{srv.Certificate()}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		env     []string
		trusted bool
	}{
		{[]string{SSLCertFile + "=" + ca}, true},
		{nil, false}, // the test proves something: the server is not trusted by default
	} {
		cmd := exec.Command(os.Args[0], "-test.run=^TestSSLCertFileTrustsTheCA$", "-test.v")
		cmd.Env = append(append(withoutSSLEnv(os.Environ()), "PLSGATE_SSLCERT_CHILD_URL="+srv.URL), tc.env...)
		out, err := cmd.CombinedOutput()
		if trusted := err == nil && strings.Contains(string(out), "trusted"); trusted != tc.trusted {
			t.Errorf("%v: trusted=%v, want %v: %v\n%s", tc.env, trusted, tc.trusted, err, out)
		}
	}
}

func withoutSSLEnv(environ []string) []string {
	var out []string
	for _, kv := range environ {
		if !strings.HasPrefix(kv, "SSL_CERT_") {
			out = append(out, kv)
		}
	}
	return out
}

func TestWriteCAFileNeedsCertificates(t *testing.T) {
	if err := WriteCAFile(filepath.Join(t.TempDir(), "x.pem"), nil); err == nil {
		t.Fatal("wrote a CA file without certificates")
	}
}
