package armemu

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Event schemas for delivery.
const (
	SchemaEventGrid   = "eventgrid"
	SchemaCloudEvents = "cloudevents"
)

// EventOptions configures the Event Grid emulation. Delivery follows
// azure-docs event-grid/delivery-and-retry.md: at-least-once, unordered, one
// event per delivery by default, success = 200..204, 400/401/403/413 not
// retried, retries on 10s, 30s, 1m, 5m, 10m, 30m, 1h, 3h, 6h, then every 12h,
// up to 30 attempts / 24 h.
type EventOptions struct {
	SinkURL string // where deliveries are POSTed; "" = events are only logged
	Schema  string // SchemaEventGrid (default) | SchemaCloudEvents
	// Subscriptions limits delivery to events whose topic is one of these
	// subscriptions (the system topics plsgate subscribed to); empty = all.
	Subscriptions []string
	// CrossSubscription: what the PLS owner's subscription receives when a
	// connection is requested from another subscription/tenant: CrossNone
	// (default; Azure documents nothing), CrossResourceNotifications or
	// CrossWriteSuccess.
	CrossSubscription string
	// SharedLinkWriteAt: when the Web PubSub owner's PUT of a shared private link
	// resource raises its ResourceWriteSuccess: SharedLinkAtAccepted (default,
	// with the 201) or SharedLinkAtCompleted (when the long-running operation
	// succeeds). Azure does not document which (azure-facts §9); plsgate must
	// handle both.
	SharedLinkWriteAt            string
	DisableWriteSuccess          bool
	DisableResourceNotifications bool
	MaxEventsPerBatch            int           // default 1
	Duplicate                    float64       // probability that a delivered batch is delivered once more
	Shuffle                      bool          // shuffle batches that are due together
	RetryScale                   float64       // multiplies the retry schedule (e.g. 0.001 in tests); default 1
	MaxAttempts                  int           // default 30
	TimeToLive                   time.Duration // default 24h (scaled by RetryScale)
	Timeout                      time.Duration // per attempt; default 30s
	Parallelism                  int           // concurrent deliveries; default 1 (keeps order deterministic)
	LogLimit                     int           // events and delivery records kept; default 10000
}

var retrySchedule = []time.Duration{10 * time.Second, 30 * time.Second, time.Minute, 5 * time.Minute,
	10 * time.Minute, 30 * time.Minute, time.Hour, 3 * time.Hour, 6 * time.Hour}

// Delivery is one delivery attempt in the log.
type Delivery struct {
	Batch      int       `json:"batch"` // batch sequence number (a duplicate gets its own)
	EventIDs   []string  `json:"eventIds"`
	EventTypes []string  `json:"eventTypes"`
	Attempt    int       `json:"attempt"` // 1-based
	Duplicate  bool      `json:"duplicate,omitempty"`
	Status     int       `json:"status,omitempty"`
	Error      string    `json:"error,omitempty"`
	Outcome    string    `json:"outcome"` // delivered | retry | dropped
	At         time.Time `json:"at"`
}

// DeliveryStats counts what the bus did since start (or ResetCounters).
type DeliveryStats struct {
	Emitted    int `json:"emitted"`    // events built
	Filtered   int `json:"filtered"`   // events not for a watched subscription
	Batches    int `json:"batches"`    // batches queued (duplicates included)
	Attempts   int `json:"attempts"`   // HTTP POSTs
	Delivered  int `json:"delivered"`  // batches acknowledged 2xx
	Retried    int `json:"retried"`    // attempts rescheduled
	Dropped    int `json:"dropped"`    // batches given up
	Duplicates int `json:"duplicates"` // duplicate batches queued
	Pending    int `json:"pending"`    // batches not finished
}

type batch struct {
	seq       int
	events    []Event
	schema    string
	sink      string
	attempts  int
	first     time.Time
	due       time.Time
	duplicate bool
}

