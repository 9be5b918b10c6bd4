package devenv

import (
	"crypto/x509"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The client trusts exactly the CA file, and only for loopback https endpoints.
func TestLoopbackTLSClient(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) }))
	t.Cleanup(srv.Close)
	dir := t.TempDir()
	ca := filepath.Join(dir, "ca.pem")
	if err := WriteCAFile(ca, []*x509.Certificate{srv.Certificate()}); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(dir, "empty.pem")
	if err := os.WriteFile(empty, []byte("not a certificate\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	c, err := LoopbackTLSClient(srv.URL+"/api/events", ca)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := c.Get(srv.URL)
	if err != nil {
		t.Fatalf("the CA file's server is not trusted: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("status %d", resp.StatusCode)
	}
	// Without the file the same server is refused (the default client does not trust it).
	if _, err := http.Get(srv.URL); err == nil {
		t.Fatal("the default client trusted the self-signed server: the test proves nothing")
	}

	tests := []struct{ name, endpoint, file, want string }{
		{"public host", "https://contoso.eastus-1.eventgrid.azure.net/api/events", ca, "not on loopback"},
		{"plain http", "http://127.0.0.1:1/api/events", ca, "https loopback endpoint"},
		{"no endpoint", "", ca, "https loopback endpoint"},
		{"missing file", "https://127.0.0.1:1/api/events", filepath.Join(dir, "none.pem"), "read NOTIFY_TOPIC_CA_FILE"},
		{"no certificate", "https://localhost:1/api/events", empty, "no PEM CERTIFICATE block"},
		{"ipv6 loopback", "https://[::1]:1/api/events", ca, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := LoopbackTLSClient(tc.endpoint, tc.file)
			if (err == nil) != (tc.want == "") || (err != nil && !strings.Contains(err.Error(), tc.want)) {
				t.Fatalf("LoopbackTLSClient(%q): %v, want %q", tc.endpoint, err, tc.want)
			}
		})
	}
}

func TestWriteCAFileNeedsCertificates(t *testing.T) {
	if err := WriteCAFile(filepath.Join(t.TempDir(), "x.pem"), nil); err == nil {
		t.Fatal("wrote a CA file without certificates")
	}
}
