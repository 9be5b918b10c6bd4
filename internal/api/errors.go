package api

import (
	"context"
	"errors"
	"net/http"
	"strconv"

	"github.com/plsgate/plsgate/handler"
	"github.com/plsgate/plsgate/internal/arm"
	"github.com/plsgate/plsgate/internal/policy"
	"github.com/plsgate/plsgate/internal/reconcile"
	"github.com/plsgate/plsgate/internal/store"
)

// Error codes answered in {"error":{"code"}}; stable, for scripts.
const (
	CodeBadRequest       = "BadRequest"
	CodeInvalidJSON      = "InvalidJSON"
	CodeUnknownField     = "UnknownField"
	CodeInvalidID        = "InvalidResourceId"
	CodeUnauthenticated  = "Unauthenticated"
	CodeForbidden        = "Forbidden"
	CodeNotInScope       = "NotInScope"
	CodeNotFound         = "NotFound"
	CodeMethodNotAllowed = "MethodNotAllowed"
	CodeNotPending       = "NotPending"
	CodeInProgress       = "InProgress"
	CodeScanRunning      = "ScanRunning"
	CodeTooLarge         = "RequestTooLarge"
	CodeUnsupportedMedia = "UnsupportedMediaType"
	CodePolicyDecides    = "PolicyDecidesOtherwise"
	CodeUpstreamRefused  = "UpstreamRefused"
	CodeUnavailable      = "Unavailable"
	CodeInternal         = "Internal"
)

// retryAfterSeconds is what a 503 asks clients to wait: Table storage and ARM throttling
// usually heal within seconds.
const retryAfterSeconds = 5

// apiError is an error answered to the client. Its message is meant for the client and must
// not carry internal detail; Status/Decision add context to 409/422 answers.
type apiError struct {
	status   int
	code     string
	message  string
	current  string           // 409 NotPending: the connection's status
	runID    string           // 409 ScanRunning: the running scan
	decision *policy.Decision // 422: what the policy decided
	allow    string           // 405: the Allow header
}

func (e *apiError) Error() string { return e.code + ": " + e.message }

func newError(status int, code, msg string) *apiError {
	return &apiError{status: status, code: code, message: msg}
}

func badRequest(code, msg string) *apiError { return newError(http.StatusBadRequest, code, msg) }

// errorBody is the wire shape; fields beyond code and message appear only where they apply.
type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code     string           `json:"code"`
	Message  string           `json:"message"`
	Status   string           `json:"status,omitempty"`
	RunID    string           `json:"runId,omitempty"`
	Decision *policy.Decision `json:"decision,omitempty"`
}

// classify maps an error from the reconciler or the store to the answer. Anything it does
// not recognise becomes a 500 with a generic message; the caller logs the original.
func classify(err error) *apiError {
	var ae *apiError
	if errors.As(err, &ae) {
		return ae
	}
	var he *handler.Error
	if errors.As(err, &he) {
		return newError(he.Status, he.Code, he.Message)
	}
	var np *reconcile.NotPendingError
	if errors.As(err, &np) {
		msg := "the connection is " + np.Status + ", not Pending: only Pending connections can be approved or rejected"
		if np.Revocable {
			msg = "the connection is " + np.Status + ", not Pending: set force to revoke it (" + np.Status + " → Rejected, which is terminal)"
		}
		e := newError(http.StatusConflict, CodeNotPending, msg)
		e.current = np.Status
		return e
	}
	var snf *reconcile.ServiceNotFoundError
	if errors.As(err, &snf) {
		return newError(http.StatusNotFound, CodeNotFound,
			"private link service not found: Azure Resource Manager does not know it and plsgate has no record of it; check the ID")
	}
	var pe *reconcile.PolicyError
	if errors.As(err, &pe) {
		rule := pe.Decision.Rule
		if rule == "" {
			rule = "the default"
		}
		e := newError(http.StatusUnprocessableEntity, CodePolicyDecides,
			"the policy says "+string(pe.Decision.Action)+" ("+rule+"); set force to override if you are allowed to")
		d := pe.Decision
		e.decision = &d
		return e
	}
	switch {
	case errors.Is(err, reconcile.ErrInProgress):
		return newError(http.StatusConflict, CodeInProgress, "another decision on this connection is in progress; try again shortly")
	case errors.Is(err, reconcile.ErrNotFound), errors.Is(err, store.ErrNotFound):
		return newError(http.StatusNotFound, CodeNotFound, "not found")
	case errors.Is(err, store.ErrInvalidContinuation):
		return badRequest(CodeBadRequest, "invalid continuation token")
	case errors.Is(err, arm.ErrInvalidArgument):
		return badRequest(CodeInvalidID, "invalid resource ID")
	case reconcile.IsRetryable(err), store.IsUnavailable(err), arm.IsRetryable(err),
		errors.Is(err, context.DeadlineExceeded):
		return newError(http.StatusServiceUnavailable, CodeUnavailable, "a dependency (Table storage or Azure Resource Manager) is unavailable; try again later")
	case arm.IsNotFound(err):
		return newError(http.StatusNotFound, CodeNotFound, "not found")
	case arm.IsForbidden(err):
		return newError(http.StatusBadGateway, CodeUpstreamRefused, "Azure Resource Manager refused plsgate's request; check its role assignments")
	case arm.StatusCode(err) >= 400 && arm.StatusCode(err) < 500:
		return newError(http.StatusBadGateway, CodeUpstreamRefused, "Azure Resource Manager refused the change; the attempt is recorded in the connection's history")
	case errors.Is(err, context.Canceled):
		return newError(http.StatusServiceUnavailable, CodeUnavailable, "the request was canceled")
	}
	return newError(http.StatusInternalServerError, CodeInternal, "internal error")
}

// writeError answers err. 5xx answers are logged with the original error (the client sees a
// generic message); 4xx are logged at debug.
func (a *API) writeError(w http.ResponseWriter, r *http.Request, err error) {
	e := classify(err)
	log := a.logger(r)
	if e.status >= 500 {
		log.Error("api request failed", "route", routeName(r), "status", e.status, "code", e.code, "err", err)
	} else {
		log.Debug("api request refused", "route", routeName(r), "status", e.status, "code", e.code, "err", err)
	}
	if e.allow != "" {
		w.Header().Set("Allow", e.allow)
	}
	if e.status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", strconv.Itoa(retryAfterSeconds))
	}
	body := errorBody{Error: errorDetail{Code: e.code, Message: e.message, Status: e.current, RunID: e.runID}}
	body.Error.Decision = e.decision
	writeJSON(w, log, e.status, body)
}

// routeName is the matched route pattern (no IDs, no query) for logs.
func routeName(r *http.Request) string {
	if p := r.Pattern; p != "" {
		return p
	}
	return r.Method
}
