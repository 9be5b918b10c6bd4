package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
)

// span is one timed call (an ARM request plsgate made, a Table request, a timer tick).
type span struct {
	Start, End time.Time
	Label      string
}

// handoff is one event as the host emulator received it from Event Grid.
type handoff struct {
	EventID, EventType, Subject string
	EventTime                   time.Time
	Attempt                     int // aeg-delivery-count: 0 on the first attempt
	Start, End                  time.Time
	Status                      int    // the host's answer (202 ok, 500 = Event Grid retries)
	Error                       string // the host's answer when not 2xx (why plsgate failed the invocation)
	Token                       string
	PLS                         int // -1 when the subject names no bench PLS
}

// request is one connection request the bench made.
type request struct {
	Index      int
	Token      string // names its private endpoint or shared private link resource (unique)
	PLS        int    // index in the PLS pool
	Created    time.Time
	Approved   time.Time // when ARM answered plsgate's approving write; zero = never
	Deadline   time.Time
	resourceID string
	done       chan struct{}
}

// recorder collects what the wrappers around the emulators saw.
type recorder struct {
	mu       sync.Mutex
	reqs     map[string]*request // by lower-case token
	arm      []span
	table    []span
	handoffs []handoff
	ticks    []span
	inFlight int       // deliveries the host is processing
	lastEnd  time.Time // when the last one ended
}

func newRecorder() *recorder { return &recorder{reqs: map[string]*request{}} }

func (r *recorder) add(req *request) {
	r.mu.Lock()
	r.reqs[strings.ToLower(req.Token)] = req
	r.mu.Unlock()
}

// approve records the first moment ARM said Approved for the request whose
// token the connection name carries.
func (r *recorder) approve(connection string, at time.Time) {
	tok := tokenRE.FindString(connection)
	if tok == "" {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	req := r.reqs[strings.ToLower(tok)]
	if req != nil && req.Approved.IsZero() {
		req.Approved = at
		close(req.done)
	}
}

func (r *recorder) addARM(s span) {
	r.mu.Lock()
	r.arm = append(r.arm, s)
	r.mu.Unlock()
}

func (r *recorder) addTable(s span) {
	r.mu.Lock()
	r.table = append(r.table, s)
	r.mu.Unlock()
}

func (r *recorder) addTick(s span) {
	r.mu.Lock()
	r.ticks = append(r.ticks, s)
	r.mu.Unlock()
}

func (r *recorder) deliveryStarted() {
	r.mu.Lock()
	r.inFlight++
	r.mu.Unlock()
}

func (r *recorder) deliveryEnded(hs []handoff) {
	r.mu.Lock()
	r.handoffs = append(r.handoffs, hs...)
	r.inFlight--
	r.lastEnd = time.Now()
	r.mu.Unlock()
}

// quietFor reports whether no delivery ran during the last d.
func (r *recorder) quietFor(d time.Duration) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.inFlight == 0 && time.Since(r.lastEnd) >= d
}

// snapshot copies the logs for analysis.
func (r *recorder) snapshot() (arm, table, ticks []span, hs []handoff) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]span(nil), r.arm...), append([]span(nil), r.table...), append([]span(nil), r.ticks...), append([]handoff(nil), r.handoffs...)
}

// Names the bench gives: lb-pls-NNN (the pool), lb-pe-NNNNN / lb-spl-NNNNN
// (one per request; the emulator puts it in the connection name too).
var (
	tokenRE = regexp.MustCompile(`(?i)lb-(?:pe|spl)-\d{5}`)
	plsRE   = regexp.MustCompile(`(?i)/privateLinkServices/lb-pls-(\d{3})(?:/|$)`)
	// connPutRE is plsgate's write of one connection (the approval).
	connPutRE = regexp.MustCompile(`(?i)^(/subscriptions/[^/]+/resourceGroups/[^/]+/providers/Microsoft\.Network/privateLinkServices/[^/]+)/privateEndpointConnections/([^/]+)$`)
)

const maxErrBody = 4096

// statusWriter notes the status and keeps the start of a non-2xx body.
type statusWriter struct {
	http.ResponseWriter
	status  int
	errBody []byte
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	if w.status/100 != 2 && len(w.errBody) < maxErrBody {
		w.errBody = append(w.errBody, b[:min(len(b), maxErrBody-len(w.errBody))]...)
	}
	return w.ResponseWriter.Write(b)
}

