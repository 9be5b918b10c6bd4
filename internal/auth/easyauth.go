package auth

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"
)

// HeaderPrincipal is the header App Service Authentication (Easy Auth) sets on every request
// it lets through: base64 JSON {auth_typ, claims:[{typ,val}], name_typ, role_typ}. External
// requests cannot set it while the app's authentication is on, so it means something only
// then. https://learn.microsoft.com/azure/app-service/configure-authentication-user-identities
// ("External requests aren't allowed to set these headers"; the claims went through the
// default claim mapping, so types may be the long URI forms).
const HeaderPrincipal = "X-MS-CLIENT-PRINCIPAL"

// maxPrincipalHeader bounds the decoded header (claims with 200 groups stay well below).
const maxPrincipalHeader = 32 << 10

// Claim types, short and as mapped by Easy Auth. Only these identify a caller: name,
// e-mail, preferred_username and X-MS-CLIENT-PRINCIPAL-NAME/-ID are never read.
var (
	claimOID    = []string{"oid", "http://schemas.microsoft.com/identity/claims/objectidentifier"}
	claimUPN    = []string{"upn", "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn"}
	claimTenant = []string{"tid", "http://schemas.microsoft.com/identity/claims/tenantid"}
	claimGroups = []string{"groups", "http://schemas.microsoft.com/ws/2008/06/identity/claims/groups"}
	claimRoles  = []string{"roles", "http://schemas.microsoft.com/ws/2008/06/identity/claims/role"}
)

// easyAuthEntra is auth_typ for the Microsoft Entra provider; claims of other providers
// (a custom OpenID Connect provider could issue any "upn") are not interpreted.
const easyAuthEntra = "aad"

// ErrNoPrincipal means the request carries no X-MS-CLIENT-PRINCIPAL.
var ErrNoPrincipal = errors.New("no " + HeaderPrincipal + " header")

// PrincipalError is an X-MS-CLIENT-PRINCIPAL that cannot identify anyone; Reason is safe to
// show the caller.
type PrincipalError struct{ Reason string }

func (e *PrincipalError) Error() string { return HeaderPrincipal + ": " + e.Reason }

type clientPrincipal struct {
	AuthType string `json:"auth_typ"`
	Claims   []struct {
		Type  string `json:"typ"`
		Value string `json:"val"`
	} `json:"claims"`
	NameType string `json:"name_typ"`
	RoleType string `json:"role_typ"`
}

// FromEasyAuth reads the caller from X-MS-CLIENT-PRINCIPAL. When tenantID is set, the
// principal's tenant ID claim must equal it (a multi-tenant sign-in cannot use app roles of
// another tenant). ErrNoPrincipal when the header is absent.
func FromEasyAuth(h http.Header, tenantID string) (*Identity, error) {
	vs := h.Values(HeaderPrincipal)
	if len(vs) == 0 || (len(vs) == 1 && vs[0] == "") {
		return nil, ErrNoPrincipal
	}
	if len(vs) > 1 {
		return nil, &PrincipalError{"more than one header"}
	}
	raw := vs[0]
	if len(raw) > maxPrincipalHeader*4/3+4 {
		return nil, &PrincipalError{"too large"}
	}
	var b []byte
	var err error
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err = enc.DecodeString(raw); err == nil {
			break
		}
	}
	if err != nil {
		return nil, &PrincipalError{"not base64"}
	}
	var cp clientPrincipal
	if err := json.Unmarshal(b, &cp); err != nil {
		return nil, &PrincipalError{"not JSON"}
	}
	if cp.AuthType != easyAuthEntra {
		return nil, &PrincipalError{"not signed in with Microsoft Entra ID (auth_typ " + easyAuthEntra + ")"}
	}
	id := &Identity{}
	var oids, upns, tids []string
	for _, c := range cp.Claims {
		switch {
		case slices.Contains(claimOID, c.Type):
			oids = append(oids, c.Value)
		case slices.Contains(claimUPN, c.Type):
			upns = append(upns, c.Value)
		case slices.Contains(claimTenant, c.Type):
			tids = append(tids, c.Value)
		case slices.Contains(claimGroups, c.Type):
			if g, ok := CanonicalGUID(c.Value); ok {
				id.Groups = append(id.Groups, g)
			}
		case slices.Contains(claimRoles, c.Type) || (cp.RoleType != "" && c.Type == cp.RoleType):
			id.Roles = append(id.Roles, c.Value)
		case c.Type == "_claim_names" && strings.Contains(c.Value, `"groups"`):
			id.GroupsOverage = true
		}
	}
	// A claim that identifies must appear once: two differing values are not a caller.
	one := func(vs []string) (string, bool) {
		for _, v := range vs[min(1, len(vs)):] {
			if v != vs[0] {
				return "", false
			}
		}
		if len(vs) == 0 {
			return "", true
		}
		return vs[0], true
	}
	oid, ok1 := one(oids)
	upn, ok2 := one(upns)
	tid, ok3 := one(tids)
	if !ok1 || !ok2 || !ok3 {
		return nil, &PrincipalError{"conflicting identity claims"}
	}
	if oid != "" {
		g, ok := CanonicalGUID(oid)
		if !ok {
			return nil, &PrincipalError{"the object ID claim is not a GUID"}
		}
		id.OID = g
	}
	id.UPN = upn
	if tid != "" {
		id.TenantID, _ = CanonicalGUID(tid)
	}
	if tenantID != "" && id.TenantID != tenantID {
		return nil, &PrincipalError{"signed in to another tenant"}
	}
	if id.OID == "" {
		return nil, &PrincipalError{"no object ID claim"}
	}
	return id, nil
}
