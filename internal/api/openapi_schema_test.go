package api

// A small reader and JSON Schema checker for openapi.json, enough for what the document uses.
// A keyword it does not know is an error, so the document cannot use a constraint the tests
// would silently skip.

import (
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// oasDoc is the decoded document.
type oasDoc struct {
	root map[string]any
}

func loadOAS(t testing.TB) *oasDoc {
	t.Helper()
	var root map[string]any
	if err := json.Unmarshal(openAPIDoc, &root); err != nil {
		t.Fatalf("openapi.json is not a JSON object: %v", err)
	}
	return &oasDoc{root: root}
}

// pointer resolves a local reference ("#/components/schemas/X").
func (d *oasDoc) pointer(ref string) (any, error) {
	rest, ok := strings.CutPrefix(ref, "#/")
	if !ok {
		return nil, fmt.Errorf("reference %q is not local (#/…)", ref)
	}
	var cur any = d.root
	for _, tok := range strings.Split(rest, "/") {
		tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("reference %q: %q is not inside an object", ref, tok)
		}
		if cur, ok = m[tok]; !ok {
			return nil, fmt.Errorf("reference %q: no %q", ref, tok)
		}
	}
	return cur, nil
}

// deref follows a Reference Object ($ref with optional summary/description) to its target.
func (d *oasDoc) deref(t testing.TB, v any) map[string]any {
	t.Helper()
	m, _ := v.(map[string]any)
	for i := 0; m != nil && i < 10; i++ {
		ref, ok := m["$ref"].(string)
		if !ok {
			return m
		}
		target, err := d.pointer(ref)
		if err != nil {
			t.Fatal(err)
		}
		m, _ = target.(map[string]any)
	}
	if m == nil {
		t.Fatalf("%v is not an object", v)
	}
	return m
}

// refName is the component name a schema refers to ("" when it is not a $ref).
func refName(s any) string {
	m, _ := s.(map[string]any)
	ref, _ := m["$ref"].(string)
	return ref[strings.LastIndex(ref, "/")+1:]
}

// Schema keywords the checker applies, and the ones it may ignore (annotations).
var (
	schemaAssertions = []string{"$ref", "type", "enum", "const", "properties", "required", "additionalProperties",
		"items", "allOf", "anyOf", "oneOf", "not", "minLength", "maxLength", "minimum", "maximum", "pattern", "format"}
	schemaAnnotations = []string{"description", "title", "default", "examples", "readOnly", "writeOnly", "deprecated", "$comment"}
)

// schemaKeywords reports keywords of s (and its subschemas) the checker does not know.
func schemaKeywords(s any, at string) []string {
	m, ok := s.(map[string]any)
	if !ok {
		if _, isBool := s.(bool); isBool {
			return nil
		}
		return []string{at + ": a schema must be an object or a boolean"}
	}
	var errs []string
	for k, v := range m {
		if !slices.Contains(schemaAssertions, k) && !slices.Contains(schemaAnnotations, k) {
			errs = append(errs, fmt.Sprintf("%s: schema keyword %q is not checked by the tests (openapi_schema_test.go)", at, k))
		}
		switch k {
		case "properties":
			props, _ := v.(map[string]any)
			for name, p := range props {
				errs = append(errs, schemaKeywords(p, at+"/properties/"+name)...)
			}
		case "items", "not", "additionalProperties":
			errs = append(errs, schemaKeywords(v, at+"/"+k)...)
		case "allOf", "anyOf", "oneOf":
			list, _ := v.([]any)
			for i, sub := range list {
				errs = append(errs, schemaKeywords(sub, fmt.Sprintf("%s/%s/%d", at, k, i))...)
			}
		case "format":
			if v != "date-time" {
				errs = append(errs, fmt.Sprintf("%s: format %v is not checked by the tests", at, v))
			}
		}
	}
	return errs
}