type eventBus struct {
	mu      sync.Mutex
	o       EventOptions
	rng     *rand.Rand
	now     func() time.Time
	log     *slog.Logger
	client  *http.Client
	queue   []*batch
	pending int
	idle    chan struct{} // open while pending > 0
	seq     int
	events  []Event
	records []Delivery
	stats   DeliveryStats
	started bool
	stopped bool
	paused  bool
	wake    chan struct{}
	ctx     context.Context
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	sem     chan struct{}
}

func normalizeEventOptions(o EventOptions) EventOptions {
	if o.Schema == "" {
		o.Schema = SchemaEventGrid
	}
	if o.CrossSubscription == "" {
		o.CrossSubscription = CrossNone
	}
	if o.SharedLinkWriteAt == "" {
		o.SharedLinkWriteAt = SharedLinkAtAccepted
	}
	if o.MaxEventsPerBatch <= 0 {
		o.MaxEventsPerBatch = 1
	}
	if o.RetryScale <= 0 {
		o.RetryScale = 1
	}
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = 30
	}
	if o.TimeToLive <= 0 {
		o.TimeToLive = 24 * time.Hour
	}
	if o.Timeout <= 0 {
		o.Timeout = 30 * time.Second
	}
	if o.Parallelism <= 0 {
		o.Parallelism = 1
	}
	if o.LogLimit <= 0 {
		o.LogLimit = 10000
	}
	return o
}

// ValidateEventOptions reports a bad schema or cross-subscription mode.
func ValidateEventOptions(o EventOptions) error {
	switch o.Schema {
	case "", SchemaEventGrid, SchemaCloudEvents:
	default:
		return fmt.Errorf("event schema %q: want %s or %s", o.Schema, SchemaEventGrid, SchemaCloudEvents)
	}
	switch o.CrossSubscription {
	case "", CrossNone, CrossResourceNotifications, CrossWriteSuccess:
	default:
		return fmt.Errorf("cross-subscription events %q: want %s, %s or %s", o.CrossSubscription, CrossNone, CrossResourceNotifications, CrossWriteSuccess)
	}
	switch o.SharedLinkWriteAt {
	case "", SharedLinkAtAccepted, SharedLinkAtCompleted:
	default:
		return fmt.Errorf("shared link write event at %q: want %s or %s", o.SharedLinkWriteAt, SharedLinkAtAccepted, SharedLinkAtCompleted)
	}
	if o.Duplicate < 0 || o.Duplicate > 1 {
		return fmt.Errorf("duplicate probability %v not in [0,1]", o.Duplicate)
	}
	return nil
}

func newEventBus(o EventOptions, seed uint64, now func() time.Time, log *slog.Logger) *eventBus {
	o = normalizeEventOptions(o)
	ctx, cancel := context.WithCancel(context.Background())
	return &eventBus{
		o:      o,
		rng:    rand.New(rand.NewPCG(seed, 0x6576656e7473)), // "events"
		now:    now,
		log:    log,
		client: &http.Client{},
		wake:   make(chan struct{}, 1),
		ctx:    ctx,
		cancel: cancel,
		sem:    make(chan struct{}, o.Parallelism),
	}
}

func (b *eventBus) opts() EventOptions {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.o
}

// setOptions replaces the options (Parallelism is fixed at construction).
func (b *eventBus) setOptions(o EventOptions) {
	o = normalizeEventOptions(o)
	b.mu.Lock()
	o.Parallelism = cap(b.sem)
	b.o = o
	b.mu.Unlock()
}

func (b *eventBus) watched(ev Event) bool {
	if len(b.o.Subscriptions) == 0 {
		return true
	}
	return containsFold(b.o.Subscriptions, subscriptionOf(ev.Topic))
}

