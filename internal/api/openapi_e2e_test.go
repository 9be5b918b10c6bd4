package api_test

import (
	"bytes"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/plsgate/plsgate/internal/testenv"
)

// TestE2EOpenAPIThroughTheHost: the document reaches a caller through the Functions host
// like every read — with the function key as header or ?code= — and the answers the
// document says come from the host do: 401 with an empty body without the key (before
// plsgate runs), 404 outside api/v1 and for methods function.json does not list, neither of
// them plsgate's JSON error (azure-functions-host, as /work/shared/azure-facts.md §1 and
// internal/hostemu record it: authLevel function is checked before the handler; function.json
// routes v1/{*path} for GET and POST only).
func TestE2EOpenAPIThroughTheHost(t *testing.T) {
	env := startEnvWith(t, nil)
	want, err := os.ReadFile("openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	st, hdr, body := rawAPI(t, env, "GET", "/api/v1/openapi.json", "", nil)
	if st != 200 || !strings.HasPrefix(hdr.Get("Content-Type"), "application/json") || !bytes.Equal(body, want) {
		t.Fatalf("GET openapi.json through the host = %d %q, %d bytes (want openapi.json, %d bytes)", st, hdr.Get("Content-Type"), len(body), len(want))
	}
	get := func(path string, method string) (int, []byte) {
		t.Helper()
		req, err := http.NewRequest(method, env.HostURL+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b
	}
	if st, b := get("/api/v1/openapi.json?code="+testenv.FunctionKey, "GET"); st != 200 || !bytes.Equal(b, want) {
		t.Errorf("with ?code=: %d, %d bytes", st, len(b))
	}
	if st, b := get("/api/v1/openapi.json", "GET"); st != 401 || len(b) != 0 {
		t.Errorf("without the function key: %d %q, want the host's 401 with an empty body", st, b)
	}
	for _, c := range []struct{ method, path string }{
		{"GET", "/api/v2/openapi.json?code=" + testenv.FunctionKey},
		{"PUT", "/api/v1/openapi.json?code=" + testenv.FunctionKey},
	} {
		if st, b := get(c.path, c.method); st != 404 || bytes.Contains(b, []byte(`"error"`)) {
			t.Errorf("%s %s: %d %q, want the host's 404", c.method, c.path, st, b)
		}
	}
	// Under api/v1 a GET route called with POST is plsgate's 405.
	st, hdr, body = rawAPI(t, env, "POST", "/api/v1/openapi.json", "{}", nil)
	wantStatus(t, st, body, 405, "MethodNotAllowed")
	if hdr.Get("Allow") != "GET" {
		t.Errorf("Allow %q", hdr.Get("Allow"))
	}
}
