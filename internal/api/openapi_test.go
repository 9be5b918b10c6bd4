package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"maps"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/plsgate/plsgate/internal/devenv/tokenissuer"
	"github.com/plsgate/plsgate/internal/policy"
	"github.com/plsgate/plsgate/internal/reconcile"
	"github.com/plsgate/plsgate/internal/store"
)

// wireTypes maps every schema in openapi.json's components to the Go type that is decoded
// (requests) or encoded (answers) on the wire.
var wireTypes = map[string]reflect.Type{
	"DecisionRequest":    reflect.TypeFor[decisionRequest](),
	"ReconcileRequest":   reflect.TypeFor[reconcileRequest](),
	"EvaluateRequest":    reflect.TypeFor[evaluateRequest](),
	"Outcome":            reflect.TypeFor[OutcomeJSON](),
	"DecisionResult":     reflect.TypeFor[decisionResponse](),
	"ReconcileResult":    reflect.TypeFor[reconcileResponse](),
	"ScanAccepted":       reflect.TypeFor[scanAccepted](),
	"Run":                reflect.TypeFor[runJSON](),
	"EvaluateResult":     reflect.TypeFor[evaluateResponse](),
	"Decision":           reflect.TypeFor[policy.Decision](),
	"RuleTrace":          reflect.TypeFor[policy.RuleTrace](),
	"Facts":              reflect.TypeFor[policy.Facts](),
	"FactsResource":      reflect.TypeFor[policy.Resource](),
	"FactsPLS":           reflect.TypeFor[policy.PLS](),
	"FactsConnection":    reflect.TypeFor[policy.Connection](),
	"FactsRequester":     reflect.TypeFor[policy.Requester](),
	"ConnectionPage":     reflect.TypeFor[connectionsResponse](),
	"Connection":         reflect.TypeFor[connectionJSON](),
	"ConnectionOverride": reflect.TypeFor[overrideJSON](),
	"History":            reflect.TypeFor[historyResponse](),
	"Transition":         reflect.TypeFor[TransitionJSON](),
	"Error":              reflect.TypeFor[errorBody](),
	"ErrorDetail":        reflect.TypeFor[errorDetail](),
}

// requestSchemas are decoded by plsgate (what is required there is the decoders' business,
// checked against the document by TestOpenAPIRequestExamplesDecode).
var requestSchemas = []string{"DecisionRequest", "ReconcileRequest", "EvaluateRequest"}

// requestDecoders are the real decoders of each operation's body (decode.go).
var requestDecoders = map[string]func([]byte) error{
	"approveConnection": func(b []byte) error { _, err := parseDecisionRequest(b); return err },
	"rejectConnection":  func(b []byte) error { _, err := parseDecisionRequest(b); return err },
	"reconcile":         func(b []byte) error { _, err := parseReconcileRequest(b); return err },
	"evaluate":          func(b []byte) error { _, err := parseEvaluateRequest(b); return err },
}

var oasMethods = []string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}

type oasOp struct {
	id, method, path string // method in upper case; path as in the document ("/reconcile/{runId}")
	op               map[string]any
}

func (o oasOp) String() string { return o.method + " " + o.path + " (" + o.id + ")" }

func (d *oasDoc) operations(t testing.TB) []oasOp {
	t.Helper()
	var ops []oasOp
	for path, item := range asMap(d.root["paths"]) {
		for _, m := range oasMethods {
			if op, ok := asMap(item)[m].(map[string]any); ok {
				id, _ := op["operationId"].(string)
				ops = append(ops, oasOp{id: id, method: strings.ToUpper(m), path: path, op: op})
			}
		}
	}
	slices.SortFunc(ops, func(a, b oasOp) int { return strings.Compare(a.path+a.method, b.path+b.method) })
	return ops
}

// servedOps are the operations of the routes the router serves, in the router's order; a
// served route the document lacks is an error, so every test built on it fails for an
// undocumented route.
func (d *oasDoc) servedOps(t testing.TB) []oasOp {
	t.Helper()
	byRoute := map[string]oasOp{}
	for _, op := range d.operations(t) {
		byRoute[op.method+" "+op.path] = op
	}
	var out []oasOp
	for _, rt := range servedRoutes(t) {
		for _, m := range slices.Sorted(maps.Keys(rt.methods)) {
			op, ok := byRoute[m+" /"+rt.path]
			if !ok {
				t.Errorf("route %s /%s is served but not in openapi.json", m, rt.path)
				continue
			}
			out = append(out, op)
		}
	}
	return out
}

// routeSet is "METHOD /path" for every route the router serves.
func routeSet(routes []route) map[string]bool {
	out := map[string]bool{}
	for _, rt := range routes {
		for m := range rt.methods {
			out[m+" /"+rt.path] = true
		}
	}
	return out
}

func (d *oasDoc) routeSet(t testing.TB) map[string]bool {
	out := map[string]bool{}
	for _, op := range d.operations(t) {
		out[op.method+" "+op.path] = true
	}
	return out
}

// routeDrift names every route served but not documented, and documented but not served.
func routeDrift(served, documented map[string]bool) []string {
	var out []string
	for r := range served {
		if !documented[r] {
			out = append(out, "served but not in openapi.json: "+r)
		}
	}
	for r := range documented {
		if !served[r] {
			out = append(out, "in openapi.json but not served: "+r)
		}
	}
	sort.Strings(out)
	return out
}

