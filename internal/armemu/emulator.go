package armemu

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"
)

// Defaults for identities the emulated Azure uses.
const (
	DefaultTenantID            = "72f988bf-0000-4000-8000-00000000aaaa"
	DefaultServiceSubscription = "5e7a2b1c-0000-4000-8000-0000000bbbbb" // the Web PubSub managed environment
	DefaultServiceTenantID     = "33e01921-0000-4000-8000-00000000cccc"
	DefaultPageSize            = 100
)

// Options configures an Emulator. The zero value is usable.
type Options struct {
	Addr                string // Start() listens here; default "127.0.0.1:0"
	TenantID            string // tenant of every subscription not in World.Tenants; default DefaultTenantID
	ServiceSubscription string // subscription of Web PubSub's managed private endpoints
	ServiceTenantID     string // tenant of ServiceSubscription
	// Seed drives every random choice of the ARM side (GUIDs, etags, link
	// identifiers) so a sequential test sees the same bodies on every run.
	Seed uint64
	// PageSize is the list page size; EmptyPages empty pages (each with a
	// nextLink) are served before every non-empty page, as ARM sometimes does.
	PageSize   int
	EmptyPages int
	LRO        LROOptions
	// SharedLinkStatusDelay is how long a shared private link resource's
	// status lags its PLS connection (real Web PubSub: minutes). 0 = at once.
	SharedLinkStatusDelay time.Duration
	Events                EventOptions
	Now                   func() time.Time // default time.Now
	Logger                *slog.Logger     // default discards
}

// LROOptions shapes long-running operations (shared private link resource PUT
// and DELETE, private endpoint PUT/DELETE, connection DELETE).
type LROOptions struct {
	// InProgressPolls is how many status polls answer InProgress before the
	// operation completes; MinDuration is the least time it stays in progress.
	InProgressPolls int
	MinDuration     time.Duration
	// RetryAfter, in seconds, is sent as Retry-After on LRO answers (ARM sends
	// one; azcore then waits that long). 0 = header omitted.
	RetryAfter int
}

// Emulator is an in-memory ARM (Microsoft.Network private link services and
// private endpoints, Web PubSub shared private link resources, optionally
// Resource Graph) plus an Event Grid delivery emulation. Safe for concurrent use.
type Emulator struct {
	opts Options
	log  *slog.Logger
	now  func() time.Time

	mu         sync.RWMutex // guards st, ops, timers, closed, paging
	st         *store
	ops        map[string]*operation
	splOps     map[string]*operation // key(shared link ID) → its latest operation
	timers     map[*time.Timer]struct{}
	closed     bool
	pageSize   int
	emptyPages int

	rngLock sync.Mutex // guards rng
	rng     *rand.Rand

	cmu     sync.Mutex // guards calls, faulted
	calls   map[string]int
	faulted map[string]int

	faults *faultInjector
	bus    *eventBus

	smu sync.Mutex // guards srv, url
	srv *http.Server
	url string
}

// New builds an emulator with an empty world.
func New(o Options) *Emulator {
	if o.Addr == "" {
		o.Addr = "127.0.0.1:0"
	}
	if o.TenantID == "" {
		o.TenantID = DefaultTenantID
	}
	if o.ServiceSubscription == "" {
		o.ServiceSubscription = DefaultServiceSubscription
	}
	if o.ServiceTenantID == "" {
		o.ServiceTenantID = DefaultServiceTenantID
	}
	if o.PageSize <= 0 {
		o.PageSize = DefaultPageSize
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	e := &Emulator{
		opts:       o,
		log:        o.Logger,
		now:        o.Now,
		st:         newStore(),
		ops:        map[string]*operation{},
		splOps:     map[string]*operation{},
		rng:        rand.New(rand.NewPCG(o.Seed, 0x61726d656d75)), // "armemu"
		timers:     map[*time.Timer]struct{}{},
		pageSize:   o.PageSize,
		emptyPages: o.EmptyPages,
		calls:      map[string]int{},
		faulted:    map[string]int{},
		faults:     newFaultInjector(),
	}
	e.bus = newEventBus(o.Events, o.Seed, o.Now, o.Logger)
	return e
}

// Handler serves ARM requests and the /_emulator/ control endpoints.
func (e *Emulator) Handler() http.Handler { return http.HandlerFunc(e.serveHTTP) }

// Start listens on Options.Addr (127.0.0.1:0 by default) and serves in the
// background. It returns the base URL, e.g. "http://127.0.0.1:41234".
func (e *Emulator) Start() (string, error) {
	e.smu.Lock()
	defer e.smu.Unlock()
	if e.srv != nil {
		return e.url, nil
	}
	ln, err := net.Listen("tcp", e.opts.Addr)
	if err != nil {
		return "", fmt.Errorf("start arm emulator on %s: %w", e.opts.Addr, err)
	}
	e.srv = &http.Server{Handler: e.Handler(), ReadHeaderTimeout: 10 * time.Second}
	e.url = "http://" + ln.Addr().String()
	go func() {
		if err := e.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			e.log.Error("arm emulator stopped", "err", err)
		}
	}()
	return e.url, nil
}

