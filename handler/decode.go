package handler

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"sort"
	"strings"
)

// maxUnwrap bounds how many JSON string layers a value may be wrapped in. The host wraps
// a string input once more than its content (JsonConvert.SerializeObject, then the
// envelope), so an event bound as a string arrives two layers deep.
const maxUnwrap = 3

// DecodeInvokeRequest decodes the body the host POSTs to /{FunctionName}.
func DecodeInvokeRequest(body []byte) (*InvokeRequest, error) {
	b := bytes.TrimSpace(body)
	if len(b) == 0 || b[0] != '{' {
		return nil, errors.New("decode invocation: body is not a JSON object")
	}
	var req InvokeRequest
	if err := json.Unmarshal(b, &req); err != nil {
		return nil, fmt.Errorf("decode invocation: %w", err)
	}
	return &req, nil
}

// DecodeString decodes a string value of Data or Metadata. The host double-encodes strings
// (the JSON string holds another JSON string literal, quotes included); a value that is not
// double-encoded is returned as is. JSON null is "", a number or boolean its literal text.
// The one ambiguity: a single-encoded string that itself starts and ends with a quote and is
// a valid JSON string literal is unwrapped too; the host never sends that.
func DecodeString(raw json.RawMessage) (string, error) {
	b := bytes.TrimSpace(raw)
	if len(b) == 0 {
		return "", errors.New("decode string: empty value")
	}
	switch b[0] {
	case '"':
	case '{', '[':
		return "", fmt.Errorf("decode string: got a JSON %s", kindOf(b[0]))
	default:
		if !json.Valid(b) {
			return "", errors.New("decode string: invalid JSON")
		}
		if string(b) == "null" {
			return "", nil
		}
		return string(b), nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return "", fmt.Errorf("decode string: %w", err)
	}
	if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' {
		var inner string
		if json.Unmarshal([]byte(s), &inner) == nil {
			return inner, nil
		}
	}
	return s, nil
}

// DecodeEvent returns the raw JSON object of an Event Grid trigger value: Event Grid schema
// or CloudEvents, sent as an object or as a (double-)encoded JSON string of one.
func DecodeEvent(raw json.RawMessage) (json.RawMessage, error) {
	obj, err := unwrapObject(raw)
	if err != nil {
		return nil, fmt.Errorf("decode event: %w", err)
	}
	return obj, nil
}

// DecodeTimerInfo decodes Data.<binding> of a timerTrigger invocation.
func DecodeTimerInfo(raw json.RawMessage) (TimerInfo, error) {
	var ti TimerInfo
	obj, err := unwrapObject(raw)
	if err != nil {
		return ti, fmt.Errorf("decode timer info: %w", err)
	}
	if err := json.Unmarshal(obj, &ti); err != nil {
		return TimerInfo{}, fmt.Errorf("decode timer info: %w", err)
	}
	return ti, nil
}

// DecodeHTTPRequest decodes Data.<binding> of a non-proxied httpTrigger invocation.
func DecodeHTTPRequest(raw json.RawMessage) (*HTTPRequest, error) {
	obj, err := unwrapObject(raw)
	if err != nil {
		return nil, fmt.Errorf("decode http request: %w", err)
	}
	var r HTTPRequest
	if err := json.Unmarshal(obj, &r); err != nil {
		return nil, fmt.Errorf("decode http request: %w", err)
	}
	return &r, nil
}

// UnmarshalJSON accepts every shape hosts and their docs show (see HTTPRequest).
func (r *HTTPRequest) UnmarshalJSON(b []byte) error {
	var aux struct {
		URL        json.RawMessage            `json:"Url"`
		Method     json.RawMessage            `json:"Method"`
		Query      json.RawMessage            `json:"Query"`
		Headers    map[string]json.RawMessage `json:"Headers"`
		Params     json.RawMessage            `json:"Params"`
		Identities json.RawMessage            `json:"Identities"`
		Body       json.RawMessage            `json:"Body"`
	}
	if err := json.Unmarshal(b, &aux); err != nil {
		return err
	}
	var err error
	if r.URL, err = optString(aux.URL); err != nil {
		return fmt.Errorf("Url: %w", err)
	}
	if r.Method, err = optString(aux.Method); err != nil {
		return fmt.Errorf("Method: %w", err)
	}
	if r.Query, err = stringMap(aux.Query); err != nil {
		return fmt.Errorf("Query: %w", err)
	}
	if r.Params, err = stringMap(aux.Params); err != nil {
		return fmt.Errorf("Params: %w", err)
	}
	r.Headers = make(map[string][]string, len(aux.Headers))
	for k, v := range aux.Headers {
		vals, err := headerValues(v)
		if err != nil {
			return fmt.Errorf("Headers[%q]: %w", k, err)
		}
		if vals != nil {
			r.Headers[k] = vals
		}
	}
	r.Identities = nil
	if id := bytes.TrimSpace(aux.Identities); len(id) > 0 && string(id) != "null" {
		r.Identities = id
	}
	r.Body = ""
	if body := bytes.TrimSpace(aux.Body); len(body) > 0 && string(body) != "null" {
		if body[0] == '"' {
			if err := json.Unmarshal(body, &r.Body); err != nil {
				return fmt.Errorf("Body: %w", err)
			}
		} else {
			// Not what hosts send today; keep the JSON text rather than fail.
			r.Body = string(body)
		}
	}
	return nil
}