// publish logs ev and queues it for delivery (never blocks on the sink).
func (b *eventBus) publish(ev Event) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.stats.Emitted++
	b.events = trimLog(append(b.events, ev), b.o.LogLimit)
	if b.stopped || b.o.SinkURL == "" {
		return
	}
	if !b.watched(ev) {
		b.stats.Filtered++
		return
	}
	// Batch with the last queued, not yet attempted batch (events of one
	// write are published back to back), up to MaxEventsPerBatch.
	if n := len(b.queue); n > 0 && b.o.MaxEventsPerBatch > 1 {
		last := b.queue[n-1]
		if last.attempts == 0 && !last.duplicate && len(last.events) < b.o.MaxEventsPerBatch {
			last.events = append(last.events, ev)
			return
		}
	}
	b.enqueueLocked(&batch{events: []Event{ev}, schema: b.o.Schema, sink: b.o.SinkURL, first: time.Now(), due: time.Now()})
}

func (b *eventBus) enqueueLocked(bt *batch) {
	b.seq++
	bt.seq = b.seq
	b.queue = append(b.queue, bt)
	b.stats.Batches++
	if b.pending == 0 {
		b.idle = make(chan struct{})
	}
	b.pending++
	if !b.started {
		b.started = true
		b.wg.Add(1)
		go b.run()
	}
	b.signal()
}

func (b *eventBus) signal() {
	select {
	case b.wake <- struct{}{}:
	default:
	}
}

func (b *eventBus) doneLocked() {
	b.pending--
	if b.pending == 0 && b.idle != nil {
		close(b.idle)
		b.idle = nil
	}
}

// run dispatches due batches; retries wait on a timer (wall clock, not
// Options.Now: tests may freeze the event clock).
func (b *eventBus) run() {
	defer b.wg.Done()
	for {
		b.mu.Lock()
		now := time.Now()
		var due []*batch
		var next time.Time
		rest := b.queue[:0]
		for _, bt := range b.queue {
			if !b.paused && !bt.due.After(now) {
				due = append(due, bt)
				continue
			}
			rest = append(rest, bt)
			if !b.paused && (next.IsZero() || bt.due.Before(next)) {
				next = bt.due
			}
		}
		clear(b.queue[len(rest):])
		b.queue = rest
		if b.o.Shuffle && len(due) > 1 {
			b.rng.Shuffle(len(due), func(i, j int) { due[i], due[j] = due[j], due[i] })
		}
		b.mu.Unlock()
		for _, bt := range due {
			select {
			case b.sem <- struct{}{}:
			case <-b.ctx.Done():
				return
			}
			b.wg.Add(1)
			go func() {
				defer b.wg.Done()
				defer func() { <-b.sem }()
				b.attempt(bt)
			}()
		}
		var timer <-chan time.Time
		var t *time.Timer
		if !next.IsZero() {
			t = time.NewTimer(time.Until(next))
			timer = t.C
		}
		select {
		case <-b.ctx.Done():
			if t != nil {
				t.Stop()
			}
			return
		case <-b.wake:
		case <-timer:
		}
		if t != nil {
			t.Stop()
		}
	}
}

func (b *eventBus) encode(bt *batch) ([]byte, string, error) {
	if bt.schema == SchemaCloudEvents {
		ces := make([]cloudEvent, len(bt.events))
		for i, ev := range bt.events {
			ces[i] = ev.cloud()
		}
		body, err := json.Marshal(ces)
		return body, "application/cloudevents-batch+json; charset=utf-8", err
	}
	body, err := json.Marshal(bt.events)
	return body, "application/json", err
}

