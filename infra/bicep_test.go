package infra_test

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// A loose reader of Bicep: enough to find declarations and object blocks and to check that
// strings, comments and brackets are well formed. It is no compiler (none can be installed
// here); it keeps the text-level checks from being fooled by braces inside strings.

// bicepFile is a Bicep source with its masked twin: the same length, with comments blanked and
// the literal parts of strings replaced by 'x', so that braces and keywords found in the mask
// are code. Offsets are shared between the two.
type bicepFile struct {
	path string
	src  string
	mask string
}

func loadBicep(t *testing.T, path string) *bicepFile {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading %s: %v", path, err)
	}
	m, err := maskBicep(string(b))
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return &bicepFile{path: path, src: string(b), mask: m}
}

// maskBicep blanks comments and string literals and checks that every string ends on its line,
// every interpolation closes, and brackets pair up.
func maskBicep(src string) (string, error) {
	out := []byte(src)
	var stack []byte // '{', '[', '(' or 'I' (an interpolation ${...} inside a string)
	line := func(i int) int { return strings.Count(src[:i], "\n") + 1 }
	blank := func(from, to int, with byte) {
		for j := from; j < to; j++ {
			if out[j] != '\n' {
				out[j] = with
			}
		}
	}
	inStr := false
	strStart := 0
	for i := 0; i < len(src); {
		if inStr {
			switch {
			case src[i] == '\\' && i+1 < len(src):
				blank(i, i+2, 'x')
				i += 2
			case src[i] == '\'':
				inStr = false
				i++
			case src[i] == '$' && i+1 < len(src) && src[i+1] == '{':
				blank(i, i+2, ' ')
				stack = append(stack, 'I')
				inStr = false
				i += 2
			case src[i] == '\n':
				return "", fmt.Errorf("line %d: string not closed on its line", line(strStart))
			default:
				out[i] = 'x'
				i++
			}
			continue
		}
		switch c := src[i]; {
		case strings.HasPrefix(src[i:], "//"):
			end := strings.IndexByte(src[i:], '\n')
			if end < 0 {
				end = len(src) - i
			}
			blank(i, i+end, ' ')
			i += end
		case strings.HasPrefix(src[i:], "/*"):
			end := strings.Index(src[i+2:], "*/")
			if end < 0 {
				return "", fmt.Errorf("line %d: comment not closed", line(i))
			}
			blank(i, i+2+end+2, ' ')
			i += 2 + end + 2
		case strings.HasPrefix(src[i:], "'''"):
			end := strings.Index(src[i+3:], "'''")
			if end < 0 {
				return "", fmt.Errorf("line %d: multi-line string not closed", line(i))
			}
			blank(i+3, i+3+end, 'x')
			i += 3 + end + 3
		case c == '\'':
			inStr, strStart = true, i
			i++
		case c == '{' || c == '[' || c == '(':
			stack = append(stack, c)
			i++
		case c == '}' || c == ']' || c == ')':
			if len(stack) == 0 {
				return "", fmt.Errorf("line %d: %q closes nothing", line(i), c)
			}
			top := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			if top == 'I' {
				if c != '}' {
					return "", fmt.Errorf("line %d: %q inside an interpolation", line(i), c)
				}
				out[i] = ' '
				inStr = true
			} else if map[byte]byte{'{': '}', '[': ']', '(': ')'}[top] != c {
				return "", fmt.Errorf("line %d: %q closes %q", line(i), c, top)
			}
			i++
		default:
			i++
		}
	}
	if inStr {
		return "", fmt.Errorf("line %d: string not closed", line(strStart))
	}
	if len(stack) > 0 {
		return "", fmt.Errorf("end of file: %d bracket(s) not closed", len(stack))
	}
	return string(out), nil
}

func (f *bicepFile) line(i int) int { return strings.Count(f.src[:i], "\n") + 1 }

