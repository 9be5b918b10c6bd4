package notify

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/plsgate/plsgate/internal/policy"
	"github.com/plsgate/plsgate/internal/reconcile"
	"github.com/plsgate/plsgate/internal/topicemu"
)

// Issue 17.4: notifications tell a person's override (a type of its own) from
// drift of an approval made outside plsgate and drift after a policy change
// (category), and name who decided.
func TestOverrideAndDriftCategories(t *testing.T) {
	topic := topicemu.Start("k1")
	defer topic.Close()
	p := newPublisher(t, topic, "k1")
	pls := "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/privateLinkServices/p"
	for _, o := range []reconcile.Outcome{
		{PLSID: pls, Connection: "forced", From: "Pending", To: "Approved", Result: reconcile.Approved, Action: policy.Approve,
			Reason: "CAB-42 (forced over policy: leave by default)", Category: reconcile.CategoryOverride, Actor: "principal:alice@contoso.com"},
		{PLSID: pls, Connection: "portal", From: "Approved", To: "Approved", Result: reconcile.Drift, Action: policy.Leave,
			Category: reconcile.CategoryApprovedOutside, Actor: "observed"},
		{PLSID: pls, Connection: "old", From: "Approved", To: "Approved", Result: reconcile.Drift, Action: policy.Reject, Rule: "no-spam",
			Category: reconcile.CategoryPolicyChanged, Actor: "rule:partner"},
		{PLSID: pls, Connection: "revoked", From: "Approved", To: "Rejected", Result: reconcile.Rejected, Action: policy.Reject,
			Category: reconcile.CategoryRevoked, Actor: "principal:bob@contoso.com"},
		{PLSID: pls, Connection: "plain", From: "Pending", To: "Approved", Result: reconcile.Approved, Action: policy.Approve, Rule: "partner", Actor: "rule:partner"},
	} {
		p.Notify(context.Background(), o)
	}
	if err := p.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	want := []struct{ typ, category, actor string }{
		{"Plsgate.Connection.Override", "override", "principal:alice@contoso.com"},
		{"Plsgate.Connection.Drift", "approvedOutsidePlsgate", "observed"},
		{"Plsgate.Connection.Drift", "policyChanged", "rule:partner"},
		{"Plsgate.Connection.Rejected", "revoked", "principal:bob@contoso.com"},
		{"Plsgate.Connection.Approved", "", "rule:partner"},
	}
	evs := topic.Events()
	if len(evs) != len(want) {
		t.Fatalf("got %d events", len(evs))
	}
	for i, w := range want {
		var d Data
		if err := json.Unmarshal(evs[i].Data, &d); err != nil {
			t.Fatal(err)
		}
		if evs[i].Type != w.typ || d.Category != w.category || d.Actor != w.actor {
			t.Errorf("event %d: type %s, category %q, actor %q; want %s, %q, %q", i, evs[i].Type, d.Category, d.Actor, w.typ, w.category, w.actor)
		}
	}
}
