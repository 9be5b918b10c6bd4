package api

import (
	"bytes"
	"context"
	"flag"
	"net/url"
	"os"
	"path/filepath"
	"testing"

	"github.com/plsgate/plsgate/internal/policy"
	"github.com/plsgate/plsgate/internal/reconcile"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// TestGoldenWire pins the JSON the API answers (what scripts and the README rely on).
func TestGoldenWire(t *testing.T) {
	ta := newTestAPI(t, easyAuth(t))
	seedStore(ta.store)
	decision := policy.Decision{Action: policy.Leave, Reason: "no rule matched; the default is leave",
		Trace: []policy.RuleTrace{{Rule: "customers", Reason: "requestMessage does not match ^please approve$"}, {Rule: "spam", Reason: "requestMessage does not match ^spam"}}}
	ta.dec.evaluate = func(id string) (policy.Facts, policy.Decision, error) {
		f := policy.Facts{
			Resource:   policy.Resource{Type: "Microsoft.Network/privateLinkServices", ID: plsID, Name: "contoso-pls", SubscriptionID: sub, ResourceGroup: "contoso"},
			PLS:        policy.PLS{ID: plsID, Name: "contoso-pls", SubscriptionID: sub, ResourceGroup: "contoso"},
			Connection: policy.Connection{ID: id, Name: connName, Status: "Pending", Description: "hello", PrivateEndpointID: peCust},
			Requester:  policy.Requester{SubscriptionID: "11111111-1111-1111-1111-111111111111", ResourceGroup: "cust"},
			Now:        testNow,
		}
		return f, decision, nil
	}
	for _, tc := range []struct {
		file  string
		setup func()
		r     req
	}{
		{"approve.json", nil, post("/api/v1/connections/approve", approveBody("ticket CHG-1", false), alice(t)...)},
		{"error_not_pending.json", func() {
			ta.dec.apply = func(reconcile.ManualRequest) (reconcile.Outcome, error) {
				return reconcile.Outcome{}, &reconcile.NotPendingError{Status: "Rejected"}
			}
		}, post("/api/v1/connections/approve", approveBody("r", false), alice(t)...)},
		{"error_policy.json", func() {
			ta.dec.apply = func(reconcile.ManualRequest) (reconcile.Outcome, error) {
				return reconcile.Outcome{}, &reconcile.PolicyError{Decision: decision}
			}
		}, post("/api/v1/connections/approve", approveBody("r", false), alice(t)...)},
		{"error_method.json", nil, get("/api/v1/connections/approve")},
		{"evaluate.json", nil, post("/api/v1/evaluate", `{"connectionId": `+jsonString(connID)+`}`)},
		{"connections.json", nil, get("/api/v1/connections?limit=2")},
		{"history.json", nil, get("/api/v1/connections/history?connectionId=" + url.QueryEscape(connID))},
		{"run.json", nil, get("/api/v1/reconcile/0001-run")},
	} {
		t.Run(tc.file, func(t *testing.T) {
			if tc.setup != nil {
				tc.setup()
			}
			got := ta.doCtx(t, context.Background(), tc.r).Body.Bytes()
			path := filepath.Join("testdata", tc.file)
			if *update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run with -update to create)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s changed:\n got: %s\nwant: %s", tc.file, got, want)
			}
		})
	}
}