// isCode reports whether offset i is code (not inside a comment or string literal).
func (f *bicepFile) isCode(i int) bool { return f.mask[i] == f.src[i] }

// find returns the code matches of re in the source (matches starting inside comments or
// strings are dropped), as submatch index slices.
func (f *bicepFile) find(re *regexp.Regexp) [][]int {
	var out [][]int
	for _, m := range re.FindAllStringSubmatchIndex(f.src, -1) {
		if f.isCode(m[0]) {
			out = append(out, m)
		}
	}
	return out
}

// closing returns the offset of the bracket that closes the one at open.
func (f *bicepFile) closing(open int) int {
	depth := 0
	for i := open; i < len(f.mask); i++ {
		switch f.mask[i] {
		case '{', '[', '(':
			depth++
		case '}', ']', ')':
			depth--
			if depth == 0 {
				return i
			}
		}
	}
	return -1
}

type entry struct {
	key, value string
	at         int // offset of the key
}

// entries returns the top-level "key: value" pairs of the object whose '{' is at open. A value
// is the rest of the key's line (a nested object or array value starts there).
func (f *bicepFile) entries(open int) []entry {
	end := f.closing(open)
	keyRE := regexp.MustCompile(`^\s*([A-Za-z_][A-Za-z0-9_]*|'[^']*')\s*:`)
	var out []entry
	depth, lineDepth := 0, 0 // depth now, and at the start of the current line
	lineStart := open + 1
	for i := open + 1; i <= end; i++ {
		if i == end || f.mask[i] == '\n' {
			if lineDepth == 0 {
				seg := f.mask[lineStart:i]
				if m := keyRE.FindStringSubmatchIndex(seg); m != nil {
					key := f.src[lineStart+m[2] : lineStart+m[3]]
					val := strings.TrimSpace(f.src[lineStart+m[1] : i])
					out = append(out, entry{key: strings.Trim(key, "'"), value: val, at: lineStart + m[2]})
				}
			}
			lineStart, lineDepth = i+1, depth
		}
		if i == end {
			break
		}
		switch f.mask[i] {
		case '{', '[', '(':
			depth++
		case '}', ']', ')':
			depth--
		}
	}
	return out
}

// block finds the object opened by the first code match of re (whose last character must be
// '{') at or after offset from; it returns the offset of that '{', or -1.
func (f *bicepFile) block(re *regexp.Regexp, from int) int {
	for _, m := range re.FindAllStringIndex(f.src[from:], -1) {
		start, open := from+m[0], from+m[1]-1
		if f.isCode(start) && f.src[open] == '{' && f.isCode(open) {
			return open
		}
	}
	return -1
}

type param struct {
	name, typ, def string
	hasDefault     bool
}

var paramRE = regexp.MustCompile(`(?m)^param\s+(\w+)\s+(\w+)(?:\s*=\s*(.*?))?\s*$`)

// params returns the file's parameter declarations.
func (f *bicepFile) params() map[string]param {
	out := map[string]param{}
	for _, m := range f.find(paramRE) {
		p := param{name: f.src[m[2]:m[3]], typ: f.src[m[4]:m[5]]}
		if m[6] >= 0 {
			p.def, p.hasDefault = f.src[m[6]:m[7]], true
		}
		out[p.name] = p
	}
	return out
}

