// Package notify publishes plsgate's outcomes (approved, rejected,
// left-pending, ambiguous, drift, failed, and a person's override) as CloudEvents 1.0 to an Event Grid topic with
// the azeventgrid v1 publisher client. Publishing happens after the outcome
// is recorded in Table storage and never blocks or fails a decision: Notify
// only enqueues (dropping, and counting, when the queue is full); a background
// worker sends batches with a bounded retry and logs what it could not send.
package notify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/messaging"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/messaging/eventgrid/azeventgrid"
	"github.com/plsgate/plsgate/internal/reconcile"
	"github.com/plsgate/plsgate/internal/redact"
)

// EventTypePrefix prefixes every CloudEvent type plsgate publishes.
const EventTypePrefix = "Plsgate.Connection."

// Options configure a Publisher.
type Options struct {
	Endpoint   string                 // NOTIFY_TOPIC_ENDPOINT
	Key        string                 // NOTIFY_TOPIC_KEY; empty: Credential (managed identity)
	Credential azcore.TokenCredential // used when Key is empty
	Transport  policy.Transporter     // optional (tests: the emulator's TLS client)
	QueueSize  int                    // default 1024
	MaxBatch   int                    // default 100
	Attempts   int                    // tries per batch, default 3
	Backoff    time.Duration          // first retry delay, default 1s (doubles)
	Logger     *slog.Logger
}

// Publisher sends outcomes in the background.
type Publisher struct {
	client  *azeventgrid.Client
	source  string
	queue   chan messaging.CloudEvent
	opts    Options
	log     *slog.Logger
	dropped atomic.Int64
	sent    atomic.Int64
	failed  atomic.Int64
	wg      sync.WaitGroup
	stop    chan struct{}
	once    sync.Once
}

// New builds a Publisher and starts its worker; Close flushes and stops it.
func New(o Options) (*Publisher, error) {
	u, err := url.Parse(o.Endpoint)
	if err != nil || u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("notify topic endpoint %q: want an https URL", redact.URL(o.Endpoint))
	}
	if o.QueueSize <= 0 {
		o.QueueSize = 1024
	}
	if o.MaxBatch <= 0 {
		o.MaxBatch = 100
	}
	if o.Attempts <= 0 {
		o.Attempts = 3
	}
	if o.Backoff <= 0 {
		o.Backoff = time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	copts := &azeventgrid.ClientOptions{ClientOptions: azcore.ClientOptions{Transport: o.Transport}}
	// The publisher's own retry is ours (bounded, logged); the SDK's stays short.
	copts.Retry.MaxRetries = 1
	copts.PerCallPolicies = []policy.Policy{redact.Policy{}} // no query string in its errors
	var c *azeventgrid.Client
	switch {
	case o.Key != "":
		c, err = azeventgrid.NewClientWithSharedKeyCredential(o.Endpoint, azcore.NewKeyCredential(o.Key), copts)
	case o.Credential != nil:
		c, err = azeventgrid.NewClient(o.Endpoint, o.Credential, copts)
	default:
		err = errors.New("no key and no credential")
	}
	if err != nil {
		return nil, fmt.Errorf("notify client: %w", err)
	}
	p := &Publisher{client: c, source: "/plsgate", queue: make(chan messaging.CloudEvent, o.QueueSize), opts: o, log: o.Logger, stop: make(chan struct{})}
	p.wg.Add(1)
	go p.run()
	return p, nil
}

// Data is the CloudEvent payload: what happened to which connection and why.
type Data struct {
	PrivateLinkServiceID string `json:"privateLinkServiceId"`
	ConnectionID         string `json:"connectionId,omitempty"`
	Connection           string `json:"connection"`
	From                 string `json:"from,omitempty"`
	To                   string `json:"to,omitempty"`
	Result               string `json:"result"`
	Decision             string `json:"decision,omitempty"`
	Rule                 string `json:"rule,omitempty"`
	Reason               string `json:"reason,omitempty"`
	// Category: for Drift, whose approval the policy no longer backs — approvedOutsidePlsgate
	// (no plsgate decision) or policyChanged (plsgate approved it earlier); override for a
	// person's approval against the policy; revoked for a person's reject of an Approved
	// connection.
	Category string `json:"category,omitempty"`
	// Actor: who decided (principal:<upn/oid> for a person; for drift, who approved it).
	Actor string `json:"actor,omitempty"`
	Error string `json:"error,omitempty"`
}

