package notify

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/plsgate/plsgate/internal/reconcile"
	"github.com/plsgate/plsgate/internal/topicemu"
)

// A failure outcome whose error quotes a Table URL with its SAS is published without the
// SAS (the event leaves plsgate for every subscriber of the topic), and neither a topic
// endpoint with a query nor an unreachable topic puts a query string in errors or logs.
// Before: data.error carried `…?sv=…&sig=…` verbatim.
func TestNoQueryStringsLeaveThroughNotifications(t *testing.T) {
	const sig = "bm90aWZ5LXNhcy1zaWduYXR1cmU%3D"
	topic := topicemu.Start("k1")
	defer topic.Close()
	p := newPublisher(t, topic, "k1")
	p.Notify(context.Background(), reconcile.Outcome{PLSID: "/p", Connection: "c1", Result: reconcile.Failed,
		Err: errors.New(`store: get: Get "https://acct.table.core.windows.net/connections()?sv=2024-11-04&sig=` + sig + `": dial tcp: connection refused`)})
	if err := p.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	evs := topic.Events()
	if len(evs) != 1 || strings.Contains(string(evs[0].Data), sig) || !strings.Contains(string(evs[0].Data), "acct.table.core.windows.net") {
		t.Fatalf("published: %s", evs[0].Data)
	}

	if _, err := New(Options{Endpoint: "http://topic.example.net/api/events?aeg-sas-key=" + sig, Key: "k"}); err == nil || strings.Contains(err.Error(), sig) {
		t.Fatalf("endpoint error: %v", err)
	}

	var logs bytes.Buffer
	dead := topicemu.Start("k1")
	endpoint, client := dead.Endpoint()+"?code="+sig, dead.Client()
	dead.Close()
	q, err := New(Options{Endpoint: endpoint, Key: "k1", Transport: client, Attempts: 1, Backoff: time.Millisecond,
		Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	q.Notify(context.Background(), reconcile.Outcome{PLSID: "/p", Connection: "c1", Result: reconcile.Drift})
	_ = q.Close(context.Background())
	if _, failed, _ := q.Stats(); failed != 1 || strings.Contains(logs.String(), sig) || !strings.Contains(logs.String(), "notifications not published") {
		t.Fatalf("failed=%d logs: %s", failed, logs.String())
	}
}
