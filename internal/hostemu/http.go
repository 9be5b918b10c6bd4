package hostemu

import (
	"context"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// maxHTTPBodyBytes is the host's default maximum request body (100 MB).
const maxHTTPBodyBytes = 100 << 20

// Handler serves what the host exposes: /runtime/webhooks/eventgrid?functionName=X,
// /admin/functions/{name} (POST runs a timer function) and /{routePrefix}/{route} for
// httpTrigger functions.
func (h *Host) Handler() http.Handler { return http.HandlerFunc(h.serve) }

// Do serves req through Handler in process and returns the answer. req's URL needs only a
// path, e.g. /api/v1/status.
func (h *Host) Do(ctx context.Context, req *http.Request) (*http.Response, error) {
	if req == nil || req.URL == nil {
		return nil, errors.New("hostemu: Do needs a request with a URL")
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	req = req.WithContext(ctx)
	if req.Host == "" {
		req.Host = req.URL.Host
	}
	if req.Host == "" {
		req.Host = "localhost"
	}
	if req.Body == nil {
		req.Body = http.NoBody
	}
	rec := httptest.NewRecorder()
	h.Handler().ServeHTTP(rec, req)
	return rec.Result(), nil
}

func (h *Host) serve(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	switch {
	case strings.EqualFold(strings.TrimSuffix(p, "/"), "/runtime/webhooks/eventgrid"):
		h.serveEventGrid(w, r)
	case hasPrefixFold(p, "/admin/functions/"):
		h.serveAdmin(w, r, p[len("/admin/functions/"):])
	default:
		rest, ok := h.stripRoutePrefix(p)
		if !ok {
			http.NotFound(w, r)
			return
		}
		h.serveAPI(w, r, rest)
	}
}

func (h *Host) stripRoutePrefix(p string) (string, bool) {
	if h.routePrefix == "" {
		return strings.Trim(p, "/"), true
	}
	prefix := "/" + h.routePrefix
	if strings.EqualFold(p, prefix) {
		return "", true
	}
	if hasPrefixFold(p, prefix+"/") {
		return strings.Trim(p[len(prefix):], "/"), true
	}
	return "", false
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

func keyEqual(got, want string) bool {
	return got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

func (h *Host) serveAPI(w http.ResponseWriter, r *http.Request, path string) {
	for _, fn := range h.httpFuncs {
		params, ok := matchRoute(fn.route, path)
		if !ok || !methodAllowed(fn.trigger.Methods, r.Method) {
			continue
		}
		if !h.authorized(fn.trigger.AuthLevel, r) {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		h.serveHTTPFunction(w, r, fn, params)
		return
	}
	http.NotFound(w, r)
}

func methodAllowed(methods []string, m string) bool {
	if len(methods) == 0 {
		return true
	}
	return slices.ContainsFunc(methods, func(x string) bool { return strings.EqualFold(x, m) })
}

// authorized checks the key the host checks before any handler runs.
func (h *Host) authorized(level string, r *http.Request) bool {
	key := r.URL.Query().Get("code")
	if key == "" {
		key = r.Header.Get("x-functions-key")
	}
	switch level {
	case "anonymous":
		return true
	case "admin":
		return h.opts.MasterKey == "" || keyEqual(key, h.opts.MasterKey)
	default:
		if h.opts.FunctionKey == "" {
			return true
		}
		return keyEqual(key, h.opts.FunctionKey) || (h.opts.MasterKey != "" && keyEqual(key, h.opts.MasterKey))
	}
}

// reqData is Data.req as HttpRequestExtensions.GetRequestAsJObject builds it.
type reqData struct {
	URL        string              `json:"Url"`
	Method     string              `json:"Method"`
	Query      map[string]string   `json:"Query"`
	Headers    map[string][]string `json:"Headers"`
	Params     map[string]string   `json:"Params"`
	Identities json.RawMessage     `json:"Identities"`
	Body       *string             `json:"Body,omitempty"`
}

func (h *Host) serveHTTPFunction(w http.ResponseWriter, r *http.Request, fn *function, params map[string]string) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxHTTPBodyBytes+1))
	if err != nil {
		http.Error(w, "read request body: "+err.Error(), http.StatusBadRequest)
		return
	}
	if len(body) > maxHTTPBodyBytes {
		w.WriteHeader(http.StatusRequestEntityTooLarge)
		return
	}
	data, err := h.httpData(fn, r, body, params)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	meta := httpMetadata(r, body, params)
	meta.set("sys", h.sysMetadata(fn))
	inv, out := h.invoke(r.Context(), fn, map[string]json.RawMessage{fn.trigger.Name: data}, meta.vals)
	if inv.Err != nil {
		// The production host answers a failed invocation with a bare 500.
		w.WriteHeader(http.StatusInternalServerError)
		return
	}
	for k, v := range out.headers {
		w.Header().Set(k, v)
	}
	if w.Header().Get("Content-Type") == "" && len(out.body) > 0 {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	}
	w.WriteHeader(out.status)
	_, _ = w.Write(out.body)
}

// requestHeaders is the header dictionary ASP.NET Core shows: Host and Content-Length
// included.
func requestHeaders(r *http.Request, bodyLen int) map[string][]string {
	hdr := make(map[string][]string, len(r.Header)+2)
	for k, vs := range r.Header {
		hdr[k] = slices.Clone(vs)
	}
	if r.Host != "" {
		hdr["Host"] = []string{r.Host}
	}
	if _, ok := hdr["Content-Length"]; !ok && bodyLen > 0 {
		hdr["Content-Length"] = []string{strconv.Itoa(bodyLen)}
	}
	return hdr
}

func (h *Host) httpData(fn *function, r *http.Request, body []byte, params map[string]string) (json.RawMessage, error) {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	u := scheme + "://" + r.Host + r.URL.EscapedPath()
	if r.URL.RawQuery != "" {
		u += "?" + r.URL.RawQuery
	}
	d := reqData{
		URL:        u,
		Method:     r.Method,
		Query:      queryDict(r.URL.Query()),
		Headers:    requestHeaders(r, len(body)),
		Params:     params,
		Identities: h.identities(fn.trigger.AuthLevel),
	}
	if len(body) > 0 {
		s := string(body)
		if isOctetOrMultipart(r.Header.Get("Content-Type")) {
			s = base64.StdEncoding.EncodeToString(body) // a byte[] in JSON.NET
		}
		d.Body = &s
	}
	return marshal(d)
}

func queryDict(q url.Values) map[string]string {
	m := make(map[string]string, len(q))
	for k, vs := range q {
		m[k] = strings.Join(vs, ",") // StringValues.ToString()
	}
	return m
}

func isOctetOrMultipart(ct string) bool {
	mt, _, err := mime.ParseMediaType(ct)
	return err == nil && (mt == "application/octet-stream" || strings.HasPrefix(mt, "multipart/"))
}

// identities is the ClaimsIdentity list the host attaches: the key identity when a
// function key was configured (and therefore checked), nothing otherwise.
func (h *Host) identities(level string) json.RawMessage {
	if level == "anonymous" || h.opts.FunctionKey == "" {
		return json.RawMessage(`[]`)
	}
	claim := func(typ, val string) map[string]any {
		return map[string]any{
			"Issuer": "LOCAL AUTHORITY", "OriginalIssuer": "LOCAL AUTHORITY", "Properties": map[string]any{},
			"Type": typ, "Value": val, "ValueType": "http://www.w3.org/2001/XMLSchema#string",
		}
	}
	authLevel := "Function"
	if level == "admin" {
		authLevel = "Admin"
	}
	b, _ := marshal([]map[string]any{{
		"AuthenticationType": "WebJobsAuthLevel",
		"IsAuthenticated":    true,
		"Actor":              nil,
		"BootstrapContext":   nil,
		"Claims": []any{
			claim("http://schemas.microsoft.com/2017/07/functions/claims/authlevel", authLevel),
			claim("http://schemas.microsoft.com/2017/07/functions/claims/keyid", "default"),
		},
		"Label":         nil,
		"Name":          nil,
		"NameClaimType": "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name",
		"RoleClaimType": "http://schemas.microsoft.com/ws/2008/06/identity/claims/role",
	}})
	return b
}

// httpMetadata is the HTTP trigger's binding data (GetRequestBindingDataAsync): top-level
// properties of a JSON object body, then query values (except code), then route values,
// then the Query and Headers dictionaries unless a key already took those names.
func httpMetadata(r *http.Request, body []byte, params map[string]string) *metadata {
	m := newMetadata()
	var props map[string]json.RawMessage
	if len(body) > 0 && json.Unmarshal(body, &props) == nil {
		for _, k := range sortedKeys(props) {
			m.set(k, bodyPropValue(props[k]))
		}
	}
	q := r.URL.Query()
	for _, k := range sortedKeys(q) {
		if strings.EqualFold(k, "code") {
			continue // a system parameter, never bound
		}
		m.set(k, csharpString(strings.Join(q[k], ",")))
	}
	for _, k := range sortedKeys(params) {
		m.set(k, csharpString(params[k]))
	}
	qd, _ := marshal(queryDict(q))
	m.setIfAbsent("Query", qd)
	hd := map[string]string{}
	for k, vs := range requestHeaders(r, len(body)) {
		hd[k] = strings.Join(vs, ",")
	}
	hb, _ := marshal(hd)
	m.setIfAbsent("Headers", hb)
	return m
}

// bodyPropValue: primitives become .NET strings (JValue.ToString), objects stay objects,
// arrays go through the SerializeObject fallback.
func bodyPropValue(v json.RawMessage) json.RawMessage {
	var s string
	switch t := strings.TrimSpace(string(v)); {
	case strings.HasPrefix(t, "{"), strings.HasPrefix(t, "["):
		out, err := hostValue(v)
		if err == nil {
			return out
		}
		s = t
	case strings.HasPrefix(t, `"`):
		_ = json.Unmarshal(v, &s)
	case t == "true":
		s = "True"
	case t == "false":
		s = "False"
	case t == "null":
		s = ""
	default:
		s = t
	}
	return csharpString(s)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// serveAdmin runs a timer function like POST /admin/functions/{name} does (synchronously
// here, so the caller learns the outcome).
func (h *Host) serveAdmin(w http.ResponseWriter, r *http.Request, name string) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "POST")
		w.WriteHeader(http.StatusMethodNotAllowed)
		return
	}
	if h.opts.MasterKey != "" && !keyEqual(r.Header.Get("x-functions-key"), h.opts.MasterKey) {
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	fn, ok := h.functions[name]
	if !ok {
		http.NotFound(w, r)
		return
	}
	if fn.trigger.Type != "timerTrigger" {
		http.Error(w, fmt.Sprintf("the emulator runs only timer functions through /admin/functions; %s has a %s", name, fn.trigger.Type), http.StatusBadRequest)
		return
	}
	if err := h.FireTimer(r.Context(), name, false); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.WriteHeader(http.StatusAccepted)
}

// segment is one part of a route template.
type segment struct {
	literal  string
	param    string
	optional bool
	catchAll bool
}

// parseRoute supports whole-segment parameters: {p}, {p?}, {*p}, {**p}, {p:constraint},
// {p=default} (constraints and defaults are ignored).
func parseRoute(route string) ([]segment, error) {
	route = strings.Trim(route, "/")
	if route == "" {
		return nil, nil
	}
	parts := strings.Split(route, "/")
	segs := make([]segment, 0, len(parts))
	for i, p := range parts {
		if !strings.ContainsAny(p, "{}") {
			if p == "" {
				return nil, errors.New("empty segment")
			}
			segs = append(segs, segment{literal: p})
			continue
		}
		if !strings.HasPrefix(p, "{") || !strings.HasSuffix(p, "}") || strings.Count(p, "{") != 1 {
			return nil, fmt.Errorf("segment %q: only whole-segment parameters are emulated", p)
		}
		name := p[1 : len(p)-1]
		var s segment
		if strings.HasPrefix(name, "*") {
			s.catchAll = true
			name = strings.TrimLeft(name, "*")
			if i != len(parts)-1 {
				return nil, fmt.Errorf("catch-all %q must be the last segment", p)
			}
		}
		if j := strings.IndexAny(name, ":="); j >= 0 {
			name = name[:j]
		}
		if strings.HasSuffix(name, "?") {
			s.optional = true
			name = strings.TrimSuffix(name, "?")
		}
		if name == "" {
			return nil, fmt.Errorf("segment %q has no parameter name", p)
		}
		s.param = name
		segs = append(segs, s)
	}
	return segs, nil
}

// matchRoute matches a path (without the route prefix, no leading slash) and returns the
// route values. An empty optional or catch-all parameter gets no value.
func matchRoute(segs []segment, path string) (map[string]string, bool) {
	var parts []string
	if path != "" {
		parts = strings.Split(path, "/")
	}
	params := map[string]string{}
	for i, s := range segs {
		if s.catchAll {
			if i < len(parts) {
				params[s.param] = strings.Join(parts[i:], "/")
			}
			return params, true
		}
		if i >= len(parts) {
			if s.optional {
				continue
			}
			return nil, false
		}
		if s.literal != "" {
			if !strings.EqualFold(s.literal, parts[i]) {
				return nil, false
			}
			continue
		}
		if parts[i] == "" {
			return nil, false
		}
		params[s.param] = parts[i]
	}
	if len(parts) > len(segs) {
		return nil, false
	}
	return params, true
}
