package hostemu

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// maxAnswerBytes bounds how much of a handler answer the emulator reads.
const maxAnswerBytes = 64 << 20

// Invocation records one invocation as the host saw it.
type Invocation struct {
	Function string
	ID       string
	// Request is the body posted to the handler.
	Request []byte
	// Status is the handler's HTTP status; 0 when the handler was not reached.
	Status int
	// Logs are the handler's Logs; nil when the invocation failed (the host drops them).
	Logs []string
	// Outputs as answered (only for a successful invocation).
	Outputs map[string]json.RawMessage
	// Err is nil when the invocation succeeded.
	Err      error
	Duration time.Duration
}

// httpOutput is a validated http output binding value.
type httpOutput struct {
	status  int
	headers map[string]string
	body    []byte
}

type envelope struct {
	Data     map[string]json.RawMessage `json:"Data"`
	Metadata map[string]json.RawMessage `json:"Metadata"`
}

// invoke posts one invocation to the handler and applies the host's answer rules.
func (h *Host) invoke(ctx context.Context, fn *function, data, meta map[string]json.RawMessage) (Invocation, *httpOutput) {
	start := time.Now()
	inv := Invocation{Function: fn.name, ID: h.opts.NewGUID()}
	var out *httpOutput
	inv.Request, inv.Err = marshal(envelope{Data: data, Metadata: meta})
	if inv.Err == nil {
		inv.Status, inv.Logs, inv.Outputs, out, inv.Err = h.post(ctx, fn, inv.ID, inv.Request)
	}
	inv.Duration = time.Since(start)

	log := h.opts.Logger.With(slog.String("function", fn.name), slog.String("invocationId", inv.ID))
	if inv.Err != nil {
		inv.Logs, inv.Outputs, out = nil, nil, nil
		log.Error("invocation failed", slog.Int("handlerStatus", inv.Status), slog.String("error", inv.Err.Error()))
	} else {
		for _, line := range inv.Logs {
			log.Info(line)
		}
		log.Debug("invocation succeeded", slog.Duration("duration", inv.Duration))
	}
	if h.opts.OnInvocation != nil {
		h.opts.OnInvocation(inv)
	}
	return inv, out
}

func (h *Host) post(ctx context.Context, fn *function, id string, body []byte) (status int, logs []string, outputs map[string]json.RawMessage, out *httpOutput, err error) {
	ctx, cancel := context.WithTimeout(ctx, h.functionTimeout+time.Minute)
	defer cancel()
	// NopCloser hides the length: the host streams the body chunked.
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, h.handlerURL+"/"+fn.name, io.NopCloser(bytes.NewReader(body)))
	if err != nil {
		return 0, nil, nil, nil, fmt.Errorf("build invocation request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	req.Header.Set("X-Azure-Functions-HostVersion", h.opts.HostVersion)
	req.Header.Set("X-Azure-Functions-InvocationId", id)
	req.Header.Set("User-Agent", "Azure-Functions-Host/"+h.opts.HostVersion)
	req.Header.Set("traceparent", traceparent())

	resp, err := h.opts.Client.Do(req)
	if err != nil {
		return 0, nil, nil, nil, fmt.Errorf("call handler: %w", err)
	}
	defer resp.Body.Close()
	answer, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswerBytes))
	if err != nil {
		return resp.StatusCode, nil, nil, nil, fmt.Errorf("read handler answer: %w", err)
	}
	logs, outputs, out, err = h.checkAnswer(fn, resp, answer)
	return resp.StatusCode, logs, outputs, out, err
}

