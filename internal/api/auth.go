package api

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/plsgate/plsgate/internal/auth"
)

// TokenVerifier checks an Entra ID access token (*auth.EntraVerifier): *auth.TokenError when
// it is refused, an error wrapping auth.ErrUnavailable when the keys cannot be read.
type TokenVerifier interface {
	Verify(ctx context.Context, raw string) (*auth.Identity, error)
}

// bearerRealm names plsgate in WWW-Authenticate challenges (RFC 6750 §3).
const bearerRealm = `Bearer realm="plsgate"`

// authorizer applies AUTH_MODE, APPROVERS and APPROVERS_FORCE.
type authorizer struct {
	mode             auth.Mode
	approvers, force auth.List
	tokens           TokenVerifier
	tenant           string // easyauth: the tenant the principal must belong to ("" = any)
}

func newAuthorizer(o Options) authorizer {
	mode := o.AuthMode
	if mode == "" {
		mode = auth.ModeKey
	}
	return authorizer{mode: mode, approvers: o.Approvers, force: o.ApproversForce, tokens: o.Tokens, tenant: o.AuthTenantID}
}

// challengeError is a 401 that carries a WWW-Authenticate challenge.
type challengeError struct {
	*apiError
	challenge string
}

func (e *challengeError) Unwrap() error { return e.apiError }

// writeAuthError answers a refused caller: the challenge header, then the JSON error.
func (a *API) writeAuthError(w http.ResponseWriter, r *http.Request, err error) {
	var ce *challengeError
	if errors.As(err, &ce) && ce.challenge != "" {
		w.Header().Set("WWW-Authenticate", ce.challenge)
	}
	a.writeError(w, r, err)
}

// authenticate identifies the caller of a route that acts (approve, reject, reconcile) and
// checks it against APPROVERS (APPROVERS_FORCE members may act too). It returns the actor to
// record: "function-key" in key mode, principal:<upn or oid> otherwise. It runs before the body
// is read, so an unauthorized caller learns nothing about validation.
func (a *API) authenticate(r *http.Request) (string, *auth.Identity, error) {
	az := a.auth
	var id *auth.Identity
	switch az.mode {
	case auth.ModeKey:
		// The function key is the only gate; Easy Auth headers are not read (nothing says
		// App Service authentication put them there).
		return "function-key", nil, nil
	case auth.ModeEntra:
		raw, ok := bearerToken(r.Header)
		if !ok {
			return "", nil, &challengeError{newError(http.StatusUnauthorized, CodeUnauthenticated,
				"this route needs an Entra ID access token: Authorization: Bearer <token>"), bearerRealm}
		}
		if az.tokens == nil {
			return "", nil, errors.New("AUTH_MODE=entra without a token verifier") // a wiring bug: 500
		}
		var err error
		if id, err = az.tokens.Verify(r.Context(), raw); err != nil {
			var te *auth.TokenError
			if errors.As(err, &te) {
				return "", nil, &challengeError{newError(http.StatusUnauthorized, CodeUnauthenticated, "the access token is not accepted: "+te.Reason),
					bearerRealm + `, error="invalid_token", error_description="` + te.Reason + `"`}
			}
			if errors.Is(err, auth.ErrUnavailable) {
				a.logger(r).Warn("Entra ID keys unavailable", "err", err)
				return "", nil, newError(http.StatusServiceUnavailable, CodeUnavailable, "the token cannot be checked right now (Entra ID keys unavailable); try again later")
			}
			return "", nil, err
		}
	case auth.ModeEasyAuth:
		var err error
		if id, err = auth.FromEasyAuth(r.Header, az.tenant); err != nil {
			var pe *auth.PrincipalError
			switch {
			case errors.Is(err, auth.ErrNoPrincipal):
				return "", nil, newError(http.StatusUnauthorized, CodeUnauthenticated, "this route needs a caller signed in through App Service authentication ("+auth.HeaderPrincipal+")")
			case errors.As(err, &pe):
				return "", nil, newError(http.StatusUnauthorized, CodeUnauthenticated, "the "+auth.HeaderPrincipal+" header is not accepted: "+pe.Reason)
			}
			return "", nil, err
		}
	default:
		return "", nil, errors.New("unknown AUTH_MODE " + string(az.mode))
	}
	if !az.approvers.Allows(id) && !az.force.Allows(id) {
		a.logger(r).Info("caller is not in APPROVERS", "route", routeName(r), "actor", id.Actor(), "oid", id.OID, "groupsOverage", id.GroupsOverage)
		return "", nil, newError(http.StatusForbidden, CodeForbidden, "this caller may not approve, reject or reconcile (APPROVERS)")
	}
	return id.Actor(), id, nil
}

// allowForce checks APPROVERS_FORCE for a caller authenticate accepted.
func (az authorizer) allowForce(id *auth.Identity) error {
	if az.mode == auth.ModeKey {
		return newError(http.StatusForbidden, CodeForbidden, "force is not available with AUTH_MODE=key: set AUTH_MODE=entra or easyauth and list who may force in APPROVERS_FORCE")
	}
	if !az.force.Allows(id) {
		return newError(http.StatusForbidden, CodeForbidden, "this caller may not override the policy (APPROVERS_FORCE)")
	}
	return nil
}

// bearerToken returns the token of the one Authorization header when its scheme is Bearer
// (any letter case, RFC 7235 §2.1).
func bearerToken(h http.Header) (string, bool) {
	vs := h.Values("Authorization")
	if len(vs) != 1 {
		return "", false
	}
	scheme, tok, ok := strings.Cut(vs[0], " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	tok = strings.TrimLeft(tok, " ")
	return tok, tok != ""
}

// containsFold reports whether list holds s in any letter case (query parameter names).
func containsFold(list []string, s string) bool {
	for _, v := range list {
		if strings.EqualFold(v, s) {
			return true
		}
	}
	return false
}