// servedRoutes are the router's own routes (the table New registers).
func servedRoutes(t testing.TB) []route {
	t.Helper()
	a, ok := newTestAPI(t, nil).h.(*API)
	if !ok {
		t.Fatal("New does not return *API")
	}
	return a.routes
}

// TestOpenAPIRoutesMatchRouter: every route the router serves is in the document with its
// methods, and the document has no route the router does not serve.
func TestOpenAPIRoutesMatchRouter(t *testing.T) {
	d := loadOAS(t)
	routes := servedRoutes(t)
	for _, msg := range routeDrift(routeSet(routes), d.routeSet(t)) {
		t.Error(msg)
	}
	// The check itself: a route added to the table without documenting it is reported.
	extra := append(slices.Clone(routes), route{path: "connections/{name}/undocumented", methods: map[string]http.HandlerFunc{http.MethodGet: nil}})
	if got := routeDrift(routeSet(extra), d.routeSet(t)); !slices.Contains(got, "served but not in openapi.json: GET /connections/{name}/undocumented") {
		t.Errorf("an undocumented route is not reported: %v", got)
	}
	// Paths in the document are relative to servers that end in the router's prefix.
	for _, s := range asAnyList(d.root["servers"]) {
		if u, _ := asMap(s)["url"].(string); !strings.HasSuffix(u, strings.TrimSuffix(prefix, "/")) {
			t.Errorf("server %q does not end in %s", u, strings.TrimSuffix(prefix, "/"))
		}
	}
}

// TestOpenAPIDocumentIsValid: valid JSON, OpenAPI 3.1.x, every reference resolves, every
// operation is complete, path parameters and security schemes are declared, schemas use only
// keywords the tests check.
func TestOpenAPIDocumentIsValid(t *testing.T) {
	if !json.Valid(openAPIDoc) {
		t.Fatal("openapi.json is not valid JSON")
	}
	onDisk, err := os.ReadFile("openapi.json")
	if err != nil || !bytes.Equal(onDisk, openAPIDoc) {
		t.Fatalf("the embedded document is not openapi.json (%v)", err)
	}
	d := loadOAS(t)
	d.servedOps(t)
	if v, _ := d.root["openapi"].(string); !regexp.MustCompile(`^3\.1\.\d+$`).MatchString(v) {
		t.Errorf("openapi = %q, want 3.1.x", v)
	}
	info := asMap(d.root["info"])
	if info["title"] == nil || info["version"] == nil {
		t.Errorf("info needs title and version: %v", info)
	}
	// Every $ref resolves.
	var walk func(v any, at string)
	walk = func(v any, at string) {
		switch v := v.(type) {
		case map[string]any:
			if ref, ok := v["$ref"].(string); ok {
				if _, err := d.pointer(ref); err != nil {
					t.Errorf("%s: %v", at, err)
				}
			}
			for k, sub := range v {
				walk(sub, at+"/"+k)
			}
		case []any:
			for i, sub := range v {
				walk(sub, fmt.Sprintf("%s/%d", at, i))
			}
		}
	}
	walk(d.root, "#")

	schemes := asMap(asMap(d.root["components"])["securitySchemes"])
	usedSchemes := map[string]bool{}
	checkSecurity := func(reqs any, at string) {
		for _, req := range asAnyList(reqs) {
			for name := range asMap(req) {
				usedSchemes[name] = true
				if _, ok := schemes[name]; !ok {
					t.Errorf("%s: security scheme %q is not declared", at, name)
				}
			}
		}
	}
	checkSecurity(d.root["security"], "#/security")
	var schemaErrs []string
	checkSchema := func(s any, at string) {
		if s == nil {
			t.Errorf("%s: no schema", at)
			return
		}
		schemaErrs = append(schemaErrs, schemaKeywords(s, at)...)
	}
	for name, s := range asMap(asMap(d.root["components"])["schemas"]) {
		checkSchema(s, "#/components/schemas/"+name)
	}
	ids := map[string]bool{}
	pathParam := regexp.MustCompile(`\{([^}]+)\}`)
	for _, op := range d.operations(t) {
		at := op.String()
		if op.id == "" || ids[op.id] {
			t.Errorf("%s: operationId missing or not unique", at)
		}
		ids[op.id] = true
		if s, _ := op.op["summary"].(string); s == "" {
			t.Errorf("%s: no summary", at)
		}
		checkSecurity(op.op["security"], at)
		declared := map[string]bool{}
		for _, p := range asAnyList(op.op["parameters"]) {
			pm := d.deref(t, p)
			checkSchema(pm["schema"], at+" parameter "+fmt.Sprint(pm["name"]))
			if pm["in"] == "path" {
				declared[fmt.Sprint(pm["name"])] = true
				if pm["required"] != true {
					t.Errorf("%s: path parameter %v must be required", at, pm["name"])
				}
			}
			if ex, ok := pm["example"]; ok {
				for _, e := range d.validate(pm["schema"], ex, at+" parameter "+fmt.Sprint(pm["name"])+" example") {
					t.Error(e)
				}
			}
		}
		for _, m := range pathParam.FindAllStringSubmatch(op.path, -1) {
			if !declared[m[1]] {
				t.Errorf("%s: path parameter {%s} is not declared", at, m[1])
			}
			delete(declared, m[1])
		}
		for p := range declared {
			t.Errorf("%s: parameter %s is declared in: path but not in the path", at, p)
		}
		if rb, ok := op.op["requestBody"]; ok {
			for mt, media := range asMap(d.deref(t, rb)["content"]) {
				if mt != "application/json" {
					t.Errorf("%s: request media type %s: plsgate reads JSON only", at, mt)
				}
				checkSchema(asMap(media)["schema"], at+" request "+mt)
			}
		}
		responses := asMap(op.op["responses"])
		if len(responses) == 0 {
			t.Errorf("%s: no responses", at)
		}
		for status, resp := range responses {
			if _, err := strconv.Atoi(status); err != nil || len(status) != 3 {
				t.Errorf("%s: response key %q is not a status code", at, status)
			}
			rm := d.deref(t, resp)
			if s, _ := rm["description"].(string); s == "" {
				t.Errorf("%s %s: a response needs a description", at, status)
			}
			for mt, media := range asMap(rm["content"]) {
				checkSchema(asMap(media)["schema"], at+" "+status+" "+mt)
			}
			for name, h := range asMap(rm["headers"]) {
				checkSchema(asMap(h)["schema"], at+" "+status+" header "+name)
			}
		}
	}
	for _, e := range schemaErrs {
		t.Error(e)
	}
	for name := range schemes {
		if !usedSchemes[name] {
			t.Errorf("security scheme %q is declared but no operation uses it", name)
		}
	}
}