// URL is the base URL after Start ("" before).
func (e *Emulator) URL() string {
	e.smu.Lock()
	defer e.smu.Unlock()
	return e.url
}

// Close stops the server, pending event deliveries and status timers.
func (e *Emulator) Close() {
	e.smu.Lock()
	srv := e.srv
	e.smu.Unlock()
	if srv != nil {
		_ = srv.Close()
	}
	e.mu.Lock()
	e.closed = true
	for t := range e.timers {
		t.Stop()
	}
	e.timers = map[*time.Timer]struct{}{}
	e.mu.Unlock()
	e.bus.close()
}

// Counters returns the number of ARM requests per REST operationId since the
// last reset, every request counted (also 401s and injected faults).
func (e *Emulator) Counters() map[string]int {
	e.cmu.Lock()
	defer e.cmu.Unlock()
	return copyCounts(e.calls)
}

// FaultCounters returns how many faults were injected per operationId.
func (e *Emulator) FaultCounters() map[string]int {
	e.cmu.Lock()
	defer e.cmu.Unlock()
	return copyCounts(e.faulted)
}

// ResetCounters zeroes the call and fault counters.
func (e *Emulator) ResetCounters() {
	e.cmu.Lock()
	e.calls = map[string]int{}
	e.faulted = map[string]int{}
	e.cmu.Unlock()
}

// SetPaging changes the list page size and the number of empty pages.
func (e *Emulator) SetPaging(pageSize, emptyPages int) {
	if pageSize <= 0 {
		pageSize = DefaultPageSize
	}
	e.mu.Lock()
	e.pageSize, e.emptyPages = pageSize, max(emptyPages, 0)
	e.mu.Unlock()
}

