package handler

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"runtime/debug"
	"strings"
	"sync"
	"time"
)

// Defaults. Event deadlines stay under Event Grid's 30 s response window so a slow
// invocation fails (and is redelivered) rather than being abandoned mid-way; the timer
// deadline stays under host.json's functionTimeout (10 min); HTTP under the 230 s cap.
const (
	DefaultMaxBodyBytes    = 4 << 20
	DefaultEventTimeout    = 25 * time.Second
	DefaultTimerTimeout    = 9 * time.Minute
	DefaultHTTPTimeout     = 2 * time.Minute
	DefaultShutdownTimeout = 20 * time.Second
)

// Port is FUNCTIONS_CUSTOMHANDLER_PORT (set by the host), or "8080" for local runs.
func Port() string {
	if p := os.Getenv("FUNCTIONS_CUSTOMHANDLER_PORT"); p != "" {
		return p
	}
	return "8080"
}

// EventFunc handles one Event Grid event: the raw JSON object, already unwrapped when the
// host sent it as a string. Returning nil acknowledges; an error fails the invocation and
// Event Grid redelivers the whole batch.
type EventFunc func(ctx context.Context, inv *Invocation, event json.RawMessage) error

// TimerFunc handles one timer tick. An error fails the invocation (the next tick runs anyway).
type TimerFunc func(ctx context.Context, inv *Invocation, info TimerInfo) error

// Options configure a Server. Zero values pick the defaults.
type Options struct {
	// Addr to listen on; default 127.0.0.1:Port(): the host always calls over loopback.
	Addr string
	// MaxBodyBytes limits an invocation body; default DefaultMaxBodyBytes.
	MaxBodyBytes int64
	// Logger for protocol and invocation logs; default slog.Default().
	Logger *slog.Logger
	// ShutdownTimeout bounds how long in-flight invocations may finish after the serve
	// context ends; default DefaultShutdownTimeout.
	ShutdownTimeout time.Duration
}

type kind uint8

const (
	kindEvent kind = iota + 1
	kindTimer
	kindHTTP
)

type registration struct {
	name       string
	kind       kind
	binding    string
	resBinding string
	timeout    time.Duration
	event      EventFunc
	timer      TimerFunc
	http       http.Handler
}

// Server routes host invocations to the registered functions.
type Server struct {
	opts Options
	log  *slog.Logger

	mu    sync.RWMutex
	funcs map[string]*registration
}

