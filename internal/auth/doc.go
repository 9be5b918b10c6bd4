// Package auth owns who may decide through plsgate's API: the AUTH_MODE values, the typed
// approver lists (APPROVERS, APPROVERS_FORCE: oid:, group:, role:, upn:), the verified caller
// (Identity) and the two ways of obtaining one — an Entra ID access token that plsgate verifies
// itself (EntraVerifier: issuer v1/v2 of one tenant, audience, RS256 signature against the
// tenant's published keys through github.com/coreos/go-oidc/v3, expiry) and the
// X-MS-CLIENT-PRINCIPAL header of App Service Authentication (FromEasyAuth).
//
// Matching is by type and exact: an oid: entry is compared only with the oid claim, group: only
// with the groups claim, role: only with the roles claim, upn: only with the upn claim. GUIDs are
// canonical (8-4-4-4-12 hex, compared lower-case; braces and other forms are refused in the
// settings and never match in claims); UPNs compare ASCII-case-insensitively and nothing else (no
// trimming, no Unicode case folding: 'İ' and the Kelvin sign are not 'i' and 'k'); roles compare
// byte for byte. Display names, e-mail addresses and preferred_username never authorise.
//
// It must not log or return token text, and it makes no network call except the tenant's OpenID
// discovery document and key set (AUTH_AUTHORITY_HOST), fetched on first use and cached.
package auth