// bodyExamples returns an operation's request body examples by name (compact JSON).
func (d *oasDoc) bodyExamples(t testing.TB, op oasOp) (examples map[string][]byte, schema any, required bool) {
	t.Helper()
	rb, ok := op.op["requestBody"]
	if !ok {
		return nil, nil, false
	}
	rbm := d.deref(t, rb)
	media := asMap(asMap(rbm["content"])["application/json"])
	examples = map[string][]byte{}
	for name, ex := range asMap(media["examples"]) {
		b, err := json.Marshal(d.deref(t, ex)["value"])
		if err != nil {
			t.Fatal(err)
		}
		examples[name] = b
	}
	if len(examples) == 0 {
		t.Errorf("%s: the request body has no examples", op)
	}
	return examples, media["schema"], rbm["required"] == true
}

// TestOpenAPIRequestExamplesDecode: every request example is valid by its schema and accepted
// by the real decoder, and schema and decoder agree on the examples' variations (a field
// left out, an unknown field, an empty object, a string over maxLength): what the document
// says is required or refused is what the decoder requires or refuses.
func TestOpenAPIRequestExamplesDecode(t *testing.T) {
	d := loadOAS(t)
	withBody := map[string]bool{}
	for _, op := range d.servedOps(t) {
		examples, schema, _ := d.bodyExamples(t, op)
		if examples == nil {
			if op.method == http.MethodPost {
				t.Errorf("%s documents no request body", op)
			}
			continue
		}
		withBody[op.id] = true
		decode, ok := requestDecoders[op.id]
		if !ok {
			t.Errorf("%s has a request body but the test knows no decoder for it: add it to requestDecoders", op)
			continue
		}
		agree := func(name string, body []byte) {
			var x any
			if err := json.Unmarshal(body, &x); err != nil {
				t.Fatal(err)
			}
			schemaErrs := d.validate(schema, x, "#")
			decErr := decode(body)
			if (len(schemaErrs) == 0) != (decErr == nil) {
				t.Errorf("%s %s: the document says %v, the decoder says %v (body %s)", op, name, orOK(schemaErrs), decErr, body)
			}
		}
		for name, body := range examples {
			for _, e := range d.validate(schema, mustAny(t, body), "example "+name) {
				t.Errorf("%s: %s", op, e)
			}
			if err := decode(body); err != nil {
				t.Errorf("%s: example %s is refused by the decoder: %v", op, name, err)
			}
			obj := mustAny(t, body).(map[string]any)
			for field := range obj {
				agree(fmt.Sprintf("example %s without %s", name, field), mustJSON(t, without(obj, field)))
			}
			agree(fmt.Sprintf("example %s with an unknown field", name), mustJSON(t, with(obj, "unexpected", "x")))
			props, _ := d.effectiveObject(t, schema)
			for field, p := range props {
				if n, ok := d.deref(t, p)["maxLength"].(float64); ok {
					if _, present := obj[field]; present {
						agree(fmt.Sprintf("example %s with %s of %v characters", name, field, n), mustJSON(t, with(obj, field, strings.Repeat("a", int(n)))))
						agree(fmt.Sprintf("example %s with %s over maxLength", name, field), mustJSON(t, with(obj, field, strings.Repeat("a", int(n)+1))))
					}
				}
			}
		}
		agree("{}", []byte(`{}`))
	}
	for id := range requestDecoders {
		if !withBody[id] {
			t.Errorf("requestDecoders has %s, which the document does not list with a request body", id)
		}
	}
}

func orOK(errs []string) any {
	if len(errs) == 0 {
		return "ok"
	}
	return errs
}

func mustAny(t testing.TB, b []byte) any {
	t.Helper()
	var x any
	if err := json.Unmarshal(b, &x); err != nil {
		t.Fatal(err)
	}
	return x
}

func mustJSON(t testing.TB, v any) []byte {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	return bytes.TrimSpace(buf.Bytes())
}

