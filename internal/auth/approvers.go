package auth

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Mode is AUTH_MODE: how approve/reject, reconcile and force identify their caller.
type Mode string

const (
	// ModeKey (the default): the function key only; no approver lists, no force.
	ModeKey Mode = "key"
	// ModeEntra: plsgate verifies an Entra ID access token (Authorization: Bearer).
	ModeEntra Mode = "entra"
	// ModeEasyAuth: App Service Authentication's X-MS-CLIENT-PRINCIPAL header is trusted.
	ModeEasyAuth Mode = "easyauth"
)

// ParseMode reads AUTH_MODE ("" is key).
func ParseMode(s string) (Mode, error) {
	switch m := Mode(s); m {
	case "":
		return ModeKey, nil
	case ModeKey, ModeEntra, ModeEasyAuth:
		return m, nil
	}
	return "", fmt.Errorf("%q: want key, entra or easyauth", s)
}

// Kind is the claim an approver entry is compared with.
type Kind string

const (
	KindOID   Kind = "oid"   // the oid claim (object ID of a user or service principal)
	KindGroup Kind = "group" // one of the groups claim's object IDs
	KindRole  Kind = "role"  // one of the roles claim's app role values
	KindUPN   Kind = "upn"   // the upn claim
)

// Entry is one APPROVERS or APPROVERS_FORCE entry; Value is canonical (GUIDs lower-case).
type Entry struct {
	Kind  Kind
	Value string
}

func (e Entry) String() string { return string(e.Kind) + ":" + e.Value }

// List is a parsed approver list.
type List []Entry

// Strings is the list as written back (oid:…, group:…), for logs and the status page.
func (l List) Strings() []string {
	out := make([]string, len(l))
	for i, e := range l {
		out[i] = e.String()
	}
	return out
}

// ParseList reads a comma-separated list of typed entries. Blanks around an entry are
// dropped; an empty entry is skipped. Every bad entry is reported.
func ParseList(s string) (List, error) {
	var out List
	var errs []error
	for _, raw := range strings.Split(s, ",") {
		raw = strings.Trim(raw, " \t\r\n")
		if raw == "" {
			continue
		}
		e, err := ParseEntry(raw)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		out = append(out, e)
	}
	return out, errors.Join(errs...)
}

// ParseEntry reads one entry: oid:<guid>, group:<guid>, role:<app role value>, upn:<name>,
// or a bare name@domain (= upn:). A bare GUID is refused: it could name a user or a group.
func ParseEntry(s string) (Entry, error) {
	if strings.IndexFunc(s, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) >= 0 || !utf8.ValidString(s) {
		return Entry{}, fmt.Errorf("%q: an entry holds no blanks or control characters", s)
	}
	kind, value, typed := strings.Cut(s, ":")
	if !typed {
		if _, ok := CanonicalGUID(s); ok {
			return Entry{}, fmt.Errorf("%q is a bare GUID: write oid:%s for a user or service principal, or group:%s for a group", s, s, s)
		}
		kind, value = string(KindUPN), s
	}
	switch Kind(kind) {
	case KindOID, KindGroup:
		g, ok := CanonicalGUID(value)
		if !ok {
			return Entry{}, fmt.Errorf("%q: %s: wants an object ID written as 8-4-4-4-12 hex digits (no braces)", s, kind)
		}
		return Entry{Kind: Kind(kind), Value: g}, nil
	case KindRole:
		if value == "" {
			return Entry{}, fmt.Errorf("%q: role: wants an app role value", s)
		}
		return Entry{Kind: KindRole, Value: value}, nil
	case KindUPN:
		if at := strings.IndexByte(value, '@'); at <= 0 || at == len(value)-1 || strings.Count(value, "@") != 1 {
			if !typed {
				return Entry{}, fmt.Errorf("%q: want oid:<guid>, group:<guid>, role:<app role> or upn:<name@domain>", s)
			}
			return Entry{}, fmt.Errorf("%q: upn: wants a user principal name (name@domain)", s)
		}
		return Entry{Kind: KindUPN, Value: value}, nil
	}
	return Entry{}, fmt.Errorf("%q: unknown type %q: want oid:, group:, role: or upn:", s, kind)
}

// CanonicalGUID returns s lower-cased when it is a GUID in the 8-4-4-4-12 form Entra ID
// writes object IDs in; any other form (braces, URN, no hyphens) is not accepted.
func CanonicalGUID(s string) (string, bool) {
	if len(s) != 36 {
		return "", false
	}
	b := []byte(s)
	for i, c := range b {
		switch {
		case i == 8 || i == 13 || i == 18 || i == 23:
			if c != '-' {
				return "", false
			}
		case c >= '0' && c <= '9', c >= 'a' && c <= 'f':
		case c >= 'A' && c <= 'F':
			b[i] = c + ('a' - 'A')
		default:
			return "", false
		}
	}
	return string(b), true
}

// equalASCIIFold compares byte for byte, folding only A–Z to a–z: any non-ASCII byte must
// be identical (unlike strings.EqualFold, which folds the Kelvin sign to k).
func equalASCIIFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

// Identity is a verified caller: only claims that identify it, each kept apart.
type Identity struct {
	OID      string   // oid claim, canonical GUID ("" when absent or not a GUID)
	UPN      string   // upn claim, as issued
	Groups   []string // groups claim, canonical GUIDs (others dropped)
	Roles    []string // roles claim, as issued
	TenantID string   // tid claim, canonical GUID
	// GroupsOverage is set when the token left the groups out (more than 200): group:
	// entries cannot match such a caller; list them by oid: instead.
	GroupsOverage bool
}

// Actor is how the caller is recorded: principal:<upn>, else principal:<oid>.
func (id *Identity) Actor() string {
	if id.UPN != "" && len(id.UPN) <= 256 && strings.IndexFunc(id.UPN, unicode.IsControl) < 0 && utf8.ValidString(id.UPN) {
		return "principal:" + id.UPN
	}
	return "principal:" + id.OID
}

// Allows reports whether any entry of l names id, each type against its own claim only.
func (l List) Allows(id *Identity) bool {
	if id == nil {
		return false
	}
	for _, e := range l {
		switch e.Kind {
		case KindOID:
			if id.OID != "" && id.OID == e.Value {
				return true
			}
		case KindGroup:
			for _, g := range id.Groups {
				if g == e.Value {
					return true
				}
			}
		case KindRole:
			for _, r := range id.Roles {
				if r == e.Value {
					return true
				}
			}
		case KindUPN:
			if id.UPN != "" && equalASCIIFold(id.UPN, e.Value) {
				return true
			}
		}
	}
	return false
}

// canonicalGUIDs keeps the GUIDs of vs, canonical; anything else cannot match an entry.
func canonicalGUIDs(vs []string) []string {
	var out []string
	for _, v := range vs {
		if g, ok := CanonicalGUID(v); ok {
			out = append(out, g)
		}
	}
	return out
}
