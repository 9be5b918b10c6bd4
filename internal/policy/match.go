package policy

import (
	"regexp"
	"strings"
)

// field names one string fact.
type field uint8

const (
	fieldResID field = iota
	fieldResSubscription
	fieldResResourceGroup
	fieldResName
	fieldResLocation
	fieldResType
	fieldReqSubscription
	fieldReqResourceGroup
	fieldReqTenant
	fieldReqLocation
	fieldConnName
	fieldConnDescription
	fieldConnLinkID
	fieldConnStatus
	numFields
)

// evalCtx holds the string facts of one evaluation, indexed by field, with the values
// derived from resource IDs filled in. It lives on Evaluate's stack and holds no pointer
// to the caller's Facts, so the Facts do not escape to the heap.
type evalCtx struct {
	str      [numFields]string
	tags     map[string]string
	verified map[string]bool
	isPLS    bool                   // the resource is a private link service (privateLinkService matchers)
	held     [memoSlots / 64]uint64 // memoised matchers known to hold in this evaluation
}

// memoSlots bounds how many distinct expensive matchers (globs, tags, regexes) are
// memoised per evaluation; policies repeat their PLS scope across rules, so a scope
// shared by 50 rules is checked once. Beyond the bound matchers are simply not memoised.
const memoSlots = 256

// plsType is the ARM type of a private link service.
const plsType = "Microsoft.Network/privateLinkServices"

func newEvalCtx(f *Facts) evalCtx {
	c := evalCtx{verified: f.Verified}
	legacy := f.Resource.ID == "" && f.Resource.Type == ""
	if legacy { // a caller that speaks of a PLS only
		p := &f.PLS
		c.tags = p.Tags
		c.str[fieldResID], c.str[fieldResSubscription], c.str[fieldResResourceGroup] = p.ID, p.SubscriptionID, p.ResourceGroup
		c.str[fieldResName], c.str[fieldResLocation] = p.Name, p.Location
	} else {
		r := &f.Resource
		c.tags = r.Tags
		c.str[fieldResID], c.str[fieldResSubscription], c.str[fieldResResourceGroup] = r.ID, r.SubscriptionID, r.ResourceGroup
		c.str[fieldResName], c.str[fieldResLocation], c.str[fieldResType] = r.Name, r.Location, r.Type
	}
	c.str[fieldReqTenant] = f.Requester.TenantID
	c.str[fieldReqSubscription], c.str[fieldReqResourceGroup] = f.Requester.SubscriptionID, f.Requester.ResourceGroup
	c.str[fieldReqLocation] = f.Connection.PrivateEndpointLocation
	c.str[fieldConnName], c.str[fieldConnDescription] = f.Connection.Name, f.Connection.Description
	c.str[fieldConnLinkID], c.str[fieldConnStatus] = f.Connection.LinkIdentifier, f.Connection.Status
	if id := c.str[fieldResID]; id != "" {
		sub, rg, name, typ := idScope(id)
		c.orDerived(fieldResSubscription, sub)
		c.orDerived(fieldResResourceGroup, rg)
		c.orDerived(fieldResName, name)
		c.orDerived(fieldResType, typ)
	}
	if legacy && c.str[fieldResType] == "" {
		c.str[fieldResType] = plsType // the caller said PLS, and the ID says nothing else
	}
	c.isPLS = strings.EqualFold(c.str[fieldResType], plsType)
	if f.Connection.PrivateEndpointID != "" {
		sub, rg, _, _ := idScope(f.Connection.PrivateEndpointID)
		c.orDerived(fieldReqSubscription, sub)
		c.orDerived(fieldReqResourceGroup, rg)
	}
	return c
}

func (c *evalCtx) get(fl field) string { return c.str[fl] }

// orDerived fills a fact the caller left empty with the value derived from an ID.
func (c *evalCtx) orDerived(fl field, v string) {
	if c.str[fl] == "" {
		c.str[fl] = v
	}
}

type matchKind uint8

const (
	kindGlob     matchKind = iota // any glob matches the field
	kindEqual                     // any value equals the field, case-insensitively
	kindLocation                  // any value equals the field, ignoring case and spaces
	kindRegex                     // the regex matches the field (which may be empty)
	kindTags                      // every tag requirement holds on PLS tags
	kindVerified                  // Facts.Verified[verify] is true
)

// scope says which resources a matcher applies to.
type scope uint8

const (
	scopeAny scope = iota // resource and the other matchers
	scopePLS              // privateLinkService: only a private link service matches
)

