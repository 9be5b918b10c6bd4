package api

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"unicode"
)

// Easy Auth headers (App Service Authentication).
const (
	headerPrincipal     = "X-MS-CLIENT-PRINCIPAL"
	headerPrincipalID   = "X-MS-CLIENT-PRINCIPAL-ID"
	headerPrincipalName = "X-MS-CLIENT-PRINCIPAL-NAME"
)

// maxPrincipalHeader bounds the decoded header (a token's claims with many groups stay far
// below; anything larger is refused rather than parsed).
const maxPrincipalHeader = 32 << 10

// Claim types Entra ID tokens use for the values APPROVERS may list (short and URI forms).
var (
	oidClaims = []string{"http://schemas.microsoft.com/identity/claims/objectidentifier", "oid"}
	upnClaims = []string{
		"http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn", "upn",
		"preferred_username",
		"http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name", "name",
		"http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress", "email",
	}
	groupClaims = []string{"groups", "http://schemas.microsoft.com/ws/2008/06/identity/claims/groups"}
)

// Principal is the caller as Easy Auth describes it.
type Principal struct {
	ObjectID string   // oid claim or X-MS-CLIENT-PRINCIPAL-ID
	UPN      string   // first of upn, preferred_username, name claim (name_typ), email, or -NAME
	Names    []string // every name-like value (matched against APPROVERS UPNs)
	Groups   []string
}

// Actor is how the principal is recorded: principal:<upn or oid>.
func (p *Principal) Actor() string {
	if p.UPN != "" {
		return "principal:" + p.UPN
	}
	return "principal:" + p.ObjectID
}

// clientPrincipal is the JSON inside X-MS-CLIENT-PRINCIPAL.
type clientPrincipal struct {
	AuthType string  `json:"auth_typ"`
	Claims   []claim `json:"claims"`
	NameType string  `json:"name_typ"`
	RoleType string  `json:"role_typ"`
}

type claim struct {
	Type  string `json:"typ"`
	Value string `json:"val"`
}

var errBadPrincipal = errors.New("unreadable " + headerPrincipal + " header")

// principalFrom reads the Easy Auth headers; nil, nil when there are none.
func principalFrom(h http.Header) (*Principal, error) {
	raw := strings.TrimSpace(h.Get(headerPrincipal))
	id := cleanValue(h.Get(headerPrincipalID))
	name := cleanValue(h.Get(headerPrincipalName))
	if raw == "" && id == "" && name == "" {
		return nil, nil
	}
	p := &Principal{ObjectID: id}
	if raw != "" {
		cp, err := decodeClientPrincipal(raw)
		if err != nil {
			return nil, err
		}
		nameType := cp.NameType
		for _, c := range cp.Claims {
			v := cleanValue(c.Value)
			if v == "" {
				continue
			}
			switch {
			case containsFold(oidClaims, c.Type):
				if p.ObjectID == "" {
					p.ObjectID = v
				}
			case containsFold(groupClaims, c.Type):
				p.Groups = append(p.Groups, v)
			case containsFold(upnClaims, c.Type) || (nameType != "" && strings.EqualFold(c.Type, nameType)):
				p.Names = append(p.Names, v)
			}
		}
		// The UPN to record: the most specific claim present.
		for _, want := range upnClaims {
			for _, c := range cp.Claims {
				if p.UPN == "" && strings.EqualFold(c.Type, want) {
					p.UPN = cleanValue(c.Value)
				}
			}
		}
	}
	if name != "" {
		p.Names = append(p.Names, name)
		if p.UPN == "" {
			p.UPN = name
		}
	}
	if p.UPN == "" && len(p.Names) > 0 {
		p.UPN = p.Names[0]
	}
	if p.ObjectID == "" && p.UPN == "" {
		return nil, errBadPrincipal // a principal that names nobody
	}
	return p, nil
}

// decodeClientPrincipal decodes the base64 JSON; standard or URL alphabet, padded or not.
func decodeClientPrincipal(raw string) (*clientPrincipal, error) {
	if len(raw) > maxPrincipalHeader*4/3+4 {
		return nil, errBadPrincipal
	}
	var b []byte
	var err error
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err = enc.DecodeString(raw); err == nil {
			break
		}
	}
	if err != nil {
		return nil, errBadPrincipal
	}
	var cp clientPrincipal
	if err := json.Unmarshal(b, &cp); err != nil {
		return nil, errBadPrincipal
	}
	return &cp, nil
}

// cleanValue trims a header or claim value and drops values with control characters: they
// end up in the audit history and logs.
func cleanValue(s string) string {
	s = strings.TrimSpace(s)
	if len(s) > 256 || strings.IndexFunc(s, unicode.IsControl) >= 0 {
		return ""
	}
	return s
}

func containsFold(list []string, s string) bool {
	for _, v := range list {
		if strings.EqualFold(v, s) {
			return true
		}
	}
	return false
}

// authorizer applies APPROVERS and APPROVERS_FORCE.
type authorizer struct {
	approvers, force map[string]bool // lower-cased
}

func newAuthorizer(approvers, force []string) authorizer {
	set := func(list []string) map[string]bool {
		m := map[string]bool{}
		for _, v := range list {
			if v = strings.ToLower(strings.TrimSpace(v)); v != "" {
				m[v] = true
			}
		}
		return m
	}
	return authorizer{approvers: set(approvers), force: set(force)}
}

func (p *Principal) in(set map[string]bool) bool {
	if p == nil {
		return false
	}
	if p.ObjectID != "" && set[strings.ToLower(p.ObjectID)] {
		return true
	}
	for _, v := range p.Names {
		if set[strings.ToLower(v)] {
			return true
		}
	}
	for _, v := range p.Groups {
		if set[strings.ToLower(v)] {
			return true
		}
	}
	return false
}

// identify returns the actor to record for a request that acts (approve, reject, reconcile):
// principal:<upn/oid> when Easy Auth identified the caller, else "function-key".
func identify(r *http.Request) (string, *Principal, error) {
	p, err := principalFrom(r.Header)
	if err != nil {
		return "", nil, newError(http.StatusUnauthorized, CodeUnauthenticated, "the "+headerPrincipal+" header cannot be read")
	}
	if p == nil {
		return "function-key", nil, nil
	}
	return p.Actor(), p, nil
}

// authorize checks a manual decision: APPROVERS for approve/reject, APPROVERS_FORCE for force.
func (a authorizer) authorize(p *Principal, force bool) error {
	if force {
		if len(a.force) == 0 {
			if len(a.approvers) == 0 {
				return nil // no allow-lists: the function key is the only gate
			}
			return newError(http.StatusForbidden, CodeForbidden, "force is not allowed: APPROVERS_FORCE is not set")
		}
		if p == nil {
			return newError(http.StatusUnauthorized, CodeUnauthenticated, "force requires a signed-in principal (App Service Authentication)")
		}
		if !p.in(a.force) {
			return newError(http.StatusForbidden, CodeForbidden, "this principal may not override the policy (APPROVERS_FORCE)")
		}
		return nil
	}
	if len(a.approvers) == 0 {
		return nil // APPROVERS unset: the function key is the only gate
	}
	if p == nil {
		return newError(http.StatusUnauthorized, CodeUnauthenticated, "approving or rejecting requires a signed-in principal (App Service Authentication)")
	}
	if p.in(a.approvers) || p.in(a.force) {
		return nil
	}
	return newError(http.StatusForbidden, CodeForbidden, "this principal may not approve or reject connections (APPROVERS)")
}