// armHandler times every ARM request (only plsgate sends HTTP requests to
// the emulator: the bench acts through its Go API) and notes when a
// connection write leaves the connection Approved — "ARM says Approved".
func armHandler(next http.Handler, rec *recorder, status func(plsID, conn string) string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r)
		end := time.Now()
		rec.addARM(span{Start: start, End: end, Label: armLabel(r)})
		if r.Method == http.MethodPut && sw.status/100 == 2 {
			if m := connPutRE.FindStringSubmatch(r.URL.Path); m != nil && strings.EqualFold(status(m[1], m[2]), "Approved") {
				rec.approve(m[2], end)
			}
		}
	})
}

// armLabel names an ARM request by method and resource types, e.g.
// "PUT privateLinkServices/privateEndpointConnections", "GET privateLinkServices (list)".
func armLabel(r *http.Request) string {
	segs := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	i := -1
	for j, s := range segs {
		if strings.EqualFold(s, "providers") {
			i = j
		}
	}
	if i < 0 || i+2 > len(segs) {
		return r.Method + " " + r.URL.Path
	}
	rest := segs[i+2:]
	var types []string
	for j := 0; j < len(rest); j += 2 {
		types = append(types, rest[j])
	}
	label := r.Method + " " + strings.Join(types, "/")
	if len(rest)%2 == 1 {
		label += " (list)"
	}
	return label
}

// hostHandler records each Event Grid delivery the host emulator receives:
// the moment an event is handed to the host is where the latency starts.
func hostHandler(next http.Handler, rec *recorder) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || !strings.HasPrefix(r.URL.Path, "/runtime/webhooks/eventgrid") ||
			r.Header.Get("aeg-event-type") != "Notification" {
			next.ServeHTTP(w, r)
			return
		}
		start := time.Now()
		rec.deliveryStarted()
		body, err := io.ReadAll(r.Body)
		if err != nil {
			rec.deliveryEnded(nil)
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		attempt, _ := strconv.Atoi(r.Header.Get("aeg-delivery-count"))
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r)
		end := time.Now()
		var evs []struct {
			ID        string    `json:"id"`
			EventType string    `json:"eventType"`
			Subject   string    `json:"subject"`
			EventTime time.Time `json:"eventTime"`
		}
		_ = json.Unmarshal(body, &evs) // Event Grid schema (the bench's choice)
		hs := make([]handoff, 0, len(evs))
		for _, ev := range evs {
			h := handoff{EventID: ev.ID, EventType: ev.EventType, Subject: ev.Subject, EventTime: ev.EventTime,
				Attempt: attempt, Start: start, End: end, Status: sw.status, Error: strings.TrimSpace(string(sw.errBody)), Token: strings.ToLower(tokenRE.FindString(ev.Subject)), PLS: -1}
			if m := plsRE.FindStringSubmatch(ev.Subject); m != nil {
				h.PLS, _ = strconv.Atoi(m[1])
			}
			hs = append(hs, h)
		}
		rec.deliveryEnded(hs)
	})
}

// timedTransport times the Table requests plsgate makes (the bench's proxy
// in front of Azurite), until the response body is read or closed.
type timedTransport struct {
	rec    *recorder
	base   http.RoundTripper
	prefix string
}

func (t *timedTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	start := time.Now()
	label := tableLabel(r, t.prefix)
	resp, err := t.base.RoundTrip(r)
	if err != nil {
		t.rec.addTable(span{Start: start, End: time.Now(), Label: label})
		return nil, err
	}
	resp.Body = &timedBody{ReadCloser: resp.Body, done: func() { t.rec.addTable(span{Start: start, End: time.Now(), Label: label}) }}
	return resp, nil
}

type timedBody struct {
	io.ReadCloser
	once sync.Once
	done func()
}

func (b *timedBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err != nil {
		b.once.Do(b.done)
	}
	return n, err
}

func (b *timedBody) Close() error {
	b.once.Do(b.done)
	return b.ReadCloser.Close()
}

// tableLabel names a Table request by method and table, e.g. "GET
// connections(entity)", "GET connections" (a query), "POST $batch".
func tableLabel(r *http.Request, prefix string) string {
	p := r.URL.Path
	if i := strings.LastIndex(p, "/"); i >= 0 {
		p = p[i+1:]
	}
	name, rest, paren := strings.Cut(p, "(")
	if len(name) > len(prefix) && strings.EqualFold(name[:len(prefix)], prefix) {
		name = name[len(prefix):]
	}
	if paren && strings.Contains(rest, "PartitionKey") {
		name += "(entity)"
	}
	return r.Method + " " + name
}