// New returns a Server with no functions registered.
func New(o Options) *Server {
	if o.MaxBodyBytes <= 0 {
		o.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.ShutdownTimeout <= 0 {
		o.ShutdownTimeout = DefaultShutdownTimeout
	}
	return &Server{opts: o, log: o.Logger, funcs: make(map[string]*registration)}
}

// HandleEvents registers an eventGridTrigger function whose trigger binding is named binding.
// timeout <= 0 means DefaultEventTimeout. Registration errors panic, like http.ServeMux.
func (s *Server) HandleEvents(function, binding string, timeout time.Duration, fn EventFunc) {
	if fn == nil {
		panic("handler: nil EventFunc for " + function)
	}
	s.register(&registration{name: function, kind: kindEvent, binding: binding, timeout: orDefault(timeout, DefaultEventTimeout), event: fn})
}

// HandleTimer registers a timerTrigger function. timeout <= 0 means DefaultTimerTimeout.
func (s *Server) HandleTimer(function, binding string, timeout time.Duration, fn TimerFunc) {
	if fn == nil {
		panic("handler: nil TimerFunc for " + function)
	}
	s.register(&registration{name: function, kind: kindTimer, binding: binding, timeout: orDefault(timeout, DefaultTimerTimeout), timer: fn})
}

// HandleHTTP registers an httpTrigger function: Data.<reqBinding> becomes a *http.Request
// served by h, and h's answer becomes Outputs.<resBinding>. timeout <= 0 means
// DefaultHTTPTimeout. h sees the public path including the route prefix (/api/v1/...).
func (s *Server) HandleHTTP(function, reqBinding, resBinding string, timeout time.Duration, h http.Handler) {
	if h == nil {
		panic("handler: nil http.Handler for " + function)
	}
	if resBinding == "" {
		panic("handler: empty http output binding name for " + function)
	}
	s.register(&registration{name: function, kind: kindHTTP, binding: reqBinding, resBinding: resBinding, timeout: orDefault(timeout, DefaultHTTPTimeout), http: h})
}

func (s *Server) register(f *registration) {
	if f.name == "" || strings.ContainsAny(f.name, "/?#") {
		panic(fmt.Sprintf("handler: invalid function name %q", f.name))
	}
	if f.binding == "" {
		panic("handler: empty trigger binding name for " + f.name)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, dup := s.funcs[f.name]; dup {
		panic("handler: function registered twice: " + f.name)
	}
	s.funcs[f.name] = f
}

func orDefault(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

// Handler returns the protocol endpoint: GET / for readiness, POST /{FunctionName}.
func (s *Server) Handler() http.Handler { return http.HandlerFunc(s.serveHTTP) }

// ListenAndServe listens on Options.Addr and serves until ctx ends, then shuts down
// gracefully (see Serve).
func (s *Server) ListenAndServe(ctx context.Context) error {
	addr := s.opts.Addr
	if addr == "" {
		addr = net.JoinHostPort("127.0.0.1", Port())
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", addr, err)
	}
	return s.Serve(ctx, ln)
}

// Serve serves on ln until ctx ends. It then stops accepting, lets in-flight invocations
// finish for up to ShutdownTimeout, and cancels the rest. Invocations do not see ctx's
// cancellation before that: a SIGTERM must not abort work that is about to complete.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{
		Handler:           s.Handler(),
		ReadHeaderTimeout: 30 * time.Second,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	s.log.Info("custom handler listening", slog.String("addr", ln.Addr().String()))

	select {
	case err := <-errc:
		return fmt.Errorf("serve on %s: %w", ln.Addr(), err)
	case <-ctx.Done():
	}
	s.log.Info("custom handler shutting down", slog.Duration("timeout", s.opts.ShutdownTimeout))
	sctx, cancel := context.WithTimeout(context.Background(), s.opts.ShutdownTimeout)
	defer cancel()
	err := srv.Shutdown(sctx)
	if err != nil {
		_ = srv.Close()
		err = fmt.Errorf("shutdown: in-flight invocations did not finish within %s: %w", s.opts.ShutdownTimeout, err)
	}
	if serr := <-errc; serr != nil && !errors.Is(serr, http.ErrServerClosed) && err == nil {
		err = fmt.Errorf("serve on %s: %w", ln.Addr(), serr)
	}
	return err
}

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/" {
		// Readiness: the host only needs an answer. No work here, ever.
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			WriteError(w, &Error{Status: http.StatusMethodNotAllowed, Code: "MethodNotAllowed", Message: "use GET / for readiness"})
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("ok\n"))
		return
	}
	name := strings.TrimPrefix(r.URL.Path, "/")
	s.mu.RLock()
	fn := s.funcs[name]
	s.mu.RUnlock()
	if fn == nil {
		WriteError(w, &Error{Status: http.StatusNotFound, Code: "FunctionNotFound", Message: fmt.Sprintf("no function %q is registered", name)})
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "POST")
		WriteError(w, &Error{Status: http.StatusMethodNotAllowed, Code: "MethodNotAllowed", Message: "invocations are POST /" + fn.name})
		return
	}
	s.invoke(w, r, fn)
}

