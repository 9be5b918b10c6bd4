package notify

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/plsgate/plsgate/internal/policy"
	"github.com/plsgate/plsgate/internal/reconcile"
	"github.com/plsgate/plsgate/internal/topicemu"
)

func newPublisher(t *testing.T, topic *topicemu.Topic, key string) *Publisher {
	t.Helper()
	p, err := New(Options{Endpoint: topic.Endpoint(), Key: key, Transport: topic.Client(), Backoff: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestPublishesOutcomesAsCloudEvents(t *testing.T) {
	topic := topicemu.Start("k1")
	defer topic.Close()
	p := newPublisher(t, topic, "k1")
	p.Notify(context.Background(), reconcile.Outcome{PLSID: "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/privateLinkServices/p",
		Connection: "c1", ConnectionID: "/x/c1", From: "Pending", To: "Approved", Result: reconcile.Approved, Action: policy.Approve, Rule: "r1", Reason: "matched"})
	p.Notify(context.Background(), reconcile.Outcome{PLSID: "/p", Connection: "c2", Result: reconcile.Failed, Err: errors.New("boom")})
	if err := p.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	evs := topic.Events()
	if len(evs) != 2 {
		t.Fatalf("got %d events", len(evs))
	}
	if evs[0].Type != "Plsgate.Connection.Approved" || evs[0].Subject != "/x/c1" || evs[0].Source != "/plsgate" {
		t.Fatalf("event 0: %+v", evs[0])
	}
	var d Data
	if err := json.Unmarshal(evs[0].Data, &d); err != nil || d.Rule != "r1" || d.To != "Approved" || d.Decision != "approve" {
		t.Fatalf("data: %+v %v", d, err)
	}
	if evs[1].Type != "Plsgate.Connection.Failed" || !json.Valid(evs[1].Data) {
		t.Fatalf("event 1: %+v", evs[1])
	}
	if sent, failed, dropped := p.Stats(); sent != 2 || failed != 0 || dropped != 0 {
		t.Fatalf("stats %d %d %d", sent, failed, dropped)
	}
}

func TestRetriesThenGivesUpWithoutBlocking(t *testing.T) {
	topic := topicemu.Start("k1")
	defer topic.Close()
	topic.FailNext(1)
	p := newPublisher(t, topic, "k1")
	p.Notify(context.Background(), reconcile.Outcome{PLSID: "/p", Connection: "c1", Result: reconcile.Drift})
	_ = p.Close(context.Background())
	if len(topic.Events()) != 1 {
		t.Fatalf("one retry should have delivered it: %d", len(topic.Events()))
	}
	// A wrong key never succeeds: the batch is counted as failed, Notify never blocked.
	bad := newPublisher(t, topic, "wrong")
	bad.Notify(context.Background(), reconcile.Outcome{PLSID: "/p", Connection: "c1", Result: reconcile.Drift})
	_ = bad.Close(context.Background())
	if _, failed, _ := bad.Stats(); failed != 1 {
		t.Fatalf("failed = %d", failed)
	}
}

func TestQueueFullDrops(t *testing.T) {
	topic := topicemu.Start("k1")
	defer topic.Close()
	p, err := New(Options{Endpoint: topic.Endpoint(), Key: "k1", Transport: topic.Client(), QueueSize: 1})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 500; i++ {
		p.Notify(context.Background(), reconcile.Outcome{PLSID: "/p", Connection: "c", Result: reconcile.LeftPending})
	}
	_ = p.Close(context.Background())
	sent, _, dropped := p.Stats()
	if sent+dropped != 500 || dropped == 0 {
		t.Fatalf("sent %d dropped %d", sent, dropped)
	}
}

func TestEndpointMustBeHTTPS(t *testing.T) {
	if _, err := New(Options{Endpoint: "http://127.0.0.1/api/events", Key: "k"}); err == nil {
		t.Fatal("want error for http endpoint")
	}
}

func TestEventType(t *testing.T) {
	for r, want := range map[reconcile.Result]string{reconcile.LeftPending: "Plsgate.Connection.LeftPending", reconcile.Drift: "Plsgate.Connection.Drift", reconcile.Ambiguous: "Plsgate.Connection.Ambiguous"} {
		if got := EventType(r); got != want {
			t.Errorf("%s: %s", r, got)
		}
	}
}