// checkAnswer applies the rules of DefaultHttpWorkerService and
// HttpScriptInvocationResultExtensions.
func (h *Host) checkAnswer(fn *function, resp *http.Response, answer []byte) ([]string, map[string]json.RawMessage, *httpOutput, error) {
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, nil, nil, fmt.Errorf("handler answered %d (non-2xx fails the invocation; its Logs are dropped): %s", resp.StatusCode, snippet(answer))
	}
	ct := resp.Header.Get("Content-Type")
	mt, _, perr := mime.ParseMediaType(ct)
	if perr != nil || (mt != "application/json" && mt != "text/json") {
		return nil, nil, nil, fmt.Errorf("handler answered Content-Type %q: the host only reads application/json answers", ct)
	}
	var res struct {
		Outputs     map[string]json.RawMessage `json:"Outputs"`
		Logs        []string                   `json:"Logs"`
		ReturnValue json.RawMessage            `json:"ReturnValue"`
	}
	if b := bytes.TrimSpace(answer); len(b) == 0 || b[0] != '{' {
		return nil, nil, nil, fmt.Errorf("handler answer is not a JSON object: %s", snippet(answer))
	}
	if err := json.Unmarshal(answer, &res); err != nil {
		return nil, nil, nil, fmt.Errorf("handler answer does not decode as {Outputs, Logs, ReturnValue}: %w", err)
	}
	for k := range res.Outputs {
		if !fn.hasOutput(k) {
			return nil, nil, nil, fmt.Errorf("Outputs key %q is not an output binding of %s (declared: %s)", k, fn.name, fn.outputNames())
		}
	}
	var out *httpOutput
	if fn.trigger.Type == "httpTrigger" {
		name := fn.outputs[0].Name
		raw, ok := res.Outputs[name]
		if !ok {
			return nil, nil, nil, fmt.Errorf("answer has no Outputs.%s for the http output binding", name)
		}
		o, err := parseHTTPOutput(raw)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("Outputs.%s: %w", name, err)
		}
		out = o
	}
	return res.Logs, res.Outputs, out, nil
}

func (fn *function) hasOutput(name string) bool {
	for _, o := range fn.outputs {
		if o.Name == name {
			return true
		}
	}
	return false
}

func (fn *function) outputNames() string {
	if len(fn.outputs) == 0 {
		return "none"
	}
	names := make([]string, len(fn.outputs))
	for i, o := range fn.outputs {
		names[i] = o.Name
	}
	return strings.Join(names, ", ")
}

// parseHTTPOutput validates an http output value like HttpOutputBindingResponse with
// Required.Always on StatusCode, Status, Body and Headers (JSON.NET matches names
// case-insensitively). The value may also be a JSON string holding that object.
func parseHTTPOutput(raw json.RawMessage) (*httpOutput, error) {
	b := bytes.TrimSpace(raw)
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return nil, err
		}
		b = []byte(s)
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(b, &obj); err != nil || obj == nil {
		return nil, fmt.Errorf("http output is not a JSON object: %s", snippet(raw))
	}
	get := func(name string) (json.RawMessage, error) {
		for k, v := range obj {
			if strings.EqualFold(k, name) {
				if string(bytes.TrimSpace(v)) == "null" {
					return nil, fmt.Errorf("http output property %q is null", name)
				}
				return v, nil
			}
		}
		return nil, fmt.Errorf("http output lacks %q (the host requires statusCode, status, body and headers)", name)
	}
	rawCode, err := get("statusCode")
	if err != nil {
		return nil, err
	}
	rawStatus, err := get("status")
	if err != nil {
		return nil, err
	}
	rawBody, err := get("body")
	if err != nil {
		return nil, err
	}
	rawHeaders, err := get("headers")
	if err != nil {
		return nil, err
	}
	code, err := statusValue(rawCode)
	if err != nil {
		return nil, fmt.Errorf("statusCode: %w", err)
	}
	if _, err := statusValue(rawStatus); err != nil {
		return nil, fmt.Errorf("status: %w", err)
	}
	var hdrs map[string]json.RawMessage
	if err := json.Unmarshal(rawHeaders, &hdrs); err != nil {
		return nil, fmt.Errorf("headers is not an object: %w", err)
	}
	out := &httpOutput{status: code, headers: make(map[string]string, len(hdrs))}
	for k, v := range hdrs {
		var s string
		if err := json.Unmarshal(v, &s); err != nil {
			return nil, fmt.Errorf("header %q: value must be a string, got %s", k, snippet(v))
		}
		out.headers[k] = s
	}
	if rb := bytes.TrimSpace(rawBody); len(rb) > 0 && rb[0] == '"' {
		var s string
		if err := json.Unmarshal(rb, &s); err != nil {
			return nil, fmt.Errorf("body: %w", err)
		}
		out.body = []byte(s)
	} else {
		out.body = rb
	}
	return out, nil
}

// statusValue accepts "200" or 200, in the range of HTTP status codes.
func statusValue(raw json.RawMessage) (int, error) {
	var text string
	if err := json.Unmarshal(raw, &text); err != nil {
		text = string(bytes.TrimSpace(raw))
	}
	n, err := strconv.Atoi(text)
	if err != nil || n < 100 || n > 599 {
		return 0, errors.New("not an HTTP status code: " + snippet(raw))
	}
	return n, nil
}

func snippet(b []byte) string {
	const max = 300
	s := strings.TrimSpace(string(b))
	if len(s) > max {
		return s[:max] + "…"
	}
	return s
}