func without(m map[string]any, k string) map[string]any {
	out := map[string]any{}
	for kk, v := range m {
		if kk != k {
			out[kk] = v
		}
	}
	return out
}

func with(m map[string]any, k string, v any) map[string]any {
	out := without(m, k)
	out[k] = v
	return out
}

// TestOpenAPIResponseExamplesRoundTrip: every response example is valid by its schema and is
// exactly what the Go type it documents encodes after decoding it (no field the type lacks,
// none it would add).
func TestOpenAPIResponseExamplesRoundTrip(t *testing.T) {
	d := loadOAS(t)
	n := 0
	for _, op := range d.servedOps(t) {
		for status, resp := range asMap(op.op["responses"]) {
			for mt, media := range asMap(d.deref(t, resp)["content"]) {
				schema := asMap(media)["schema"]
				if _, typed := wireTypes[refName(schema)]; typed && len(asMap(asMap(media)["examples"])) == 0 {
					t.Errorf("%s %s %s has no example", op, status, mt)
				}
				for name, ex := range asMap(asMap(media)["examples"]) {
					n++
					at := fmt.Sprintf("%s %s %s example %s", op, status, mt, name)
					value := d.deref(t, ex)["value"]
					for _, e := range d.validate(schema, value, at) {
						t.Error(e)
					}
					typ, ok := wireTypes[refName(schema)]
					if !ok {
						t.Errorf("%s: its schema names no Go type in wireTypes", at)
						continue
					}
					raw := mustJSON(t, value)
					p := reflect.New(typ)
					dec := json.NewDecoder(bytes.NewReader(raw))
					dec.DisallowUnknownFields()
					if err := dec.Decode(p.Interface()); err != nil {
						t.Errorf("%s does not decode into %v: %v", at, typ, err)
						continue
					}
					again := mustJSON(t, p.Interface())
					if !reflect.DeepEqual(mustAny(t, again), value) {
						t.Errorf("%s does not round-trip through %v:\n example: %s\n encoded: %s", at, typ, raw, again)
					}
				}
			}
		}
	}
	if n < 10 {
		t.Errorf("only %d response examples", n)
	}
}

// goField is one JSON field of a Go type.
type goField struct {
	typ       reflect.Type
	omitempty bool
}

// jsonFields lists the JSON fields encoding/json uses for t (embedded structs flattened).
func jsonFields(t reflect.Type) map[string]goField {
	out := map[string]goField{}
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" || (!f.IsExported() && !f.Anonymous) {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" && f.Type.Kind() == reflect.Struct {
			for k, v := range jsonFields(f.Type) {
				out[k] = v
			}
			continue
		}
		if name == "" {
			name = f.Name
		}
		out[name] = goField{typ: f.Type, omitempty: slices.Contains(strings.Split(opts, ","), "omitempty")}
	}
	return out
}

// schemaTypes is the JSON types a property schema admits, following $ref and anyOf/oneOf.
func (d *oasDoc) schemaTypes(t testing.TB, s any) []string {
	m := d.deref(t, s)
	var out []string
	switch tv := m["type"].(type) {
	case string:
		out = append(out, tv)
	case []any:
		out = append(out, asList(tv)...)
	}
	for _, k := range []string{"anyOf", "oneOf"} {
		for _, sub := range asAnyList(m[k]) {
			out = append(out, d.schemaTypes(t, sub)...)
		}
	}
	if len(out) == 0 && m["allOf"] != nil {
		out = []string{"object"}
	}
	return out
}

var timeType = reflect.TypeFor[time.Time]()

// TestOpenAPISchemasMatchGoTypes: each schema lists exactly the JSON fields of its Go type,
// with compatible types and nested schemas; answers mark as required exactly the fields the
// type always writes (no omitempty). When a field is added to a wire type without
// documenting it, this test names the schema and the field.
func TestOpenAPISchemasMatchGoTypes(t *testing.T) {
	d := loadOAS(t)
	schemas := asMap(asMap(d.root["components"])["schemas"])
	for name := range schemas {
		if _, ok := wireTypes[name]; !ok {
			t.Errorf("schema %s has no Go type in wireTypes", name)
		}
	}
	for name, typ := range wireTypes {
		s, ok := schemas[name]
		if !ok {
			t.Errorf("wireTypes has %s, which openapi.json's components do not", name)
			continue
		}
		props, required := d.effectiveObject(t, s)
		fields := jsonFields(typ)
		for f := range fields {
			if _, ok := props[f]; !ok {
				t.Errorf("%v has JSON field %q that schema %s does not document", typ, f, name)
			}
		}
		for p := range props {
			if _, ok := fields[p]; !ok {
				t.Errorf("schema %s documents %q, which %v does not have", name, p, typ)
			}
		}
		if !slices.Contains(requestSchemas, name) {
			var want []string
			for f, gf := range fields {
				if !gf.omitempty {
					want = append(want, f)
				}
			}
			slices.Sort(want)
			if !slices.Equal(want, required) {
				t.Errorf("schema %s: required %v, but %v always writes %v", name, required, typ, want)
			}
		}
		for f, gf := range fields {
			p, ok := props[f]
			if !ok {
				continue
			}
			for _, e := range d.typeMismatch(t, p, gf.typ) {
				t.Errorf("schema %s property %q: %s", name, f, e)
			}
		}
	}
}

