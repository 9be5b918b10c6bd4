package api

import (
	"cmp"
	"errors"
	"net/http"
	"strconv"

	"github.com/plsgate/plsgate/handler"
	"github.com/plsgate/plsgate/internal/arm"
	"github.com/plsgate/plsgate/internal/fault"
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

// answer is the HTTP answer to a fault code. message receives the service that answered
// (fault.Error.Service: "Azure Resource Manager", "Table storage"; "" when plsgate itself found it).
type answer struct {
	status  int
	code    string
	message func(service string) string
}

func say(msg string) func(string) string { return func(string) string { return msg } }

// answers is the one table from a fault code (internal/fault) to the HTTP answer. Messages
// are for the client and carry no internal detail; the log has the original error.
var answers = map[fault.Code]answer{
	fault.Invalid:  {http.StatusBadRequest, CodeBadRequest, say("invalid request")},
	fault.NotFound: {http.StatusNotFound, CodeNotFound, say("not found")},
	fault.Conflict: {http.StatusConflict, CodeInProgress, say("another decision on this connection is in progress; try again shortly")},
	fault.Forbidden: {http.StatusBadGateway, CodeUpstreamRefused, func(svc string) string {
		return cmp.Or(svc, "Azure") + " refused plsgate's request; check its role assignments"
	}},
	fault.Refused: {http.StatusBadGateway, CodeUpstreamRefused, func(svc string) string {
		if svc == arm.Service {
			return "Azure Resource Manager refused the change; the attempt is recorded in the connection's history"
		}
		return cmp.Or(svc, "Azure") + " refused plsgate's request"
	}},
	fault.Unavailable: {http.StatusServiceUnavailable, CodeUnavailable, say(unavailable)},
	fault.Timeout:     {http.StatusServiceUnavailable, CodeUnavailable, say(unavailable)},
	fault.Canceled:    {http.StatusServiceUnavailable, CodeUnavailable, say("the request was canceled")},
	fault.Internal:    {http.StatusInternalServerError, CodeInternal, say("internal error")},
}

const unavailable = "a dependency (Table storage or Azure Resource Manager) is unavailable; try again later"

// invalidInputs words the bad inputs the client can fix (code Invalid) more precisely.
var invalidInputs = []struct {
	err           error
	code, message string
}{
	{arm.ErrInvalidArgument, CodeInvalidID, "invalid resource ID"},
	{store.ErrTooLarge, CodeInvalidID, "a resource ID or value exceeds an Azure Table storage limit (a key holds 1 KiB after escaping)"},
	{store.ErrInvalidContinuation, CodeBadRequest, "invalid continuation token"},
}

// classify maps an error to the answer: errors that carry their own answer (the API's, the
// handler's, the reconciler's refusals with details) first, then the error's fault code through
// answers. An error without a code is Internal: a 500 with a generic message; the caller logs
// the original.
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
	code := fault.CodeOf(err)
	switch code {
	case fault.NotFound:
		var snf *reconcile.ServiceNotFoundError
		if errors.As(err, &snf) {
			return newError(http.StatusNotFound, CodeNotFound,
				snf.Noun()+" not found: Azure Resource Manager does not know it and plsgate has no record of it; check the ID")
		}
	case fault.Invalid:
		for _, in := range invalidInputs {
			if errors.Is(err, in.err) {
				return badRequest(in.code, in.message)
			}
		}
	}
	a, ok := answers[code]
	if !ok {
		a = answers[fault.Internal]
	}
	return newError(a.status, a.code, a.message(fault.ServiceOf(err)))
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
