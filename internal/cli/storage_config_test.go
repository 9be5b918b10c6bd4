package cli

import (
	"bytes"
	"context"
	"net"
	"strings"
	"testing"
	"time"
)

// A malformed storage connection string refuses to start with exit 2, naming the setting,
// and the value — with its SAS or account key — appears nowhere in the output. Before: serve
// started, the store failed in the background (exit 1), and its error quoted the service URL
// with the SAS appended (`parse "https://bad acct.table.core.windows.net/Tables?…&sig=…"`).
func TestServeRefusesMalformedStorageConnectionString(t *testing.T) {
	const sig = "c2VydmUtbXVzdC1ub3QtZWNoby10aGlz"
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	ln.Close() // free for serve, should it get that far
	for _, setting := range []string{"PLSGATE_TABLES_CONNECTION", "AzureWebJobsStorage"} {
		t.Run(setting, func(t *testing.T) {
			env := map[string]string{
				setting:                        "AccountName=bad acct;SharedAccessSignature=sv=2024-11-04&ss=t&sig=" + sig,
				"PLSGATE_POLICY":               "version: 1\ndefault: leave\nrules: []\n",
				"FUNCTIONS_CUSTOMHANDLER_PORT": port,
			}
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			var out, errb bytes.Buffer
			code := Main(ctx, Env{Args: []string{"serve"}, Stdout: &out, Stderr: &errb, Getenv: func(k string) string { return env[k] }})
			all := out.String() + errb.String()
			if code != ExitUsage || !strings.Contains(all, "setting "+setting+":") {
				t.Errorf("exit %d, want %d naming %s: %s", code, ExitUsage, setting, all)
			}
			if strings.Contains(all, sig) {
				t.Errorf("the SAS is in the output: %s", all)
			}
		})
	}
}