// typeMismatch compares a property schema with the Go type of its field.
func (d *oasDoc) typeMismatch(t testing.TB, s any, typ reflect.Type) []string {
	for typ.Kind() == reflect.Pointer {
		typ = typ.Elem()
	}
	if typ == reflect.TypeFor[json.RawMessage]() {
		return nil // any JSON: the decoder passes it on
	}
	types := d.schemaTypes(t, s)
	want := ""
	switch {
	case typ == timeType:
		want = "string"
		if d.deref(t, s)["format"] != "date-time" {
			return []string{"a time.Time needs format date-time"}
		}
	case typ.Kind() == reflect.String:
		want = "string"
	case typ.Kind() == reflect.Bool:
		want = "boolean"
	case typ.Kind() >= reflect.Int && typ.Kind() <= reflect.Uint64:
		want = "integer"
	case typ.Kind() == reflect.Float32 || typ.Kind() == reflect.Float64:
		want = "number"
	case typ.Kind() == reflect.Slice:
		want = "array"
		if items := d.deref(t, s)["items"]; items != nil {
			return append(check(types, want), d.typeMismatch(t, items, typ.Elem())...)
		}
	case typ.Kind() == reflect.Map, typ.Kind() == reflect.Struct:
		want = "object"
		if name := refName(s); name != "" && typ.Kind() == reflect.Struct && wireTypes[name] != typ {
			return []string{fmt.Sprintf("refers to %s (%v), but the field is %v", name, wireTypes[name], typ)}
		}
	default:
		return []string{fmt.Sprintf("no JSON type known for %v", typ)}
	}
	return check(types, want)
}

func check(types []string, want string) []string {
	if slices.Contains(types, want) || (want == "integer" && slices.Contains(types, "number")) {
		return nil
	}
	return []string{fmt.Sprintf("documented as %v, encoded as %s", types, want)}
}

// TestOpenAPIErrorCodes: the document's error codes are exactly the Code constants the
// package answers with.
func TestOpenAPIErrorCodes(t *testing.T) {
	d := loadOAS(t)
	detail := d.deref(t, asMap(asMap(d.root["components"])["schemas"])["ErrorDetail"])
	documented := asList(asMap(asMap(detail["properties"])["code"])["enum"])
	code := map[string]string{} // value → constant
	files, _ := filepath.Glob("*.go")
	fset := token.NewFileSet()
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		file, err := parser.ParseFile(fset, f, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(file, func(n ast.Node) bool {
			gd, ok := n.(*ast.GenDecl)
			if !ok || gd.Tok != token.CONST {
				return true
			}
			for _, spec := range gd.Specs {
				vs := spec.(*ast.ValueSpec)
				for i, id := range vs.Names {
					if !strings.HasPrefix(id.Name, "Code") || i >= len(vs.Values) {
						continue
					}
					if lit, ok := vs.Values[i].(*ast.BasicLit); ok && lit.Kind == token.STRING {
						v, _ := strconv.Unquote(lit.Value)
						code[v] = id.Name + " in " + f
					}
				}
			}
			return false
		})
	}
	if len(code) < 10 {
		t.Fatalf("found only %d Code constants: %v", len(code), code)
	}
	for v, where := range code {
		if !slices.Contains(documented, v) {
			t.Errorf("error code %q (%s) is not in openapi.json's ErrorDetail.code enum", v, where)
		}
	}
	for _, v := range documented {
		if _, ok := code[v]; !ok {
			t.Errorf("openapi.json documents error code %q, which no Code constant defines", v)
		}
	}
}

// TestOpenAPIServed: GET /api/v1/openapi.json answers the document as kept in the repository;
// like the other reads it takes no query parameter but the function key's code.
func TestOpenAPIServed(t *testing.T) {
	ta := newTestAPI(t, nil)
	rec := ta.do(t, get("/api/v1/openapi.json?code="+secretKey))
	want, err := os.ReadFile("openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	if rec.Code != 200 || rec.Header().Get("Content-Type") != "application/json; charset=utf-8" || !bytes.Equal(rec.Body.Bytes(), want) {
		t.Fatalf("GET openapi.json = %d %q, %d bytes (want the %d bytes of openapi.json)", rec.Code, rec.Header().Get("Content-Type"), rec.Body.Len(), len(want))
	}
	wantError(t, ta.do(t, get("/api/v1/openapi.json?format=yaml")), 400, CodeBadRequest)
	wantError(t, ta.do(t, post("/api/v1/openapi.json", "{}")), 405, CodeMethodNotAllowed)
}

// observer sends requests to the real handler and checks each answer against the document:
// the status is listed for the operation, the Content-Type is one it documents, the body
// is valid by the documented schema, and required headers are present.
type observer struct {
	t    *testing.T
	d    *oasDoc
	seen map[string]map[int]bool
}