// Request rebuilds the *http.Request the host received, the way net/http presents a server
// request: URL holds path and query (Host in r.Host), RequestURI is set, route parameters
// are available through r.PathValue, and r.TLS is non-nil for https.
func (r *HTTPRequest) Request(ctx context.Context) (*http.Request, error) {
	if r.Method == "" {
		return nil, errors.New("build http request: no Method")
	}
	u, err := url.Parse(r.URL)
	if err != nil {
		// Never quote the Url: its query may hold the function key (?code=), and this error
		// is logged and answered.
		return nil, errors.New("build http request: Url is not a valid URL")
	}
	target := &url.URL{Path: u.Path, RawPath: u.RawPath, RawQuery: u.RawQuery}
	if target.Path == "" {
		target.Path = "/"
	}
	if target.RawQuery == "" && len(r.Query) > 0 {
		target.RawQuery = encodeQuery(r.Query)
	}
	body := r.bodyBytes()
	var rd io.Reader = http.NoBody
	if len(body) > 0 {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, r.Method, target.String(), rd)
	if err != nil {
		return nil, errors.New("build http request: invalid Method or Url") // see above: no Url
	}
	req.URL = target
	req.RequestURI = target.RequestURI()
	req.Host = u.Host
	for k, vs := range r.Headers {
		switch http.CanonicalHeaderKey(k) {
		case "Host":
			if req.Host == "" && len(vs) > 0 {
				req.Host = vs[0]
			}
		case "Content-Length", "Transfer-Encoding":
			// Describe the body we rebuilt, not the one the host read.
		default:
			for _, v := range vs {
				req.Header.Add(k, v)
			}
		}
	}
	if strings.EqualFold(u.Scheme, "https") {
		req.TLS = &tls.ConnectionState{}
	}
	for k, v := range r.Params {
		req.SetPathValue(k, v)
	}
	return req, nil
}

// bodyBytes returns the request body; the host sends octet-stream and multipart bodies as
// base64 (a byte[] serialized by JSON.NET).
func (r *HTTPRequest) bodyBytes() []byte {
	if r.Body == "" {
		return nil
	}
	if isOctetOrMultipart(firstHeader(r.Headers, "Content-Type")) {
		if b, err := base64.StdEncoding.DecodeString(r.Body); err == nil {
			return b
		}
	}
	return []byte(r.Body)
}

func isOctetOrMultipart(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return false
	}
	return mt == "application/octet-stream" || strings.HasPrefix(mt, "multipart/")
}

func firstHeader(h map[string][]string, name string) string {
	for k, vs := range h {
		if strings.EqualFold(k, name) && len(vs) > 0 {
			return vs[0]
		}
	}
	return ""
}

func encodeQuery(q map[string]string) string {
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(url.QueryEscape(k))
		b.WriteByte('=')
		b.WriteString(url.QueryEscape(q[k]))
	}
	return b.String()
}

// unwrapObject peels up to maxUnwrap JSON string layers and returns a JSON object.
func unwrapObject(raw []byte) ([]byte, error) {
	b := bytes.TrimSpace(raw)
	for range maxUnwrap {
		if len(b) == 0 || b[0] != '"' {
			break
		}
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return nil, err
		}
		b = bytes.TrimSpace([]byte(s))
	}
	if len(b) == 0 {
		return nil, errors.New("empty value")
	}
	if b[0] != '{' {
		return nil, fmt.Errorf("got a JSON %s, want an object", kindOf(b[0]))
	}
	if !json.Valid(b) {
		return nil, errors.New("invalid JSON object")
	}
	return b, nil
}

// stringMap decodes {k: v} where v is a string (else its JSON text); absent or null is an
// empty map, and so is a string holding a JSON object (the docs sample's "Query": "{}").
func stringMap(raw json.RawMessage) (map[string]string, error) {
	obj, err := unwrapOptionalObject(raw)
	if err != nil || obj == nil {
		return map[string]string{}, err
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(obj, &m); err != nil {
		return nil, err
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		v = bytes.TrimSpace(v)
		switch {
		case string(v) == "null":
		case v[0] == '"':
			var s string
			if err := json.Unmarshal(v, &s); err != nil {
				return nil, err
			}
			out[k] = s
		default:
			out[k] = string(v)
		}
	}
	return out, nil
}

func unwrapOptionalObject(raw json.RawMessage) ([]byte, error) {
	b := bytes.TrimSpace(raw)
	if len(b) == 0 || string(b) == "null" {
		return nil, nil
	}
	return unwrapObject(b)
}

// headerValues accepts ["v", ...] (what the host sends) or "v".
func headerValues(raw json.RawMessage) ([]string, error) {
	b := bytes.TrimSpace(raw)
	if len(b) == 0 || string(b) == "null" {
		return nil, nil
	}
	switch b[0] {
	case '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return nil, err
		}
		return []string{s}, nil
	case '[':
		var items []json.RawMessage
		if err := json.Unmarshal(b, &items); err != nil {
			return nil, err
		}
		vals := make([]string, 0, len(items))
		for _, it := range items {
			// Plain strings: header values may legitimately be quoted (ETags), so no
			// double-decoding here.
			it = bytes.TrimSpace(it)
			if len(it) > 0 && it[0] == '"' {
				var s string
				if err := json.Unmarshal(it, &s); err != nil {
					return nil, err
				}
				vals = append(vals, s)
				continue
			}
			vals = append(vals, string(it))
		}
		return vals, nil
	default:
		return nil, fmt.Errorf("got a JSON %s, want a string list", kindOf(b[0]))
	}
}

func kindOf(c byte) string {
	switch c {
	case '{':
		return "object"
	case '[':
		return "array"
	case '"':
		return "string"
	case 't', 'f':
		return "boolean"
	case 'n':
		return "null"
	default:
		return "number"
	}
}