// TypeOverride is the CloudEvent type of a person's approval against the policy
// (approve with force): an Approved outcome of category override. It is not drift.
const TypeOverride = EventTypePrefix + "Override"

// TypeOf is an outcome's CloudEvent type: EventType of its result, except that a
// person's override has a type of its own (subscribers filter on it).
func TypeOf(o reconcile.Outcome) string {
	if o.Result == reconcile.Approved && o.Category == reconcile.CategoryOverride {
		return TypeOverride
	}
	return EventType(o.Result)
}

// EventType maps a result to its CloudEvent type, e.g. Plsgate.Connection.Approved.
func EventType(r reconcile.Result) string {
	parts := strings.Split(string(r), "-")
	for i, p := range parts {
		if p != "" {
			parts[i] = strings.ToUpper(p[:1]) + p[1:]
		}
	}
	return EventTypePrefix + strings.Join(parts, "")
}

// Notify enqueues an outcome; it never blocks.
func (p *Publisher) Notify(_ context.Context, o reconcile.Outcome) {
	d := Data{PrivateLinkServiceID: o.PLSID, ConnectionID: o.ConnectionID, Connection: o.Connection, From: o.From, To: o.To,
		Result: string(o.Result), Decision: string(o.Action), Rule: o.Rule, Reason: o.Reason, Category: string(o.Category), Actor: o.Actor}
	if o.Err != nil {
		// The event leaves plsgate: an error quoting a URL (a Table SAS) must not take it along.
		d.Error = redact.String(o.Err.Error())
	}
	subject := o.ConnectionID
	if subject == "" {
		subject = o.PLSID + "/privateEndpointConnections/" + o.Connection
	}
	ev, err := messaging.NewCloudEvent(p.source, TypeOf(o), d, &messaging.CloudEventOptions{Subject: &subject, DataContentType: ptr("application/json")})
	if err != nil {
		p.log.Warn("notification not built", "err", err)
		return
	}
	select {
	case p.queue <- ev:
	default:
		p.dropped.Add(1)
		p.log.Warn("notification queue full: outcome not published", "connection", o.Connection, "result", string(o.Result))
	}
}

func ptr[T any](v T) *T { return &v }

func (p *Publisher) run() {
	defer p.wg.Done()
	for {
		var batch []messaging.CloudEvent
		select {
		case ev := <-p.queue:
			batch = append(batch, ev)
		case <-p.stop:
			// Flush what is queued, then stop.
			for {
				select {
				case ev := <-p.queue:
					batch = append(batch, ev)
					if len(batch) == p.opts.MaxBatch {
						p.send(batch)
						batch = nil
					}
				default:
					if len(batch) > 0 {
						p.send(batch)
					}
					return
				}
			}
		}
	fill:
		for len(batch) < p.opts.MaxBatch {
			select {
			case ev := <-p.queue:
				batch = append(batch, ev)
			default:
				break fill
			}
		}
		p.send(batch)
	}
}

func (p *Publisher) send(batch []messaging.CloudEvent) {
	delay := p.opts.Backoff
	var err error
	for attempt := 1; attempt <= p.opts.Attempts; attempt++ {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		_, err = p.client.PublishCloudEvents(ctx, batch, nil)
		cancel()
		if err == nil {
			p.sent.Add(int64(len(batch)))
			return
		}
		if attempt < p.opts.Attempts {
			time.Sleep(delay)
			delay *= 2
		}
	}
	p.failed.Add(int64(len(batch)))
	p.log.Warn("notifications not published", "events", len(batch), "attempts", p.opts.Attempts, "err", redact.Error(err))
}

// Stats reports sent, failed and dropped counts.
func (p *Publisher) Stats() (sent, failed, dropped int64) {
	return p.sent.Load(), p.failed.Load(), p.dropped.Load()
}

// Close publishes what is queued and stops the worker (bounded by ctx).
func (p *Publisher) Close(ctx context.Context) error {
	p.once.Do(func() { close(p.stop) })
	done := make(chan struct{})
	go func() { p.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