func (b *eventBus) attempt(bt *batch) {
	body, ctype, err := b.encode(bt)
	status := 0
	if err == nil {
		ctx, cancel := context.WithTimeout(b.ctx, b.opts().Timeout)
		var req *http.Request
		req, err = http.NewRequestWithContext(ctx, http.MethodPost, bt.sink, bytes.NewReader(body))
		if err == nil {
			req.Header.Set("Content-Type", ctype)
			req.Header.Set("aeg-event-type", "Notification")
			req.Header.Set("aeg-subscription-name", "PLSGATE-EMULATOR")
			req.Header.Set("aeg-delivery-count", strconv.Itoa(bt.attempts))
			req.Header.Set("aeg-metadata-version", "1")
			req.Header.Set("aeg-data-version", bt.events[0].DataVersion)
			var resp *http.Response
			resp, err = b.client.Do(req)
			if err == nil {
				_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
				_ = resp.Body.Close()
				status = resp.StatusCode
			}
		}
		cancel()
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.stopped {
		return
	}
	bt.attempts++
	b.stats.Attempts++
	rec := Delivery{Batch: bt.seq, Attempt: bt.attempts, Duplicate: bt.duplicate, Status: status, At: time.Now()}
	for _, ev := range bt.events {
		rec.EventIDs = append(rec.EventIDs, ev.ID)
		rec.EventTypes = append(rec.EventTypes, ev.EventType)
	}
	if err != nil {
		rec.Error = err.Error()
	}
	switch {
	case err == nil && status >= 200 && status <= 204:
		rec.Outcome = "delivered"
		b.stats.Delivered++
		if !bt.duplicate && b.o.Duplicate > 0 && b.rng.Float64() < b.o.Duplicate {
			b.stats.Duplicates++
			b.enqueueLocked(&batch{events: bt.events, schema: bt.schema, sink: bt.sink, first: time.Now(), due: time.Now(), duplicate: true})
		}
		b.doneLocked()
	case err == nil && (status == 400 || status == 401 || status == 403 || status == 413),
		bt.attempts >= b.o.MaxAttempts,
		time.Since(bt.first) >= time.Duration(float64(b.o.TimeToLive)*b.o.RetryScale):
		rec.Outcome = "dropped"
		b.stats.Dropped++
		b.log.Warn("event delivery dropped", "batch", bt.seq, "attempts", bt.attempts, "status", status, "err", err)
		b.doneLocked()
	default:
		rec.Outcome = "retry"
		b.stats.Retried++
		d := 12 * time.Hour
		if bt.attempts-1 < len(retrySchedule) {
			d = retrySchedule[bt.attempts-1]
		}
		bt.due = time.Now().Add(time.Duration(float64(d) * b.o.RetryScale))
		b.queue = append(b.queue, bt)
		b.signal()
	}
	b.records = trimLog(append(b.records, rec), b.o.LogLimit)
}

func (b *eventBus) setPaused(p bool) {
	b.mu.Lock()
	b.paused = p
	b.mu.Unlock()
	b.signal()
}

func (b *eventBus) waitIdle(ctx context.Context) error {
	for {
		b.mu.Lock()
		ch := b.idle
		b.mu.Unlock()
		if ch == nil {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("wait for event deliveries: %w", ctx.Err())
		}
	}
}

func (b *eventBus) close() {
	b.mu.Lock()
	b.stopped = true
	b.queue = nil
	b.pending = 0
	if b.idle != nil {
		close(b.idle)
		b.idle = nil
	}
	b.mu.Unlock()
	b.cancel()
	b.wg.Wait()
}

func (b *eventBus) snapshot() (events []Event, records []Delivery, stats DeliveryStats) {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := b.stats
	s.Pending = b.pending
	return append([]Event(nil), lastN(b.events, b.o.LogLimit)...), append([]Delivery(nil), lastN(b.records, b.o.LogLimit)...), s
}

// trimLog keeps a log at most 2×limit long, dropping the oldest in one copy
// (amortized O(1) per entry); readers see the last limit entries.
func trimLog[T any](l []T, limit int) []T {
	if len(l) <= 2*limit {
		return l
	}
	return append(l[:0:0], l[len(l)-limit:]...)
}

func lastN[T any](l []T, n int) []T {
	if len(l) > n {
		return l[len(l)-n:]
	}
	return l
}

func (b *eventBus) reset() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.events, b.records = nil, nil
	b.stats = DeliveryStats{}
}

// eventsFor returns the logged events whose type matches (all when types empty).
func eventsFor(evs []Event, types ...string) []Event {
	if len(types) == 0 {
		return evs
	}
	var out []Event
	for _, ev := range evs {
		for _, t := range types {
			if strings.EqualFold(ev.EventType, t) {
				out = append(out, ev)
				break
			}
		}
	}
	return out
}