func copyCounts(m map[string]int) map[string]int {
	out := make(map[string]int, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func (e *Emulator) count(op string) {
	e.cmu.Lock()
	e.calls[op]++
	e.cmu.Unlock()
}

// call is one ARM request being served.
type call struct {
	w             http.ResponseWriter
	r             *http.Request
	op            string
	p             params
	apiVersion    string
	base          string // scheme://host of the emulator as the client sees it
	token, tenant string
	correlationID string
}

const maxBody = 4 << 20

func (e *Emulator) serveHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, "/_emulator/") || r.URL.Path == "/_emulator" {
		e.serveControl(w, r)
		return
	}
	rt, p := matchRoute(r.URL.EscapedPath())
	op := OpUnknown
	var h handlerFunc
	if rt != nil {
		if oh, ok := rt.methods[r.Method]; ok {
			op, h = oh.op, oh.fn
		}
	}
	e.count(op)
	c := &call{w: w, r: r, op: op, p: p, base: baseURL(r)}
	w.Header().Set("x-ms-request-id", e.newGUID())
	corr := r.Header.Get("x-ms-correlation-request-id")
	if corr == "" {
		corr = e.newGUID()
	}
	w.Header().Set("x-ms-correlation-request-id", corr)

	tok, tenant, aerr := e.bearer(r)
	if aerr != nil {
		w.Header().Set("WWW-Authenticate", `Bearer authorization_uri="https://login.microsoftonline.com/common", error="invalid_token", error_description="The authentication failed because of missing 'Authorization' header."`)
		writeError(w, aerr)
		return
	}
	c.token, c.tenant, c.correlationID = tok, tenant, corr
	if rt == nil {
		writeError(w, errf(http.StatusNotFound, CodeNotImplementedByEmulator, "The ARM emulator does not serve %s %s.", r.Method, r.URL.Path))
		return
	}
	if h == nil {
		writeError(w, errf(http.StatusMethodNotAllowed, CodeMethodNotAllowed, "The requested resource does not support http method '%s'.", r.Method))
		return
	}
	if err := checkAPIVersion(rt.family, r.URL.Query()); err != nil {
		writeError(w, err)
		return
	}
	c.apiVersion = r.URL.Query().Get("api-version")
	if p.sub != "" {
		if t := e.tenantOf(p.sub); !strings.EqualFold(t, tenant) {
			writeError(w, errf(http.StatusUnauthorized, CodeInvalidTokenTenant,
				"The access token is from the wrong issuer 'https://sts.windows.net/%s/'. It must match the tenant 'https://sts.windows.net/%s/' associated with this subscription.", tenant, t))
			return
		}
	}
	if f := e.faults.decide(op); f != nil {
		if f.latency > 0 {
			select {
			case <-time.After(f.latency):
			case <-r.Context().Done():
				return
			}
		}
		if f.status != 0 {
			e.cmu.Lock()
			e.faulted[op]++
			e.cmu.Unlock()
			writeFault(w, f, p.sub, r)
			return
		}
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	h(e, c)
}

func baseURL(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// --- identity -------------------------------------------------------------

// actor is who made a write, as Event Grid reports it in claims/httpRequest.
type actor struct {
	method, url, clientRequestID, clientIP, correlationID string
	tenantID, principalID, principalType                  string
	claims                                                map[string]string
}

// bearer checks the Authorization header and returns the token and the
// caller's tenant (a JWT's unverified tid, else Options.TenantID). The
// emulator only runs on loopback, so any token is accepted.
func (e *Emulator) bearer(r *http.Request) (string, string, *Error) {
	scheme, tok, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	tok = strings.TrimSpace(tok)
	if !ok || !strings.EqualFold(scheme, "Bearer") || tok == "" {
		return "", "", errf(http.StatusUnauthorized, CodeAuthenticationFailed, "Authentication failed. The 'Authorization' header is missing or not a bearer token.")
	}
	tid := e.opts.TenantID
	if strings.Count(tok, ".") == 2 {
		if t := jwtClaims(tok)["tid"]; t != "" {
			tid = t
		}
	}
	return tok, tid, nil
}

// actorOf builds the identity of a write request (only writes need it: it
// costs a hash and a claims map). A JWT's claims are used as they are; an
// opaque token gets identities derived from its hash (the token itself is
// never stored or logged).
func (e *Emulator) actorOf(c *call) actor {
	r := c.r
	claims := jwtClaims(c.token)
	sum := sha256.Sum256([]byte(c.token))
	derived := guidFromBytes(sum[:16])
	if claims == nil {
		claims = map[string]string{
			"aud":   "https://management.core.windows.net/",
			"iss":   "https://sts.windows.net/" + c.tenant + "/",
			"appid": derived,
			"oid":   derived,
			"tid":   c.tenant,
			"idtyp": "app",
		}
	}
	claims["tid"] = c.tenant
	oid := claims["oid"]
	if oid == "" {
		oid = derived
	}
	claims["http://schemas.microsoft.com/identity/claims/objectidentifier"] = oid
	claims["http://schemas.microsoft.com/identity/claims/tenantid"] = c.tenant
	ptype := "ServicePrincipal"
	if claims["idtyp"] == "user" || claims["upn"] != "" {
		ptype = "User"
	}
	u := *r.URL
	u.Scheme, u.Host = "http", r.Host
	if r.TLS != nil {
		u.Scheme = "https"
	}
	return actor{
		method:          r.Method,
		url:             u.String(),
		clientRequestID: r.Header.Get("x-ms-client-request-id"),
		clientIP:        clientIP(r),
		correlationID:   c.correlationID,
		tenantID:        c.tenant,
		principalID:     oid,
		principalType:   ptype,
		claims:          claims,
	}
}

func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// jwtClaims decodes a JWT payload without verifying it; nil if tok is not one.
// Non-string claim values are kept as their JSON text (claims are string→string
// in Event Grid's ResourceWriteSuccess data).
func jwtClaims(tok string) map[string]string {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return nil
	}
	raw, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return nil
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(raw, &m) != nil {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		var s string
		if json.Unmarshal(v, &s) == nil {
			out[k] = s
		} else {
			out[k] = string(v)
		}
	}
	return out
}

// portalActor is who acts through the Go helpers: a user in the portal.
func (e *Emulator) portalActor(method, resourcePath, apiVersion, tenant string) actor {
	if tenant == "" {
		tenant = e.opts.TenantID
	}
	oid := "a11ce000-0000-4000-8000-000000000001"
	return actor{
		method:          method,
		url:             "https://management.azure.com" + resourcePath + "?api-version=" + apiVersion,
		clientRequestID: e.newGUID(),
		clientIP:        "203.0.113.7",
		correlationID:   e.newGUID(),
		tenantID:        tenant,
		principalID:     oid,
		principalType:   "User",
		claims: map[string]string{
			"aud":   "https://management.core.windows.net/",
			"iss":   "https://sts.windows.net/" + tenant + "/",
			"appid": "c44b4083-3bb0-49c1-b47d-974e53cbdf3c", // Azure Portal
			"name":  "Portal User",
			"upn":   "admin@contoso.example",
			"oid":   oid,
			"tid":   tenant,
			"http://schemas.microsoft.com/identity/claims/objectidentifier": oid,
			"http://schemas.microsoft.com/identity/claims/tenantid":         tenant,
		},
	}
}

// serviceActor is Web PubSub's managed identity acting on the PLS owner's side.
func (e *Emulator) serviceActor(method, resourcePath string) actor {
	t := e.opts.ServiceTenantID
	oid := "5e7a2b1c-0000-4000-8000-00000000d0d0"
	return actor{
		method:        method,
		url:           "https://management.azure.com" + resourcePath + "?api-version=" + latestNetworkVersion,
		correlationID: e.newGUID(),
		clientIP:      "20.42.0.1",
		tenantID:      t,
		principalID:   oid,
		principalType: "ServicePrincipal",
		claims: map[string]string{
			"aud":   "https://management.core.windows.net/",
			"iss":   "https://sts.windows.net/" + t + "/",
			"appid": "cdad765c-f191-43ba-b9f5-7aef392f811d",
			"oid":   oid,
			"tid":   t,
			"idtyp": "app",
			"http://schemas.microsoft.com/identity/claims/objectidentifier": oid,
			"http://schemas.microsoft.com/identity/claims/tenantid":         t,
		},
	}
}

func (e *Emulator) tenantOf(sub string) string {
	e.mu.RLock()
	defer e.mu.RUnlock()
	return e.tenantOfLocked(sub)
}

func (e *Emulator) tenantOfLocked(sub string) string {
	if t, ok := e.st.tenants[strings.ToLower(sub)]; ok {
		return t
	}
	if strings.EqualFold(sub, e.opts.ServiceSubscription) {
		return e.opts.ServiceTenantID
	}
	return e.opts.TenantID
}

// --- random ---------------------------------------------------------------

// newGUID draws from the seeded source (sequential callers get the same
// sequence on every run).
func (e *Emulator) newGUID() string {
	var b [16]byte
	e.rngLock.Lock()
	binary.LittleEndian.PutUint64(b[:8], e.rng.Uint64())
	binary.LittleEndian.PutUint64(b[8:], e.rng.Uint64())
	e.rngLock.Unlock()
	return guidFromBytes(b[:])
}

func (e *Emulator) newLinkIdentifier() string {
	e.rngLock.Lock()
	defer e.rngLock.Unlock()
	return fmt.Sprint(536870912 + e.rng.Uint32N(1<<29)) // 0x20000000..: PROXY v2 LINKID-shaped
}

func (e *Emulator) newETag() string { return `W/"` + e.newGUID() + `"` }

func guidFromBytes(b []byte) string {
	var c [16]byte
	copy(c[:], b)
	c[6] = c[6]&0x0f | 0x40
	c[8] = c[8]&0x3f | 0x80
	var out [36]byte
	hex.Encode(out[0:8], c[0:4])
	out[8] = '-'
	hex.Encode(out[9:13], c[4:6])
	out[13] = '-'
	hex.Encode(out[14:18], c[6:8])
	out[18] = '-'
	hex.Encode(out[19:23], c[8:10])
	out[23] = '-'
	hex.Encode(out[24:], c[10:16])
	return string(out[:])
}

// derivedETag is the etag of a resource never written since seeding: stable
// (a hash of the lower-cased ID), and it costs no memory per resource.
func derivedETag(id string) string {
	h := uint64(14695981039346656037) // FNV-1a over the lower-cased ID
	for i := 0; i < len(id); i++ {
		c := id[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		h ^= uint64(c)
		h *= 1099511628211
	}
	var b [16]byte
	binary.LittleEndian.PutUint64(b[:8], mix64(h))
	binary.LittleEndian.PutUint64(b[8:], mix64(h^0x9E3779B97F4A7C15))
	return `W/"` + guidFromBytes(b[:]) + `"`
}

// mix64 is the splitmix64 finalizer.
func mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xBF58476D1CE4E5B9
	x ^= x >> 27
	x *= 0x94D049BB133111EB
	return x ^ x>>31
}

// --- api-version ----------------------------------------------------------

type family int

const (
	famNetwork family = iota
	famSignalR
	famGraph
)

// Supported api-versions per resource provider. armnetwork/v7 v7.2.0 sends
// 2025-01-01 (privatelinkservices_client.go, privateendpoints_client.go);
// armwebpubsub v1.3.0 sends 2024-03-01; the seed uses 2024-08-01-preview;
// armresourcegraph v0.10.0 sends 2024-04-01.
var apiVersions = map[family][]string{
	famNetwork: {"2023-04-01", "2023-05-01", "2023-06-01", "2023-09-01", "2023-11-01", "2024-01-01",
		"2024-03-01", "2024-05-01", "2024-07-01", "2024-10-01", "2025-01-01", "2025-03-01", "2025-05-01"},
	famSignalR: {"2023-02-01", "2023-03-01-preview", "2023-06-01-preview", "2023-08-01-preview", "2024-01-01-preview",
		"2024-03-01", "2024-04-01-preview", "2024-08-01-preview", "2024-10-01-preview", "2025-01-01-preview"},
	famGraph: {"2021-03-01", "2022-10-01", "2024-04-01"},
}

const latestNetworkVersion = "2025-01-01"

// SupportedAPIVersions lists the accepted api-versions per provider namespace.
func SupportedAPIVersions() map[string][]string {
	return map[string][]string{
		"Microsoft.Network":        slices.Clone(apiVersions[famNetwork]),
		"Microsoft.SignalRService": slices.Clone(apiVersions[famSignalR]),
		"Microsoft.ResourceGraph":  slices.Clone(apiVersions[famGraph]),
	}
}

var apiVersionShape = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}(-preview|-beta|-alpha|-privatepreview)?$`)

func checkAPIVersion(f family, q map[string][]string) *Error {
	vs := q["api-version"]
	if len(vs) == 0 || vs[0] == "" {
		return errf(http.StatusBadRequest, CodeMissingAPIVersion, "The api-version query parameter (?api-version=) is required for all requests.")
	}
	v := vs[0]
	if !apiVersionShape.MatchString(v) {
		return errf(http.StatusBadRequest, CodeInvalidAPIVersion, "The api-version '%s' is invalid. The supported versions are '%s'.", v, strings.Join(apiVersions[f], ","))
	}
	if !slices.Contains(apiVersions[f], v) {
		return errf(http.StatusBadRequest, CodeNoRegisteredProvider, "No registered resource provider found for API version '%s'. The supported api-versions are '%s'.", v, strings.Join(apiVersions[f], ", "))
	}
	return nil
}

// --- responses ------------------------------------------------------------

func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

func writeError(w http.ResponseWriter, err *Error) {
	writeJSON(w, err.Status, errorBody{Error: errorDetail{Code: err.Code, Message: err.Message}})
}

// decodeBody reads a JSON request body into v.
func decodeBody(r *http.Request, v any) *Error {
	data, err := io.ReadAll(r.Body)
	if err != nil {
		return errf(http.StatusBadRequest, CodeInvalidRequestContent, "The request content could not be read: %v", err)
	}
	if len(strings.TrimSpace(string(data))) == 0 {
		return errf(http.StatusBadRequest, CodeInvalidRequestContent, "The request content was invalid and could not be deserialized: the body is empty.")
	}
	if err := json.Unmarshal(data, v); err != nil {
		return errf(http.StatusBadRequest, CodeInvalidRequestContent, "The request content was invalid and could not be deserialized: %v", err)
	}
	return nil
}

// WaitIdle blocks until every queued event delivery finished (delivered,
// dropped or out of attempts) or ctx ends.
func (e *Emulator) WaitIdle(ctx context.Context) error { return e.bus.waitIdle(ctx) }