func (o *observer) do(ta *testAPI, op oasOp, name string, r req) *httptest.ResponseRecorder {
	o.t.Helper()
	rec := ta.do(o.t, r)
	if o.seen[op.id] == nil {
		o.seen[op.id] = map[int]bool{}
	}
	o.seen[op.id][rec.Code] = true
	at := fmt.Sprintf("%s, %s: answered %d", op, name, rec.Code)
	resp, ok := asMap(op.op["responses"])[strconv.Itoa(rec.Code)]
	if !ok {
		o.t.Errorf("%s, which openapi.json does not list for %s: %s", at, op.id, clip(rec.Body.String(), 300))
		return rec
	}
	rm := o.d.deref(o.t, resp)
	mt, _, _ := mime.ParseMediaType(rec.Header().Get("Content-Type"))
	media, ok := asMap(rm["content"])[mt]
	if !ok {
		o.t.Errorf("%s with Content-Type %q, which openapi.json does not list there", at, mt)
		return rec
	}
	if mt == "application/json" {
		var x any
		if err := json.Unmarshal(rec.Body.Bytes(), &x); err != nil {
			o.t.Errorf("%s: not JSON: %v", at, err)
		}
		for _, e := range o.d.validate(asMap(media)["schema"], x, "body") {
			o.t.Errorf("%s: %s (openapi.json does not describe the answer): %s", at, e, clip(rec.Body.String(), 300))
		}
	}
	for h, hv := range asMap(rm["headers"]) {
		if asMap(hv)["required"] == true && rec.Header().Get(h) == "" {
			o.t.Errorf("%s without the documented header %s", at, h)
		}
	}
	return rec
}

// target is the operation's URL with its parameter examples: path parameters, required query
// parameters, and (all=true) every query parameter that has an example.
func (d *oasDoc) target(t testing.TB, op oasOp, all bool) string {
	path := op.path
	q := url.Values{}
	for _, p := range asAnyList(op.op["parameters"]) {
		pm := d.deref(t, p)
		ex, ok := pm["example"]
		name := fmt.Sprint(pm["name"])
		switch {
		case pm["in"] == "path":
			if !ok {
				t.Fatalf("%s: path parameter %s has no example", op, name)
			}
			path = strings.ReplaceAll(path, "{"+name+"}", url.PathEscape(fmt.Sprint(ex)))
		case pm["in"] == "query" && ok && (all || pm["required"] == true):
			q.Set(name, fmt.Sprint(ex))
		case pm["in"] == "query" && pm["required"] == true:
			t.Fatalf("%s: required query parameter %s has no example", op, name)
		}
	}
	u := strings.TrimSuffix(prefix, "/") + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	return u
}

// exampleRequests are the operation's documented requests: each body example, no body when
// the body is optional, the URL with every parameter example and with the required ones only.
func (d *oasDoc) exampleRequests(t testing.TB, op oasOp, h ...string) map[string]req {
	out := map[string]req{}
	examples, _, required := d.bodyExamples(t, op)
	for name, body := range examples {
		out["example "+name] = req{method: op.method, path: d.target(t, op, true), body: string(body), header: headers(h...)}
	}
	if examples == nil || !required {
		out["documented parameters"] = req{method: op.method, path: d.target(t, op, true), header: headers(h...)}
		out["required parameters"] = req{method: op.method, path: d.target(t, op, false), header: headers(h...)}
	}
	return out
}

func hasScheme(d *oasDoc, op oasOp, scheme string) bool {
	reqs, ok := op.op["security"]
	if !ok {
		reqs = d.root["security"]
	}
	return slices.ContainsFunc(asAnyList(reqs), func(r any) bool { _, ok := asMap(r)[scheme]; return ok })
}

// failingStore fails every read with err.
type failingStore struct{ err error }

func (s failingStore) ListConnections(context.Context, store.ConnectionQuery) ([]store.Connection, string, error) {
	return nil, "", s.err
}
func (s failingStore) ListTransitions(context.Context, string, string, int) ([]store.Transition, error) {
	return nil, s.err
}
func (s failingStore) RecentTransitions(context.Context, int) ([]store.Transition, error) {
	return nil, s.err
}
func (s failingStore) GetRun(context.Context, string) (*store.Run, error) { return nil, s.err }
func (s failingStore) LatestRun(context.Context) (*store.Run, error)      { return nil, s.err }