// matcher is one compiled condition. Its trace reasons are computed at load so a failing
// match costs no allocation.
type matcher struct {
	kind     matchKind
	field    field
	globs    []glob
	values   []string
	lower    []string // values ASCII lower-cased, for kindEqual
	re       *regexp.Regexp
	tags     []tagReq
	verify   string
	scope    scope
	memo     int    // slot in evalCtx.held, -1 = not memoised
	describe string // for Summary, e.g. `privateLinkService.tags: plsgate=enabled`
	unknown  string // trace reason when the fact is empty
	mismatch string // trace reason when the fact does not match
	notPLS   string // trace reason when a scopePLS matcher meets another kind
}

type tagReq struct {
	key, value string
	exists     bool // value was "*"
	missing    string
	differs    string
}

func (m *matcher) match(c *evalCtx) (bool, string) {
	if m.scope == scopePLS && !c.isPLS {
		return false, m.notPLS
	}
	if m.memo < 0 {
		return m.eval(c)
	}
	word, bit := m.memo/64, uint64(1)<<(m.memo%64)
	if c.held[word]&bit != 0 {
		return true, ""
	}
	ok, why := m.eval(c)
	if ok {
		c.held[word] |= bit
	}
	return ok, why
}

func (m *matcher) eval(c *evalCtx) (bool, string) {
	switch m.kind {
	case kindVerified:
		if c.verified[m.verify] {
			return true, ""
		}
		return false, m.mismatch
	case kindTags:
		for i := range m.tags {
			t := &m.tags[i]
			v, ok := lookupTag(c.tags, t.key)
			if !ok {
				return false, t.missing
			}
			if !t.exists && v != t.value {
				return false, t.differs
			}
		}
		return true, ""
	case kindRegex:
		if m.re.MatchString(c.get(m.field)) {
			return true, ""
		}
		return false, m.mismatch
	}
	v := c.get(m.field)
	if v == "" {
		return false, m.unknown
	}
	switch m.kind {
	case kindGlob:
		for i := range m.globs {
			if m.globs[i].match(v) {
				return true, ""
			}
		}
	case kindEqual:
		for _, w := range m.lower {
			if len(v) == len(w) && hasPrefixFold(v, w) {
				return true, ""
			}
		}
	case kindLocation:
		for _, w := range m.values {
			if eqLocation(v, w) {
				return true, ""
			}
		}
	}
	return false, m.mismatch
}

// lookupTag finds a tag by key; Azure tag names are case-insensitive, values are not.
func lookupTag(tags map[string]string, key string) (string, bool) {
	if v, ok := tags[key]; ok {
		return v, true
	}
	for k, v := range tags {
		if strings.EqualFold(k, key) {
			return v, true
		}
	}
	return "", false
}

// rule is one compiled rule.
type rule struct {
	name     string
	line     int
	action   Action
	matchers []matcher
	when     *celCond
	message  template
	catchAll bool   // no matchers and no when: matches every connection
	reason   string // Decision.Reason when this rule decides
	matched  string // trace reason when it matches
}

func (r *rule) matchStatic(c *evalCtx) (bool, string) {
	for i := range r.matchers {
		if ok, why := r.matchers[i].match(c); !ok {
			return false, why
		}
	}
	return true, ""
}

// template is a compiled `message`: literal text with {rule}, {resource} (or {pls}: the
// resource's name) and {connection}.
type template struct {
	src   string
	parts []tplPart
}

type placeholder uint8

const (
	phNone placeholder = iota
	phRule
	phPLS
	phConnection
)

var placeholders = map[string]placeholder{"rule": phRule, "resource": phPLS, "pls": phPLS, "connection": phConnection}

type tplPart struct {
	lit string
	ph  placeholder
}

func (t *template) render(ruleName string, c *evalCtx) string {
	if len(t.parts) == 0 {
		return ""
	}
	if len(t.parts) == 1 && t.parts[0].ph == phNone {
		return t.parts[0].lit
	}
	var b strings.Builder
	b.Grow(len(t.src) + len(ruleName) + len(c.str[fieldResName]) + len(c.str[fieldConnName]))
	for _, p := range t.parts {
		switch p.ph {
		case phNone:
			b.WriteString(p.lit)
		case phRule:
			b.WriteString(ruleName)
		case phPLS:
			b.WriteString(c.str[fieldResName])
		case phConnection:
			b.WriteString(c.str[fieldConnName])
		}
	}
	return b.String()
}
