package cli

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/plsgate/plsgate/internal/store"
	"github.com/plsgate/plsgate/internal/testenv"
)

// Issue 17.3: `reconcile --pls` of a PLS that ARM does not know and plsgate
// never recorded is not success: exit 1 saying "not found" (it used to exit 0
// with "no connection changed"). One that disappeared lists its connections
// as removed, on every ask.
func TestReconcilePLSNotFoundExits1(t *testing.T) {
	env := startCLIEnv(t)
	typo := strings.Replace(testenv.PLSID, testenv.PLSName, "typo-pls", 1)
	var stderr bytes.Buffer
	code, out := run(t, env.Getenv, &stderr, "reconcile", "--pls", typo)
	if code != ExitRuntime {
		t.Fatalf("exit %d, want 1\nstdout: %s\nstderr: %s", code, out, stderr.String())
	}
	want := "private link service " + typo + " not found: Azure Resource Manager does not know it and plsgate has no record of it"
	if !strings.Contains(stderr.String(), "plsgate reconcile: "+want) || !strings.Contains(out, want) || !containsFields(out, "failed 1") {
		t.Errorf("stdout: %s\nstderr: %s\nwant %q", out, stderr.String(), want)
	}
	stderr.Reset()
	code, out = run(t, env.Getenv, &stderr, "reconcile", "--pls", typo, "--output", "json")
	var o reconcileOutput
	if err := json.Unmarshal([]byte(out), &o); err != nil || code != ExitRuntime || !strings.Contains(o.Error, "not found") || len(o.Outcomes) != 0 {
		t.Errorf("json: exit %d %+v %v", code, o, err)
	}
	if n := env.ARM.Counters()[opUpdate]; n != 0 {
		t.Errorf("%d ARM writes", n)
	}
}

func TestReconcileVanishedPLSListsRemoved(t *testing.T) {
	env := startCLIEnv(t)
	gone := strings.Replace(testenv.PLSID, testenv.PLSName, "gone-pls", 1)
	// plsgate recorded a connection of gone-pls before it was deleted.
	if err := env.App.Store.PutConnection(t.Context(), &store.Connection{PLSID: gone, Name: "pe-old.1", ConnectionID: gone + "/privateEndpointConnections/pe-old.1",
		Status: "Approved", LastDecision: "approve", LastRule: "partner", LastActor: "rule:partner"}); err != nil {
		t.Fatal(err)
	}
	for i, from := range []string{"Approved", "Removed"} { // recorded by the first run, still reported by the next
		var stderr bytes.Buffer
		code, out := run(t, env.Getenv, &stderr, "reconcile", "--pls", gone)
		if code != ExitOK {
			t.Fatalf("run %d: exit %d\n%s\n%s", i, code, out, stderr.String())
		}
		for _, want := range []string{"removed 1", "removed gone-pls pe-old.1 " + from + " Removed - the private link service no longer exists"} {
			if !containsFields(out, want) {
				t.Errorf("run %d: output lacks %q:\n%s", i, want, out)
			}
		}
	}
	row, err := env.App.Store.GetConnection(t.Context(), gone, "pe-old.1")
	if err != nil || row.Status != "Removed" {
		t.Fatalf("row %+v %v", row, err)
	}
}