func (s *Server) invoke(w http.ResponseWriter, r *http.Request, fn *registration) {
	start := time.Now()
	limit := s.opts.MaxBodyBytes
	if r.ContentLength > limit {
		s.answerTooLarge(w, r, fn, limit)
		return
	}
	buf := getBuffer()
	defer putBuffer(buf)
	if _, err := buf.ReadFrom(http.MaxBytesReader(w, r.Body, limit)); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			s.answerTooLarge(w, r, fn, limit)
			return
		}
		WriteError(w, &Error{Status: http.StatusBadRequest, Code: "BadRequest", Message: "read invocation body: " + err.Error()})
		return
	}
	req, err := DecodeInvokeRequest(buf.Bytes())
	if err != nil {
		WriteError(w, &Error{Status: http.StatusBadRequest, Code: "BadRequest", Message: err.Error()})
		return
	}

	var sys Sys
	sysErr := error(nil)
	if raw, ok := req.Metadata["sys"]; ok {
		sysErr = json.Unmarshal(raw, &sys)
	}
	id := firstValue(r.Header, invocationIDHeader)
	if id == "" {
		id = sys.RandGuid
	}
	if id == "" {
		id = newID()
	}
	inv := &Invocation{
		ID:           id,
		FunctionName: fn.name,
		Sys:          sys,
		Metadata:     req.Metadata,
		Logger:       s.log.With(slog.String("invocationId", id), slog.String("function", fn.name)),
	}
	if sysErr != nil {
		inv.Logger.Warn("ignoring malformed Metadata.sys", slog.String("error", sysErr.Error()))
	}

	ctx, cancel := context.WithTimeout(withInvocation(r.Context(), inv), fn.timeout)
	defer cancel()
	outputs, perr, err := s.run(ctx, inv, fn, req.Data)
	elapsed := slog.Int64("durationMs", time.Since(start).Milliseconds())

	switch {
	case perr != nil:
		inv.Logger.Error("invocation rejected", slog.String("code", perr.Code), slog.String("error", perr.Message), elapsed)
		WriteError(w, perr)
	case err != nil:
		code := "FunctionFailed"
		var pe panicError
		switch {
		case errors.As(err, &pe):
			code = "Panic"
		case errors.Is(err, context.DeadlineExceeded) && ctx.Err() != nil:
			code = "DeadlineExceeded"
		}
		inv.Logger.Error("invocation failed", slog.String("code", code), slog.String("error", err.Error()), elapsed)
		writeJSON(w, http.StatusInternalServerError, InvokeResponse{
			Outputs: map[string]json.RawMessage{},
			Logs:    inv.Logs(),
			Error:   &ErrorDetail{Code: code, Message: err.Error()},
		})
	default:
		inv.Logger.Info("invocation succeeded", elapsed)
		if outputs == nil {
			outputs = map[string]json.RawMessage{}
		}
		writeJSON(w, http.StatusOK, InvokeResponse{Outputs: outputs, Logs: inv.Logs()})
	}
}

// invocationIDHeader is X-Azure-Functions-InvocationId in canonical form, so the lookup
// needs no canonicalization (and no allocation).
const invocationIDHeader = "X-Azure-Functions-Invocationid"