// TestOpenAPIAnswersAreDocumented drives every documented operation through the real handler
// — its examples, broken bodies and queries, each AUTH_MODE, failing dependencies, IDs
// outside the scope — and checks every answer against the document (status listed, body
// valid by the schema, required headers). The examples themselves must be accepted (2xx).
// It also holds the security requirements to the code: an operation lists entraBearer
// (easyAuthPrincipal) exactly when it answers 401 without a token (principal) in that mode.
func TestOpenAPIAnswersAreDocumented(t *testing.T) {
	d := loadOAS(t)
	o := &observer{t: t, d: d, seen: map[string]map[int]bool{}}
	ops := d.servedOps(t)
	approver := alice(t) // an approver who may force (easyAuth)

	seeded := func() *testAPI {
		ta := newTestAPI(t, easyAuth(t))
		seedStore(ta.store)
		return ta
	}
	// The examples, as an approver, on a seeded store (each on its own: a scan runs for a
	// while): accepted.
	for _, op := range ops {
		for name, r := range d.exampleRequests(t, op, approver...) {
			if rec := o.do(seeded(), op, name, r); rec.Code >= 300 {
				t.Errorf("%s, %s is refused: %d %s", op, name, rec.Code, rec.Body.String())
			}
		}
	}

	ta := seeded()

	// Broken requests.
	for _, op := range ops {
		ex := d.exampleRequests(t, op, approver...)
		var base req
		for _, k := range slices.Sorted(maps.Keys(ex)) {
			base = ex[k]
			break
		}
		q := "?"
		if strings.Contains(base.path, "?") {
			q = "&"
		}
		o.do(ta, op, "unknown query parameter", req{method: op.method, path: base.path + q + "bogus=1", body: base.body, header: base.header})
		for _, p := range asAnyList(op.op["parameters"]) {
			if d.deref(t, p)["name"] == "limit" {
				o.do(ta, op, "limit=0", req{method: op.method, path: base.path + q + "limit=0", header: base.header})
			}
		}
		if _, ok := op.op["requestBody"]; ok {
			o.do(ta, op, "malformed JSON", req{method: op.method, path: base.path, body: `{"connectionId": `, header: base.header})
			o.do(ta, op, "empty object", req{method: op.method, path: base.path, body: `{}`, header: base.header})
			o.do(ta, op, "no body", req{method: op.method, path: base.path, header: base.header})
			h := base.header.Clone()
			h.Set("Content-Type", "application/x-www-form-urlencoded")
			o.do(ta, op, "form Content-Type", req{method: op.method, path: base.path, body: base.body, header: h})
			o.do(ta, op, "oversized body", req{method: op.method, path: base.path, body: `{"reason": "` + strings.Repeat("a", evaluateBodyBytes) + `"}`, header: base.header})
		}
		if strings.Contains(op.path, "{") {
			p := regexp.MustCompile(`\{[^}]+\}`).ReplaceAllString(op.path, "not%20an%20id")
			o.do(ta, op, "a path parameter that is not an ID", req{method: op.method, path: strings.TrimSuffix(prefix, "/") + p, body: base.body, header: base.header})
		}
		// Unknown IDs and IDs outside the configured scope.
		for name, r := range ex {
			for what, repl := range map[string]*strings.Replacer{
				"an unknown connection and run": strings.NewReplacer(connName, "unknown.0000", "0001-run", "9999-run"),
				"IDs outside the scope":         strings.NewReplacer(sub, "99999999-9999-4999-8999-999999999999"),
			} {
				r2 := r
				r2.path, r2.body = repl.Replace(r.path), repl.Replace(r.body)
				o.do(ta, op, name+" with "+what, r2)
			}
		}
	}

	// Every path answers the methods it does not document with 405, Allow naming the ones it does.
	for path, item := range asMap(d.root["paths"]) {
		var allowed []string
		for _, m := range oasMethods {
			if _, ok := asMap(item)[m]; ok {
				allowed = append(allowed, strings.ToUpper(m))
			}
		}
		slices.Sort(allowed)
		for _, m := range []string{http.MethodGet, http.MethodPost} { // what the host forwards (function.json)
			if slices.Contains(allowed, m) {
				continue
			}
			p := strings.NewReplacer("{runId}", "0001-run").Replace(path)
			rec := ta.do(t, req{method: m, path: strings.TrimSuffix(prefix, "/") + p, body: "{}"})
			e := wantError(t, rec, 405, CodeMethodNotAllowed)
			if got := rec.Header().Get("Allow"); got != strings.Join(allowed, ", ") {
				t.Errorf("%s %s: Allow %q, openapi.json documents %v (%s)", m, path, got, allowed, e.Error.Message)
			}
		}
	}

	// Failing dependencies and refusals from the reconciler.
	decision := policy.Decision{Action: policy.Leave, Reason: "no rule matched", Trace: []policy.RuleTrace{{Rule: "customers", Reason: "no"}}}
	for _, f := range []struct {
		name       string
		err        error
		storeFails bool
		applyOnly  bool // only Apply (approve, reject) returns it
	}{
		{"dependencies unavailable", errUnavailable(), true, false},
		{"an unexpected error", errors.New("boom"), true, false},
		{"not found in ARM", reconcile.ErrNotFound, false, false},
		{"ARM refuses plsgate", httpErr(403), false, false},
		{"ARM refuses the change", httpErr(409), false, false},
		{"not Pending", &reconcile.NotPendingError{Status: reconcile.StatusRejected}, false, true},
		{"the policy decides otherwise", &reconcile.PolicyError{Decision: decision}, false, true},
		{"a decision in progress", reconcile.ErrInProgress, false, true},
	} {
		fa := newTestAPI(t, func(opt *Options) {
			easyAuth(t)(opt)
			if f.storeFails {
				opt.Store, opt.Runs = failingStore{f.err}, nil
			}
		})
		if !f.storeFails {
			seedStore(fa.store)
		}
		fa.dec.apply = func(reconcile.ManualRequest) (reconcile.Outcome, error) { return reconcile.Outcome{}, f.err }
		if !f.applyOnly {
			fa.dec.reconcile = func(string) ([]reconcile.Outcome, error) { return nil, f.err }
			fa.dec.evaluate = func(string) (policy.Facts, policy.Decision, error) { return policy.Facts{}, policy.Decision{}, f.err }
		}
		for _, op := range ops {
			for name, r := range d.exampleRequests(t, op, approver...) {
				o.do(fa, op, name+", "+f.name, r)
			}
		}
	}

	// A second scan while one runs.
	block := make(chan struct{})
	t.Cleanup(func() { close(block) })
	sa := newTestAPI(t, easyAuth(t))
	sa.dec.scan = func(ctx context.Context, so reconcile.ScanOptions) (reconcile.RunSummary, error) {
		<-block
		return reconcile.RunSummary{RunID: so.RunID, Complete: true}, nil
	}
	for _, op := range ops {
		if op.id == "reconcile" {
			o.do(sa, op, "a scan", post(strings.TrimSuffix(prefix, "/")+op.path, `{}`, approver...))
			o.do(sa, op, "a second scan", post(strings.TrimSuffix(prefix, "/")+op.path, `{}`, approver...))
		}
	}

	// AUTH_MODE=easyauth without a principal; entra without a token, with one of someone not
	// listed, with one of an approver who may not force; key with force.
	noPrincipal := map[string]bool{}
	for _, op := range ops {
		for name, r := range d.exampleRequests(t, op) {
			if o.do(ta, op, name+" without a principal (easyauth)", r).Code == 401 {
				noPrincipal[op.id] = true
			}
		}
	}
	env := newEntraEnv(t, list(t, "oid:"+aliceOID), list(t, "upn:boss@contoso.com"))
	tok := func(oid string) []string {
		return bearer(env.iss.MustMint(tokenissuer.Token{Version: 2, TenantID: tenantID, Audience: clientID, OID: oid}))
	}
	noToken := map[string]bool{}
	for _, op := range ops {
		for name, r := range d.exampleRequests(t, op) {
			if o.do(env.testAPI, op, name+" without a token (entra)", r).Code == 401 {
				noToken[op.id] = true
			}
		}
		for name, r := range d.exampleRequests(t, op, tok(malloryOID)...) {
			o.do(env.testAPI, op, name+" with a token of someone not listed (entra)", r)
		}
		for name, r := range d.exampleRequests(t, op, tok(aliceOID)...) {
			o.do(env.testAPI, op, name+" with an approver's token (entra)", r)
		}
	}
	key := newTestAPI(t, nil)
	seedStore(key.store)
	for _, op := range ops {
		for name, r := range d.exampleRequests(t, op) {
			o.do(key, op, name+" (AUTH_MODE=key)", r)
		}
	}
	for _, op := range ops {
		if got, want := hasScheme(d, op, "entraBearer"), noToken[op.id]; got != want {
			t.Errorf("%s: openapi.json lists entraBearer: %v; answers 401 without a token in entra mode: %v", op, got, want)
		}
		if got, want := hasScheme(d, op, "easyAuthPrincipal"), noPrincipal[op.id]; got != want {
			t.Errorf("%s: openapi.json lists easyAuthPrincipal: %v; answers 401 without a principal in easyauth mode: %v", op, got, want)
		}
	}

	// What the probes did not see is worth knowing, not a failure (some answers need Azure).
	for _, op := range ops {
		var unseen []string
		for status := range asMap(op.op["responses"]) {
			if n, _ := strconv.Atoi(status); !o.seen[op.id][n] {
				unseen = append(unseen, status)
			}
		}
		slices.Sort(unseen)
		t.Logf("%s: answered %v", op, slices.Sorted(maps.Keys(o.seen[op.id])))
		if len(unseen) > 0 {
			t.Logf("%s: documented but not answered by these probes: %v", op, unseen)
		}
	}
}

