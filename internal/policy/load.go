package policy

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"cel.dev/cel-go/cel"
	"go.yaml.in/yaml/v3"

	"github.com/plsgate/plsgate/internal/resource"
)

// maxPolicyBytes bounds what Parse reads: a policy is a config file, not data.
const maxPolicyBytes = 1 << 20

// Load loads PLSGATE_POLICY: inline YAML/JSON text when it contains a newline or starts
// with "{", otherwise the path of a file.
func Load(source string) (*Policy, error) {
	s := strings.TrimSpace(source)
	if s == "" {
		return nil, &LoadError{File: "PLSGATE_POLICY", Msg: "no policy given: set a file path or inline YAML/JSON"}
	}
	if strings.Contains(s, "\n") || strings.HasPrefix(s, "{") {
		return Parse("<inline>", []byte(source))
	}
	f, err := os.Open(s)
	if err != nil {
		return nil, fmt.Errorf("load policy: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxPolicyBytes+1))
	if err != nil {
		return nil, fmt.Errorf("load policy: read %s: %w", s, err)
	}
	return Parse(s, data)
}

// Parse compiles a policy from YAML or JSON. name is used in error messages (a file name).
// Every problem found is returned, joined; each is a *LoadError.
func Parse(name string, data []byte) (*Policy, error) {
	if name == "" {
		name = "<inline>"
	}
	l := &loader{file: name}
	if len(data) > maxPolicyBytes {
		l.errAt(0, "", "the policy is larger than %d bytes", maxPolicyBytes)
		return nil, errors.Join(l.errs...)
	}
	root, err := decodeYAML(data)
	if err != nil {
		line, msg := yamlErrorLine(err)
		l.errAt(line, "", "%s", msg)
		return nil, errors.Join(l.errs...)
	}
	p := l.policy(root)
	if len(l.errs) > 0 {
		// Report in file order (matchers are compiled in evaluation order, not file order).
		slices.SortStableFunc(l.errs, func(a, b error) int { return a.(*LoadError).Line - b.(*LoadError).Line })
		return nil, errors.Join(l.errs...)
	}
	return p, nil
}

// decodeYAML reads exactly one document. JSON is YAML, so one decoder serves both and
// gives line numbers for either.
func decodeYAML(data []byte) (root *yaml.Node, err error) {
	defer func() {
		if r := recover(); r != nil { // defence in depth: outside input must never crash the loader
			root, err = nil, fmt.Errorf("yaml: %v", r)
		}
	}()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("the policy is empty")
		}
		return nil, err
	}
	var extra yaml.Node
	switch err := dec.Decode(&extra); {
	case errors.Is(err, io.EOF):
	case err != nil:
		return nil, err
	default:
		return nil, fmt.Errorf("yaml: line %d: a policy is one YAML document; found another", extra.Line)
	}
	if len(doc.Content) == 0 {
		return nil, errors.New("the policy is empty")
	}
	return doc.Content[0], nil
}

var yamlLineRE = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

func yamlErrorLine(err error) (int, string) {
	msg := err.Error()
	if m := yamlLineRE.FindStringSubmatch(msg); m != nil {
		n, _ := strconv.Atoi(m[1])
		return n, "invalid YAML/JSON: " + m[2]
	}
	if strings.HasPrefix(msg, "yaml: ") {
		return 0, "invalid YAML/JSON: " + strings.TrimPrefix(msg, "yaml: ")
	}
	return 0, msg
}

type loader struct {
	file   string
	errs   []error // each a *LoadError
	warns  []string
	env    *cel.Env
	envErr error
	memo   map[string]int // matcher identity -> memo slot
}