func firstValue(h http.Header, canonicalKey string) string {
	if v := h[canonicalKey]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// maxDrainBytes bounds how much of an oversized HTTP-trigger invocation is read and thrown
// away. The host admits request bodies up to 100 MB unless FUNCTIONS_REQUEST_BODY_SIZE_LIMIT
// says otherwise (azure-functions-host WebHost/Middleware/HttpRequestSizeMiddleware.cs,
// DefaultRequestBodySize = 104857600), and the envelope repeats a JSON object body's properties
// in Metadata; past this bound the connection is simply closed.
const maxDrainBytes = 256 << 20

// answerTooLarge answers an invocation whose body exceeds limit. For an event or a timer the
// invocation fails (413). For an HTTP trigger the oversized part is the caller's request body,
// and a failed invocation would reach the caller as the host's bare 500 (a non-2xx answer fails
// the invocation and no output is bound: azure-functions-host DefaultHttpWorkerService, see
// /work/shared/azure-facts.md §1). So the invocation succeeds and its http output is a 413 JSON
// error. The rest of the body is drained first (bounded) so the host, which sends the whole
// envelope before it reads the answer, gets that answer on an intact connection.
func (s *Server) answerTooLarge(w http.ResponseWriter, r *http.Request, fn *registration, limit int64) {
	log := s.log.With(slog.String("function", fn.name))
	if id := firstValue(r.Header, invocationIDHeader); id != "" {
		log = log.With(slog.String("invocationId", id))
	}
	if fn.kind != kindHTTP {
		log.Error("invocation rejected", slog.String("code", "RequestTooLarge"), slog.Int64("limitBytes", limit))
		WriteError(w, tooLarge(limit))
		return
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(r.Body, maxDrainBytes))
	log.Warn("http request body too large: answered 413", slog.Int64("limitBytes", limit))
	rec := &recorder{header: make(http.Header)}
	rec.Header().Set("X-Content-Type-Options", "nosniff")
	rec.Header().Set("Cache-Control", "no-store")
	WriteError(rec, &Error{Status: http.StatusRequestEntityTooLarge, Code: "RequestTooLarge", Message: "the request body is too large"})
	out, err := marshalNoEscape(rec.result())
	if err != nil { // cannot happen: strings only
		WriteError(w, tooLarge(limit))
		return
	}
	writeJSON(w, http.StatusOK, InvokeResponse{
		Outputs: map[string]json.RawMessage{fn.resBinding: out},
		Logs:    []string{fmt.Sprintf("request body too large (invocation over %d bytes): answered 413", limit)},
	})
}

func tooLarge(limit int64) *Error {
	return &Error{Status: http.StatusRequestEntityTooLarge, Code: "RequestTooLarge", Message: fmt.Sprintf("invocation body exceeds %d bytes", limit)}
}

// panicError marks a recovered panic: the invocation fails, the process lives on.
type panicError struct{ v any }

func (p panicError) Error() string { return fmt.Sprintf("panic: %v", p.v) }

// run decodes the trigger value and calls the function. A payload the function cannot be
// called with comes back as perr (answered 400); a function failure as err (answered 500).
func (s *Server) run(ctx context.Context, inv *Invocation, fn *registration, data map[string]json.RawMessage) (outputs map[string]json.RawMessage, perr *Error, err error) {
	raw, ok := data[fn.binding]
	if !ok {
		return nil, &Error{Status: http.StatusBadRequest, Code: "BadRequest", Message: fmt.Sprintf("Data has no %q binding", fn.binding)}, nil
	}
	defer func() {
		if v := recover(); v != nil {
			inv.Logger.Error("function panicked", slog.Any("panic", v), slog.String("stack", string(debug.Stack())))
			outputs, err = nil, panicError{v}
		}
	}()
	switch fn.kind {
	case kindEvent:
		ev, derr := DecodeEvent(raw)
		if derr != nil {
			return nil, badBinding(fn.binding, derr), nil
		}
		return nil, nil, fn.event(ctx, inv, ev)
	case kindTimer:
		info, derr := DecodeTimerInfo(raw)
		if derr != nil {
			return nil, badBinding(fn.binding, derr), nil
		}
		return nil, nil, fn.timer(ctx, inv, info)
	default:
		return serveHTTPTrigger(ctx, fn, raw)
	}
}

func badBinding(binding string, err error) *Error {
	return &Error{Status: http.StatusBadRequest, Code: "BadRequest", Message: fmt.Sprintf("Data.%s: %v", binding, err)}
}

func serveHTTPTrigger(ctx context.Context, fn *registration, raw json.RawMessage) (map[string]json.RawMessage, *Error, error) {
	hr, err := DecodeHTTPRequest(raw)
	if err != nil {
		return nil, badBinding(fn.binding, err), nil
	}
	req, err := hr.Request(ctx)
	if err != nil {
		return nil, badBinding(fn.binding, err), nil
	}
	rec := &recorder{header: make(http.Header)}
	fn.http.ServeHTTP(rec, req)
	out, err := marshalNoEscape(rec.result())
	if err != nil {
		return nil, nil, fmt.Errorf("encode http output %s: %w", fn.resBinding, err)
	}
	return map[string]json.RawMessage{fn.resBinding: out}, nil, nil
}

// newID returns a random id when neither the header nor sys.RandGuid gave one.
func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// Buffers are pooled for request bodies and answers; big ones are not kept.
var bufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

const maxPooledBuffer = 1 << 20

func getBuffer() *bytes.Buffer { return bufPool.Get().(*bytes.Buffer) }

func putBuffer(b *bytes.Buffer) {
	if b.Cap() > maxPooledBuffer {
		return
	}
	b.Reset()
	bufPool.Put(b)
}