// TestReadmeHTTPAPISection: the README's HTTP API section answers what a caller would
// otherwise read code for — every route the router serves, every query parameter and error
// code the document lists, the required Content-Type and reason, and every way to
// authenticate.
func TestReadmeHTTPAPISection(t *testing.T) {
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	readme := string(b)
	start := strings.Index(readme, "\n## HTTP API")
	if start < 0 {
		t.Fatal("README.md has no ## HTTP API section")
	}
	section := readme[start+1:]
	if end := strings.Index(section, "\n## "); end >= 0 {
		section = section[:end]
	}
	d := loadOAS(t)
	for _, op := range d.servedOps(t) {
		route := op.method + " " + strings.TrimSuffix(prefix, "/") + op.path
		if !regexp.MustCompile("`" + regexp.QuoteMeta(route) + "[`?]").MatchString(section) {
			t.Errorf("the README's HTTP API section does not list `%s`", route)
		}
		for _, p := range asAnyList(op.op["parameters"]) {
			pm := d.deref(t, p)
			if name := fmt.Sprint(pm["name"]); pm["in"] == "query" && !strings.Contains(section, name+"=") && !strings.Contains(section, "`"+name+"`") {
				t.Errorf("the README's HTTP API section does not mention %s's query parameter %s", op.id, name)
			}
		}
	}
	detail := d.deref(t, asMap(asMap(d.root["components"])["schemas"])["ErrorDetail"])
	for _, code := range asList(asMap(asMap(detail["properties"])["code"])["enum"]) {
		if !strings.Contains(section, "`"+code+"`") {
			t.Errorf("the README's HTTP API section does not explain error code %s", code)
		}
	}
	for _, s := range asMap(asMap(d.root["components"])["securitySchemes"]) {
		name, _ := asMap(s)["name"].(string)
		if asMap(s)["scheme"] == "bearer" {
			name = "Authorization: Bearer"
		}
		if !strings.Contains(section, name) {
			t.Errorf("the README's HTTP API section does not say how to send %s", name)
		}
	}
	for _, want := range []string{"Content-Type:\napplication/json", "`reason`", "`continuation`", "DEMO_KEEP=1", "internal/devenv/tokenissuer", "Functions host", "openapi.json"} {
		if !strings.Contains(section, want) && !strings.Contains(section, strings.ReplaceAll(want, "\n", " ")) {
			t.Errorf("the README's HTTP API section does not mention %q", want)
		}
	}
}
