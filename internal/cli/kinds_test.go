package cli

import (
	"bytes"
	"strings"
	"testing"

	"github.com/plsgate/plsgate/internal/resource"
	"github.com/plsgate/plsgate/internal/testenv"
)

// --pls takes the ID of a resource of any registered kind, not only a private link service's:
// a kind registered here (as a provider's file would) passes the flag check and reaches the
// configuration (invalid on purpose, so nothing runs). Before, --pls parsed PLS IDs only.
func TestPLSFlagTakesAnyRegisteredKind(t *testing.T) {
	resource.Register(resource.Kind{Type: "Contoso.CLITest/gadgets", OperationPrefix: "Contoso.CLITest/gadgets/"})
	gadget := "/subscriptions/" + testenv.Subscription + "/resourceGroups/rg/providers/Contoso.CLITest/gadgets/g1"
	getenv := func(name string) string {
		return map[string]string{"PLSGATE_TABLES_CONNECTION": "UseDevelopmentStorage=true", "PLSGATE_TABLE_PREFIX": "bad-prefix!"}[name]
	}
	tests := []struct {
		name, id, stderr string
	}{
		{"registered kind", gadget, "setting PLSGATE_TABLE_PREFIX"},
		{"private link service", testenv.PLSID, "setting PLSGATE_TABLE_PREFIX"},
		{"unregistered kind", "/subscriptions/" + testenv.Subscription + "/resourceGroups/rg/providers/Other.NS/things/x",
			"--pls: \"/subscriptions/" + testenv.Subscription + "/resourceGroups/rg/providers/Other.NS/things/x\" is not the ID of a private link service or another resource plsgate manages"},
		{"connection ID", resource.ConnectionID(gadget, "c"), "is not the ID of a private link service or another resource"},
	}
	for _, cmd := range []string{"history", "reconcile"} {
		for _, tt := range tests {
			t.Run(cmd+"/"+tt.name, func(t *testing.T) {
				var stderr bytes.Buffer
				code, _ := run(t, getenv, &stderr, cmd, "--pls", tt.id)
				if code != ExitUsage || !strings.Contains(stderr.String(), tt.stderr) {
					t.Fatalf("exit %d\nstderr: %s\nwant stderr ~ %q", code, stderr.String(), tt.stderr)
				}
			})
		}
	}
	var stderr bytes.Buffer
	run(t, getenv, &stderr, "history", "--pls", "x")
	if !strings.Contains(stderr.String(), "Contoso.CLITest/gadgets") || !strings.Contains(stderr.String(), resource.PrivateLinkService.Type) {
		t.Errorf("the refusal does not list the registered types: %s", stderr.String())
	}
}
