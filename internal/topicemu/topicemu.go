// Package topicemu is a local stand-in for an Event Grid custom topic: an
// HTTPS server on loopback that accepts CloudEvents 1.0 batches the way the
// topic endpoint does (POST /api/events?api-version=2018-01-01,
// Content-Type application/cloudevents-batch+json, aeg-sas-key or bearer
// auth) and records them for tests and the demo. It serves TLS because the
// SDK only sends credentials over https.
package topicemu

import (
	"encoding/json"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"sync"
)

// Event is a received CloudEvent (the fields plsgate sets).
type Event struct {
	ID          string          `json:"id"`
	Source      string          `json:"source"`
	Type        string          `json:"type"`
	Subject     string          `json:"subject"`
	Time        string          `json:"time"`
	SpecVersion string          `json:"specversion"`
	Data        json.RawMessage `json:"data"`
}

// Topic records what is published to it.
type Topic struct {
	Key    string
	server *httptest.Server
	mu     sync.Mutex
	events []Event
	fail   int // answer 503 to the next fail requests
}

// Start listens on 127.0.0.1 with a self-signed certificate.
func Start(key string) *Topic {
	t := &Topic{Key: key}
	t.server = httptest.NewTLSServer(http.HandlerFunc(t.serve))
	return t
}

// Endpoint is the topic endpoint URL (NOTIFY_TOPIC_ENDPOINT).
func (t *Topic) Endpoint() string { return t.server.URL + "/api/events" }

// Client trusts the topic's certificate (pass as the SDK transport).
func (t *Topic) Client() *http.Client { return t.server.Client() }

// Close stops the server.
func (t *Topic) Close() { t.server.Close() }

// FailNext makes the next n publishes answer 503.
func (t *Topic) FailNext(n int) { t.mu.Lock(); t.fail = n; t.mu.Unlock() }

// Events returns what was received so far.
func (t *Topic) Events() []Event {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]Event(nil), t.events...)
}

func (t *Topic) serve(w http.ResponseWriter, r *http.Request) {
	fail := func(code int, msg string) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]string{"code": http.StatusText(code), "message": msg}})
	}
	if r.Method != http.MethodPost || r.URL.Path != "/api/events" {
		fail(http.StatusNotFound, "no such endpoint")
		return
	}
	if r.URL.Query().Get("api-version") == "" {
		fail(http.StatusBadRequest, "api-version is required")
		return
	}
	if r.Header.Get("aeg-sas-key") != t.Key && r.Header.Get("Authorization") == "" {
		fail(http.StatusUnauthorized, "missing or wrong aeg-sas-key")
		return
	}
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/cloudevents-batch+json" {
		fail(http.StatusBadRequest, "want application/cloudevents-batch+json")
		return
	}
	t.mu.Lock()
	if t.fail > 0 {
		t.fail--
		t.mu.Unlock()
		fail(http.StatusServiceUnavailable, "injected failure")
		return
	}
	t.mu.Unlock()
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20+1))
	if err != nil || len(body) > 1<<20 {
		fail(http.StatusRequestEntityTooLarge, "a batch is at most 1 MB")
		return
	}
	var batch []Event
	if err := json.Unmarshal(body, &batch); err != nil {
		fail(http.StatusBadRequest, "body is not a JSON array of CloudEvents")
		return
	}
	for _, e := range batch {
		if e.SpecVersion != "1.0" || e.ID == "" || e.Source == "" || e.Type == "" {
			fail(http.StatusBadRequest, "every event needs specversion 1.0, id, source and type")
			return
		}
	}
	t.mu.Lock()
	t.events = append(t.events, batch...)
	t.mu.Unlock()
	w.WriteHeader(http.StatusOK)
}