// literal turns a Bicep literal (string, bool, int, empty array) into the text an app setting
// would carry; ok is false for anything else (an expression).
func literal(expr string) (string, bool) {
	expr = strings.TrimSpace(expr)
	switch {
	case len(expr) >= 2 && expr[0] == '\'' && expr[len(expr)-1] == '\'' && !strings.Contains(expr, "${"):
		s := expr[1 : len(expr)-1]
		return strings.NewReplacer(`\'`, `'`, `\\`, `\`, `\$`, `$`).Replace(s), true
	case expr == "true" || expr == "false":
		return expr, true
	case regexp.MustCompile(`^-?\d+$`).MatchString(expr):
		return expr, true
	case expr == "[]":
		return "", true
	}
	return "", false
}

// moduleUse is one module declaration: its symbol, file and the params block it passes.
type moduleUse struct {
	symbol, path string
	at           int
	params       []entry
}

var moduleRE = regexp.MustCompile(`(?m)^module\s+(\w+)\s+'([^']+)'\s*=`)
var declRE = regexp.MustCompile(`(?m)^(module|resource|output|var|param|type|func)\s`)

func (f *bicepFile) modules(t *testing.T) []moduleUse {
	t.Helper()
	var out []moduleUse
	for _, m := range f.find(moduleRE) {
		u := moduleUse{symbol: f.src[m[2]:m[3]], path: f.src[m[4]:m[5]], at: m[0]}
		end := len(f.src)
		if next := declRE.FindStringIndex(f.src[m[1]:]); next != nil {
			end = m[1] + next[0]
		}
		if open := f.block(regexp.MustCompile(`params\s*:\s*\{`), m[1]); open >= 0 && open < end {
			u.params = f.entries(open)
		}
		out = append(out, u)
	}
	return out
}

func bicepFiles(t *testing.T) []string {
	t.Helper()
	var files []string
	err := filepath.WalkDir(".", func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".bicep") {
			files = append(files, p)
		}
		return err
	})
	if err != nil || len(files) == 0 {
		t.Fatalf("listing .bicep files: %v (found %d)", err, len(files))
	}
	return files
}

func TestMaskBicep(t *testing.T) {
	cases := []struct {
		name, src string
		wantErr   string
	}{
		{"plain", "var a = {\n  b: [1, 2]\n}\n", ""},
		{"brace in string", "var a = '{'\n", ""},
		{"interpolation with nested string", "var a = '${split(id, '/')[2]}-x'\n", ""},
		{"escaped quote", "var a = 'it\\'s'\n", ""},
		{"comment with brace", "// {\nvar a = 1\n", ""},
		{"block comment", "/* { ' */ var a = 1\n", ""},
		{"multi-line string", "var a = '''\n{ '\n'''\n", ""},
		{"unclosed brace", "var a = {\n", "not closed"},
		{"mismatched", "var a = [1}\n", "closes"},
		{"unclosed string", "var a = 'x\n", "string not closed"},
		{"stray close", "}\n", "closes nothing"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m, err := maskBicep(c.src)
			if c.wantErr == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				if len(m) != len(c.src) {
					t.Fatalf("mask changed the length")
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Fatalf("want error containing %q, got %v", c.wantErr, err)
			}
		})
	}
}

func TestEntries(t *testing.T) {
	src := "resource x 'A/b@2020-01-01' = {\n  properties: {\n    A: 'x: {y}'\n    B: foo.bar\n    C: {\n      D: 1\n    }\n    'E-F': 2\n  }\n}\n"
	m, err := maskBicep(src)
	if err != nil {
		t.Fatal(err)
	}
	f := &bicepFile{src: src, mask: m}
	open := f.block(regexp.MustCompile(`properties:\s*\{`), 0)
	var got []string
	for _, e := range f.entries(open) {
		got = append(got, e.key+"="+e.value)
	}
	want := []string{"A='x: {y}'", "B=foo.bar", "C={", "E-F=2"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("entries = %q, want %q", got, want)
	}
}

func TestLiteral(t *testing.T) {
	for expr, want := range map[string]string{`'a\'b'`: "a'b", "true": "true", "8": "8", "[]": ""} {
		if got, ok := literal(expr); !ok || got != want {
			t.Errorf("literal(%s) = %q, %v; want %q", expr, got, ok, want)
		}
	}
	for _, expr := range []string{"foo", "'${x}'", "string(x)", "[\n'a'\n]"} {
		if _, ok := literal(expr); ok {
			t.Errorf("literal(%q) should not be a literal", expr)
		}
	}
}