// memoSlot gives identical expensive matchers the same slot so Evaluate checks them once.
func (l *loader) memoSlot(m *matcher) int {
	if m.kind != kindGlob && m.kind != kindTags && m.kind != kindRegex {
		return -1
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%d/%d", m.kind, m.field)
	for _, g := range m.globs {
		fmt.Fprintf(&b, "/%q", asciiLower(g.src))
	}
	for _, t := range m.tags {
		fmt.Fprintf(&b, "/%q=%q", strings.ToLower(t.key), t.value)
	}
	if m.re != nil {
		fmt.Fprintf(&b, "/%q", m.re.String())
	}
	key := b.String()
	if slot, ok := l.memo[key]; ok {
		return slot
	}
	if len(l.memo) >= memoSlots {
		return -1
	}
	if l.memo == nil {
		l.memo = map[string]int{}
	}
	l.memo[key] = len(l.memo)
	return l.memo[key]
}

func (l *loader) errAt(line int, field, format string, args ...any) {
	l.errs = append(l.errs, &LoadError{File: l.file, Line: line, Field: field, Msg: fmt.Sprintf(format, args...)})
}

func (l *loader) errf(n *yaml.Node, field, format string, args ...any) {
	l.errAt(n.Line, field, format, args...)
}

func (l *loader) warnf(line int, field, format string, args ...any) {
	e := LoadError{File: l.file, Line: line, Field: field, Msg: fmt.Sprintf(format, args...)}
	l.warns = append(l.warns, e.Error())
}

func (l *loader) celEnv() (*cel.Env, error) {
	if l.env == nil && l.envErr == nil {
		l.env, l.envErr = newCELEnv()
	}
	return l.env, l.envErr
}

// deref follows a YAML alias (anchors are allowed; the schema bounds the depth).
func deref(n *yaml.Node) *yaml.Node {
	if n != nil && n.Kind == yaml.AliasNode && n.Alias != nil {
		return n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool { return n.Kind == yaml.ScalarNode && n.Tag == "!!null" }

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// fields checks that n is a mapping with only known, unique, string keys and returns
// its values by key. A null node is an empty mapping.
func (l *loader) fields(n *yaml.Node, path string, known ...string) (map[string]*yaml.Node, bool) {
	n = deref(n)
	out := map[string]*yaml.Node{}
	if isNull(n) {
		return out, true
	}
	if n.Kind != yaml.MappingNode {
		l.errf(n, path, "must be a mapping with fields %s", strings.Join(known, ", "))
		return nil, false
	}
	ok := true
	lines := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := deref(n.Content[i]), n.Content[i+1]
		if k.Kind != yaml.ScalarNode || isNull(k) {
			l.errf(k, path, "field names must be strings")
			ok = false
			continue
		}
		if !slices.Contains(known, k.Value) {
			l.errf(k, join(path, k.Value), "unknown field %q (known: %s)", k.Value, strings.Join(known, ", "))
			ok = false
			continue
		}
		if first, dup := lines[k.Value]; dup {
			l.errf(k, join(path, k.Value), "field given twice (first at line %d)", first)
			ok = false
			continue
		}
		lines[k.Value] = k.Line
		out[k.Value] = v
	}
	return out, ok
}

// str reads a non-null scalar as text (numbers and booleans keep their literal spelling).
func (l *loader) str(n *yaml.Node, path string) (string, bool) {
	n = deref(n)
	if n.Kind != yaml.ScalarNode || isNull(n) {
		l.errf(n, path, "must be a string")
		return "", false
	}
	return n.Value, true
}

// strList reads a list of strings; a single scalar is a one-item list.
func (l *loader) strList(n *yaml.Node, path string) ([]string, []int, bool) {
	n = deref(n)
	switch {
	case n.Kind == yaml.ScalarNode && !isNull(n):
		return []string{n.Value}, []int{n.Line}, true
	case n.Kind != yaml.SequenceNode:
		l.errf(n, path, "must be a list of strings")
		return nil, nil, false
	case len(n.Content) == 0:
		l.errf(n, path, "empty list matches nothing; omit the field to match anything")
		return nil, nil, false
	}
	out, lines, ok := make([]string, 0, len(n.Content)), make([]int, 0, len(n.Content)), true
	for i, c := range n.Content {
		s, good := l.str(c, fmt.Sprintf("%s[%d]", path, i))
		if good && s == "" {
			l.errf(deref(c), fmt.Sprintf("%s[%d]", path, i), "empty string")
			good = false
		}
		ok = ok && good
		out, lines = append(out, s), append(lines, deref(c).Line)
	}
	return out, lines, ok
}

func (l *loader) policy(root *yaml.Node) *Policy {
	top, ok := l.fields(root, "", "version", "default", "rules")
	if !ok && top == nil {
		return nil
	}
	p := &Policy{source: l.file, def: Leave}
	root = deref(root)
	if v, has := top["version"]; !has {
		l.errAt(root.Line, "version", "required: the policy must say version: 1")
	} else if s, good := l.str(v, "version"); good && s != "1" {
		l.errf(deref(v), "version", "unsupported version %q: this plsgate reads version 1", s)
	} else if good {
		p.version = 1
	}
	if v, has := top["default"]; has {
		if s, good := l.str(v, "default"); good {
			switch Action(s) {
			case Leave, Reject:
				p.def = Action(s)
			case Approve:
				l.errf(deref(v), "default", "cannot be approve: nothing is approved that no rule approves; use leave or reject")
			default:
				l.errf(deref(v), "default", "unknown default %q: want leave or reject", s)
			}
		}
	}
	rn, has := top["rules"]
	if !has {
		l.errAt(root.Line, "rules", "required: a list of rules (use [] for none)")
		return p
	}
	rn = deref(rn)
	if rn.Kind != yaml.SequenceNode {
		if !isNull(rn) {
			l.errf(rn, "rules", "must be a list of rules")
			return p
		}
	}
	if len(rn.Content) == 0 {
		l.warnf(rn.Line, "rules", "no rules: every connection gets the default (%s)", p.def)
	}
	seen := map[string]int{}
	verif := map[string]bool{}
	catchAll := -1
	for i, n := range rn.Content {
		r, good := l.rule(n, i, seen)
		if !good {
			continue
		}
		path := fmt.Sprintf("rules[%d]", i)
		if catchAll >= 0 {
			l.warnf(r.line, path, "unreachable: rules[%d] %q matches every connection first (no matchers, no when)",
				catchAll, p.rules[catchAll].name)
		} else if r.catchAll {
			catchAll = len(p.rules)
			if r.action == Approve {
				l.warnf(r.line, path, "approves every connection on every PLS (no matchers, no when)")
			}
		}
		for _, m := range r.matchers {
			if m.kind == kindVerified {
				verif[m.verify] = true
			}
		}
		p.rules = append(p.rules, r)
	}
	for v := range verif {
		p.verifications = append(p.verifications, v)
	}
	slices.Sort(p.verifications)
	n := len(p.rules)
	p.defReason = fmt.Sprintf("No rule matched (%d tried), so the default applies: %s.", n, actionSentence(p.def))
	p.warnings = l.warns
	return p
}

func (l *loader) rule(n *yaml.Node, i int, seen map[string]int) (rule, bool) {
	path := fmt.Sprintf("rules[%d]", i)
	n = deref(n)
	f, ok := l.fields(n, path, "name", "match", "when", "action", "message")
	if f == nil {
		return rule{}, false
	}
	r := rule{line: n.Line}
	if v, has := f["name"]; !has {
		l.errf(n, path+".name", "required: every rule needs a unique name")
		ok = false
	} else if s, good := l.str(v, path+".name"); !good {
		ok = false
	} else if msg := checkName(s); msg != "" {
		l.errf(deref(v), path+".name", "%s", msg)
		ok = false
	} else if first, dup := seen[strings.ToLower(s)]; dup {
		l.errf(deref(v), path+".name", "duplicate rule name %q (first at line %d)", s, first)
		ok = false
	} else {
		seen[strings.ToLower(s)] = deref(v).Line
		r.name = s
	}
	if v, has := f["action"]; !has {
		l.errf(n, path+".action", "required: approve, reject or leave")
		ok = false
	} else if s, good := l.str(v, path+".action"); !good {
		ok = false
	} else {
		switch Action(s) {
		case Approve, Reject, Leave:
			r.action = Action(s)
		default:
			l.errf(deref(v), path+".action", "unknown action %q: want approve, reject or leave", s)
			ok = false
		}
	}
	if v, has := f["match"]; has {
		ms, good := l.match(v, path+".match", r.action)
		ok = ok && good
		for i := range ms {
			ms[i].memo = l.memoSlot(&ms[i])
			for _, v := range ms[i].values {
				ms[i].lower = append(ms[i].lower, asciiLower(v))
			}
		}
		r.matchers = ms
	}
	if v, has := f["when"]; has {
		if s, good := l.str(v, path+".when"); !good {
			ok = false
		} else if strings.TrimSpace(s) == "" {
			l.errf(deref(v), path+".when", "empty CEL expression; omit when to always hold")
			ok = false
		} else if env, err := l.celEnv(); err != nil {
			l.errf(deref(v), path+".when", "CEL environment: %v", err)
			ok = false
		} else if c, line, err := compileCEL(env, s); err != nil {
			l.errAt(celFileLine(deref(v), line), path+".when", "%v", err)
			ok = false
		} else {
			r.when = c
		}
	}
	if v, has := f["message"]; has {
		if s, good := l.str(v, path+".message"); !good {
			ok = false
		} else if t, err := parseTemplate(s); err != nil {
			l.errf(deref(v), path+".message", "%v", err)
			ok = false
		} else {
			r.message = t
			if r.action == Leave {
				l.warnf(deref(v).Line, path+".message", "unused: a leave rule writes nothing to the connection")
			}
		}
	}
	if !ok {
		return rule{}, false
	}
	r.catchAll = len(r.matchers) == 0 && r.when == nil
	r.reason = fmt.Sprintf("Rule %q matched, so %s.", r.name, actionSentence(r.action))
	var held []string
	for _, m := range r.matchers {
		held = append(held, m.describe[:strings.IndexByte(m.describe, ':')])
	}
	if r.when != nil {
		held = append(held, "when")
	}
	if len(held) == 0 {
		r.matched = "matched: the rule has no matchers and no when"
	} else {
		r.matched = "matched: " + strings.Join(held, ", ") + " held"
	}
	return r, true
}

// celFileLine maps a line inside a `when` expression to a file line: a block scalar (| or >)
// starts on the line after its key, other scalars on the key's line.
func celFileLine(n *yaml.Node, exprLine int) int {
	if exprLine <= 0 {
		return n.Line
	}
	if n.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0 {
		return n.Line + exprLine
	}
	return n.Line + exprLine - 1
}

func checkName(s string) string {
	switch {
	case strings.TrimSpace(s) == "":
		return "empty rule name"
	case len(s) > 100:
		return "rule name longer than 100 characters"
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return "control character in rule name"
		}
	}
	return ""
}

var knownStatuses = []string{resource.StatusPending, resource.StatusApproved, resource.StatusRejected, resource.StatusDisconnected, resource.StatusRemoved}

// match compiles a `match` mapping into matchers in evaluation order (cheap checks first).
func (l *loader) match(n *yaml.Node, path string, action Action) ([]matcher, bool) {
	f, ok := l.fields(n, path, "privateLinkService", "resource", "requester", "connection", "requestMessage", "status", "verifiedBy")
	if f == nil {
		return nil, false
	}
	var ms []matcher
	add := func(m *matcher, good bool) { // m == nil: the field is absent
		ok = ok && good
		if good && m != nil {
			ms = append(ms, *m)
		}
	}
	if v, has := f["status"]; has {
		vals, lines, good := l.strList(v, path+".status")
		if good {
			hasPending := false
			for i, s := range vals {
				if k := slices.IndexFunc(knownStatuses, func(k string) bool { return strings.EqualFold(k, s) }); k >= 0 {
					vals[i] = knownStatuses[k]
				} else {
					l.warnf(lines[i], fmt.Sprintf("%s.status[%d]", path, i), "unknown status %q (known: %s)", s, strings.Join(knownStatuses, ", "))
				}
				hasPending = hasPending || vals[i] == "Pending"
				if vals[i] == "Rejected" && action == Approve {
					l.warnf(lines[i], fmt.Sprintf("%s.status[%d]", path, i), "Rejected is terminal in Azure: plsgate never approves a Rejected connection")
				}
			}
			if !hasPending && action != Leave {
				l.warnf(deref(v).Line, path+".status", "does not include Pending: plsgate only acts on Pending connections, so this rule can only report drift")
			}
			list := strings.Join(vals, ", ")
			add(&matcher{kind: kindEqual, field: fieldConnStatus, values: vals,
				describe: "status: " + list,
				unknown:  "status: the connection status is unknown",
				mismatch: "status: the connection status is not " + orList(vals)}, true)
		} else {
			ok = false
		}
	}
	if v, has := f["verifiedBy"]; has {
		vals, lines, good := l.strList(v, path+".verifiedBy")
		for i, s := range vals {
			canon, known := knownVerifications[strings.ToLower(s)]
			if !known {
				l.errAt(lines[i], path+".verifiedBy", "unknown verification %q (known: %s)", s, VerifiedWebPubSub)
				good = false
				continue
			}
			add(&matcher{kind: kindVerified, verify: canon, describe: "verifiedBy: " + canon,
				mismatch: "verifiedBy: " + verificationFailure(canon)}, good)
		}
		ok = ok && good
	}
	if v, has := f["privateLinkService"]; has {
		p := path + ".privateLinkService"
		g, good := l.fields(v, p, "ids", "subscriptions", "resourceGroups", "names", "locations", "tags")
		ok = ok && good
		if g != nil {
			n := len(ms)
			add(l.globMatcher(g, p, "ids", fieldResID, true, "privateLinkService.ids", "the PLS ID"))
			add(l.guidMatcher(g, p, "subscriptions", fieldResSubscription, "privateLinkService.subscriptions", "the PLS subscription"))
			add(l.globMatcher(g, p, "resourceGroups", fieldResResourceGroup, false, "privateLinkService.resourceGroups", "the PLS resource group"))
			add(l.globMatcher(g, p, "names", fieldResName, false, "privateLinkService.names", "the PLS name"))
			add(l.locationMatcher(g, p, "locations", fieldResLocation, "privateLinkService.locations", "the PLS location"))
			if t, has := g["tags"]; has {
				add(l.tagsMatcher(t, p+".tags", "privateLinkService.tags", "the PLS"))
			}
			if good && len(ms) == n { // privateLinkService: {} still says "a private link service"
				add(&matcher{kind: kindEqual, field: fieldResType, values: []string{plsType},
					describe: "privateLinkService: any private link service"}, true)
			}
			for i := n; i < len(ms); i++ {
				label := ms[i].describe[:strings.IndexByte(ms[i].describe, ':')]
				ms[i].scope, ms[i].notPLS = scopePLS, label+": the connection's resource is not a private link service"
			}
		}
	}
	if v, has := f["resource"]; has {
		p := path + ".resource"
		g, good := l.fields(v, p, "types", "ids", "subscriptions", "resourceGroups", "names", "locations", "tags")
		ok = ok && good
		if g != nil {
			add(l.typesMatcher(g, p))
			add(l.globMatcher(g, p, "ids", fieldResID, true, "resource.ids", "the resource ID"))
			add(l.guidMatcher(g, p, "subscriptions", fieldResSubscription, "resource.subscriptions", "the resource's subscription"))
			add(l.globMatcher(g, p, "resourceGroups", fieldResResourceGroup, false, "resource.resourceGroups", "the resource's resource group"))
			add(l.globMatcher(g, p, "names", fieldResName, false, "resource.names", "the resource name"))
			add(l.locationMatcher(g, p, "locations", fieldResLocation, "resource.locations", "the resource's location"))
			if t, has := g["tags"]; has {
				add(l.tagsMatcher(t, p+".tags", "resource.tags", "the resource"))
			}
		}
	}
	if v, has := f["requester"]; has {
		p := path + ".requester"
		g, good := l.fields(v, p, "subscriptions", "resourceGroups", "tenants", "locations")
		ok = ok && good
		if g != nil {
			add(l.guidMatcher(g, p, "subscriptions", fieldReqSubscription, "requester.subscriptions", "the requester subscription (from privateEndpoint.id)"))
			add(l.globMatcher(g, p, "resourceGroups", fieldReqResourceGroup, false, "requester.resourceGroups", "the requester resource group (from privateEndpoint.id)"))
			add(l.guidMatcher(g, p, "tenants", fieldReqTenant, "requester.tenants", "the requester tenant"))
			add(l.locationMatcher(g, p, "locations", fieldReqLocation, "requester.locations", "the private endpoint location"))
		}
	}
	var message *yaml.Node
	messagePath := ""
	if v, has := f["connection"]; has {
		p := path + ".connection"
		g, good := l.fields(v, p, "names", "requestMessage", "description", "linkIdentifiers")
		ok = ok && good
		if g != nil {
			add(l.globMatcher(g, p, "names", fieldConnName, false, "connection.names", "the connection name"))
			add(l.equalMatcher(g, p, "linkIdentifiers", fieldConnLinkID, "connection.linkIdentifiers", "the link identifier"))
			for _, k := range []string{"requestMessage", "description"} {
				if m, has := g[k]; has {
					if message != nil {
						l.errf(deref(m), p+"."+k, "the request message is the description: give only one of %s and %s", messagePath, p+"."+k)
						ok = false
						continue
					}
					message, messagePath = m, p+"."+k
				}
			}
		}
	}
	if m, has := f["requestMessage"]; has {
		if message != nil {
			l.errf(deref(m), path+".requestMessage", "same matcher as %s: give only one", messagePath)
			ok = false
		} else {
			message, messagePath = m, path+".requestMessage"
		}
	}
	if message != nil {
		label := strings.TrimPrefix(messagePath, path+".")
		if s, good := l.str(message, messagePath); !good {
			ok = false
		} else if re, err := regexp.Compile(s); err != nil {
			l.errf(deref(message), messagePath, "invalid regex: %v", err)
			ok = false
		} else {
			add(&matcher{kind: kindRegex, field: fieldConnDescription, re: re,
				describe: label + ": /" + s + "/",
				mismatch: label + ": the request message (description) does not match /" + s + "/"}, true)
		}
	}
	if v, has := f["verifiedBy"]; has && ok {
		l.warnGuessable(ms, deref(v).Line, path, message, messagePath) // guessable.go
	}
	return ms, ok
}

func verificationFailure(name string) string {
	if name == VerifiedWebPubSub {
		return "no configured Web PubSub resource has a matching shared private link resource (same PLS, provisioned and Pending, exactly this request message, which no other connection on the PLS carries, not bound to another connection)"
	}
	return name + " verification did not pass"
}

// orList renders values for a trace reason, shortened when long.
func orList(vals []string) string {
	const max = 4
	q := make([]string, 0, max)
	for i, v := range vals {
		if i == max {
			break
		}
		q = append(q, strconv.Quote(v))
	}
	s := strings.Join(q, ", ")
	if len(vals) > 1 {
		s = "one of " + s
	}
	if len(vals) > max {
		s += fmt.Sprintf(" (+%d more)", len(vals)-max)
	}
	return s
}

func (l *loader) globMatcher(g map[string]*yaml.Node, path, key string, fl field, resourceID bool, label, noun string) (*matcher, bool) {
	v, has := g[key]
	if !has {
		return nil, true
	}
	p := path + "." + key
	vals, lines, ok := l.strList(v, p)
	if !ok {
		return nil, false
	}
	m := &matcher{kind: kindGlob, field: fl, describe: label + ": " + strings.Join(vals, ", "),
		unknown:  label + ": " + noun + " is unknown",
		mismatch: label + ": " + noun + " does not match " + orList(vals)}
	for i, s := range vals {
		gl, err := compileGlob(s, resourceID)
		if err != nil {
			l.errAt(lines[i], fmt.Sprintf("%s[%d]", p, i), "bad glob %q: %v", s, err)
			ok = false
			continue
		}
		m.globs = append(m.globs, gl)
	}
	return m, ok
}

// guidMatcher matches subscription or tenant IDs; values that are not GUIDs are warned
// about, not refused (emulators and tests use short IDs).
// typesMatcher matches the resource's ARM type (case-insensitively). A value that is no
// ARM type is an error; a type of no kind plsgate manages is a warning (the rule can never
// match until a provider for it is registered).
func (l *loader) typesMatcher(g map[string]*yaml.Node, path string) (*matcher, bool) {
	m, ok := l.equalMatcher(g, path, "types", fieldResType, "resource.types", "the resource type")
	if m == nil {
		return nil, ok
	}
	_, lines, _ := l.strList(g["types"], path+".types")
	var known []string
	for _, k := range resource.Kinds() {
		known = append(known, k.Type)
	}
	for i, v := range m.values {
		at := fmt.Sprintf("%s.types[%d]", path, i)
		ns, typ, _ := strings.Cut(v, "/")
		if !strings.Contains(ns, ".") || typ == "" || strings.ContainsAny(v, " *?") {
			l.errAt(lines[i], at, "%q is not an ARM resource type (want Namespace.Provider/type, e.g. %s)", v, plsType)
			ok = false
			continue
		}
		if k := slices.IndexFunc(known, func(k string) bool { return strings.EqualFold(k, v) }); k >= 0 {
			m.values[i] = known[k]
		} else {
			l.warnf(lines[i], at, "%q is not a resource type plsgate manages (registered: %s): the rule cannot match it", v, strings.Join(known, ", "))
		}
	}
	m.describe = "resource.types: " + strings.Join(m.values, ", ")
	return m, ok
}

func (l *loader) guidMatcher(g map[string]*yaml.Node, path, key string, fl field, label, noun string) (*matcher, bool) {
	m, ok := l.equalMatcher(g, path, key, fl, label, noun)
	if m != nil {
		_, lines, _ := l.strList(g[key], path+"."+key)
		for i, s := range m.values {
			if !isGUID(s) {
				l.warnf(lines[i], fmt.Sprintf("%s.%s[%d]", path, key, i), "%q does not look like an ID (a GUID)", s)
			}
		}
	}
	return m, ok
}

func (l *loader) equalMatcher(g map[string]*yaml.Node, path, key string, fl field, label, noun string) (*matcher, bool) {
	v, has := g[key]
	if !has {
		return nil, true
	}
	vals, _, ok := l.strList(v, path+"."+key)
	if !ok {
		return nil, false
	}
	return &matcher{kind: kindEqual, field: fl, values: vals, describe: label + ": " + strings.Join(vals, ", "),
		unknown:  label + ": " + noun + " is unknown",
		mismatch: label + ": " + noun + " is not " + orList(vals)}, true
}

func (l *loader) locationMatcher(g map[string]*yaml.Node, path, key string, fl field, label, noun string) (*matcher, bool) {
	m, ok := l.equalMatcher(g, path, key, fl, label, noun)
	if m != nil {
		m.kind = kindLocation
	}
	return m, ok
}

// tagsMatcher compiles a tags mapping; label names it in traces (privateLinkService.tags,
// resource.tags) and noun the resource ("the PLS").
func (l *loader) tagsMatcher(n *yaml.Node, path, label, noun string) (*matcher, bool) {
	n = deref(n)
	if n.Kind != yaml.MappingNode {
		l.errf(n, path, `must be a mapping of tag name to value ("*" = the tag exists)`)
		return nil, false
	}
	if len(n.Content) == 0 {
		l.errf(n, path, "empty mapping; omit the field to match any tags")
		return nil, false
	}
	m := &matcher{kind: kindTags}
	var desc []string
	ok := true
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := deref(n.Content[i])
		key, good := l.str(k, path)
		if !good {
			ok = false
			continue
		}
		p := path + "." + key
		if key == "" {
			l.errf(k, p, "empty tag name")
			ok = false
			continue
		}
		if first, dup := seen[strings.ToLower(key)]; dup {
			l.errf(k, p, "tag given twice (first at line %d; tag names are case-insensitive)", first)
			ok = false
			continue
		}
		seen[strings.ToLower(key)] = k.Line
		val, good := l.str(n.Content[i+1], p)
		if !good {
			ok = false
			continue
		}
		t := tagReq{key: key, value: val, exists: val == "*",
			missing: fmt.Sprintf("%s: %s has no tag %q", label, noun, key),
			differs: fmt.Sprintf("%s: tag %q is not %q", label, key, val)}
		m.tags = append(m.tags, t)
		desc = append(desc, key+"="+val)
	}
	m.describe = label + ": " + strings.Join(desc, ", ")
	return m, ok
}

// parseTemplate compiles a message. {name} with a word inside is a placeholder and must be
// known; other braces are literal text.
func parseTemplate(s string) (template, error) {
	t := template{src: s}
	var lit strings.Builder
	flush := func() {
		if lit.Len() > 0 {
			t.parts = append(t.parts, tplPart{lit: lit.String()})
			lit.Reset()
		}
	}
	for i := 0; i < len(s); {
		if s[i] == '{' {
			if j := strings.IndexByte(s[i:], '}'); j > 1 && isWord(s[i+1:i+j]) {
				name := s[i+1 : i+j]
				ph, known := placeholders[name]
				if !known {
					return template{}, fmt.Errorf("unknown placeholder {%s} (known: {rule}, {resource}, {pls}, {connection})", name)
				}
				flush()
				t.parts = append(t.parts, tplPart{ph: ph})
				i += j + 1
				continue
			}
		}
		lit.WriteByte(s[i])
		i++
	}
	flush()
	return t, nil
}

func isWord(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_') {
			return false
		}
	}
	return s != ""
}