// validate checks the JSON value x (as encoding/json decodes into any) against schema s.
func (d *oasDoc) validate(s any, x any, at string) []string {
	if b, ok := s.(bool); ok {
		if !b {
			return []string{at + ": no value is allowed here"}
		}
		return nil
	}
	m, ok := s.(map[string]any)
	if !ok {
		return []string{at + ": bad schema"}
	}
	var errs []string
	fail := func(format string, args ...any) { errs = append(errs, at+": "+fmt.Sprintf(format, args...)) }
	if ref, ok := m["$ref"].(string); ok {
		target, err := d.pointer(ref)
		if err != nil {
			return []string{at + ": " + err.Error()}
		}
		errs = append(errs, d.validate(target, x, at)...)
	}
	if tv, ok := m["type"]; ok {
		var types []string
		switch tv := tv.(type) {
		case string:
			types = []string{tv}
		case []any:
			for _, t := range tv {
				types = append(types, fmt.Sprint(t))
			}
		}
		if !slices.ContainsFunc(types, func(t string) bool { return jsonTypeIs(x, t) }) {
			fail("%s is not of type %v", jsonTypeOf(x), types)
			return errs // the other keywords would only repeat it
		}
	}
	if enum, ok := m["enum"].([]any); ok && !slices.ContainsFunc(enum, func(e any) bool { return reflect.DeepEqual(e, x) }) {
		fail("%v is not one of %v", x, enum)
	}
	if c, ok := m["const"]; ok && !reflect.DeepEqual(c, x) {
		fail("%v is not %v", x, c)
	}
	switch x := x.(type) {
	case map[string]any:
		props, _ := m["properties"].(map[string]any)
		for _, r := range asList(m["required"]) {
			if _, ok := x[r]; !ok {
				fail("required property %q is missing", r)
			}
		}
		for k, v := range x {
			if p, ok := props[k]; ok {
				errs = append(errs, d.validate(p, v, at+"/"+k)...)
			} else if ap, ok := m["additionalProperties"]; ok {
				errs = append(errs, d.validate(ap, v, at+"/"+k)...)
			}
		}
	case []any:
		if items, ok := m["items"]; ok {
			for i, v := range x {
				errs = append(errs, d.validate(items, v, fmt.Sprintf("%s/%d", at, i))...)
			}
		}
	case string:
		n := utf8.RuneCountInString(x)
		if v, ok := m["minLength"].(float64); ok && float64(n) < v {
			fail("shorter than %v characters", v)
		}
		if v, ok := m["maxLength"].(float64); ok && float64(n) > v {
			fail("longer than %v characters", v)
		}
		if p, ok := m["pattern"].(string); ok && !regexp.MustCompile(p).MatchString(x) {
			fail("%q does not match %s", x, p)
		}
		if m["format"] == "date-time" {
			if _, err := time.Parse(time.RFC3339Nano, x); err != nil {
				fail("%q is not a date-time", x)
			}
		}
	case float64:
		if v, ok := m["minimum"].(float64); ok && x < v {
			fail("%v is below %v", x, v)
		}
		if v, ok := m["maximum"].(float64); ok && x > v {
			fail("%v is above %v", x, v)
		}
	}
	for _, sub := range asAnyList(m["allOf"]) {
		errs = append(errs, d.validate(sub, x, at)...)
	}
	if list := asAnyList(m["anyOf"]); list != nil {
		if !slices.ContainsFunc(list, func(sub any) bool { return len(d.validate(sub, x, at)) == 0 }) {
			fail("matches none of anyOf")
		}
	}
	if list := asAnyList(m["oneOf"]); list != nil {
		n := 0
		for _, sub := range list {
			if len(d.validate(sub, x, at)) == 0 {
				n++
			}
		}
		if n != 1 {
			fail("matches %d of oneOf, want exactly 1", n)
		}
	}
	if not, ok := m["not"]; ok && len(d.validate(not, x, at)) == 0 {
		fail("matches what \"not\" excludes")
	}
	return errs
}

func asList(v any) []string {
	var out []string
	for _, s := range asAnyList(v) {
		out = append(out, fmt.Sprint(s))
	}
	return out
}

func asAnyList(v any) []any { l, _ := v.([]any); return l }

func jsonTypeOf(x any) string {
	switch x := x.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case string:
		return "string"
	case float64:
		if x == math.Trunc(x) {
			return "integer"
		}
		return "number"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return fmt.Sprintf("%T", x)
}

func jsonTypeIs(x any, t string) bool {
	got := jsonTypeOf(x)
	return got == t || (t == "number" && got == "integer")
}

// effectiveObject merges an object schema with its allOf members (followed through $ref):
// the properties and the required names a value of it has.
func (d *oasDoc) effectiveObject(t testing.TB, s any) (props map[string]any, required []string) {
	t.Helper()
	props = map[string]any{}
	m := d.deref(t, s)
	for k, v := range asMap(m["properties"]) {
		props[k] = v
	}
	required = append(required, asList(m["required"])...)
	for _, sub := range asAnyList(m["allOf"]) {
		p, r := d.effectiveObject(t, sub)
		for k, v := range p {
			props[k] = v
		}
		required = append(required, r...)
	}
	slices.Sort(required)
	return props, slices.Compact(required)
}

func asMap(v any) map[string]any { m, _ := v.(map[string]any); return m }
