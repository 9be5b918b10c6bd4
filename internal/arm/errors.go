package arm

import (
	"errors"
	"net/http"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"

	"github.com/plsgate/plsgate/internal/fault"
)

// Service names Azure Resource Manager in errors and API answers.
const Service = "Azure Resource Manager"

// ErrInvalidArgument marks errors plsgate made before calling ARM (a bad ID,
// a missing field): bad input, terminal.
var ErrInvalidArgument = fault.NewTerminal(fault.Invalid, "invalid argument")

// retryableCodes are ARM error codes that heal by themselves whatever the HTTP
// status says: the Network resource provider answers 409 AnotherOperationInProgress
// while another write on the same resource runs (concurrent approvals), and
// RetryableError when it asks the caller to try again.
var retryableCodes = []string{"AnotherOperationInProgress", "RetryableError"}

// answerFault is the ARM boundary's table: an error answer's code and class.
// Refusals (401/403, 404, other 4xx) are terminal: retrying the same request
// gets the same answer; reconcile records them and the timer (or an operator)
// tries again later.
func answerFault(status int, errorCode string) (fault.Code, bool) {
	for _, c := range retryableCodes {
		if strings.EqualFold(errorCode, c) {
			return fault.Unavailable, false
		}
	}
	switch {
	case status == http.StatusRequestTimeout, status == http.StatusTooManyRequests, status >= 500:
		return fault.Unavailable, false
	case status == http.StatusNotFound:
		return fault.NotFound, true
	case status == http.StatusUnauthorized, status == http.StatusForbidden:
		return fault.Forbidden, true
	case status >= 400:
		return fault.Refused, true
	}
	return fault.Internal, false // a non-error status reported as an error: not ARM's refusal
}

// Wrap is the ARM boundary: it gives err its code and class once (an error
// that has one keeps it) and says what was being done. *Client's pipeline
// applies it to every answer (boundaryPolicy); fakes call it to fail as ARM
// does. Transport failures and timeouts are retryable; what it does not
// recognise is Internal (retryable, fault's default).
func Wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	if fault.Of(err) != nil {
		if op == "" {
			return err
		}
		return &fault.Error{Code: fault.CodeOf(err), Terminal: fault.IsTerminal(err), Service: fault.ServiceOf(err), Op: op, Err: err}
	}
	e := &fault.Error{Code: fault.Internal, Op: op, Err: err}
	var re *azcore.ResponseError
	if errors.As(err, &re) {
		e.Code, e.Terminal = answerFault(re.StatusCode, re.ErrorCode)
		e.Service = Service
	} else if c, ok := fault.OfTransport(err); ok {
		e.Code, e.Service = c, Service
	}
	return e
}

// boundaryPolicy runs per call, outside azcore's retry policy: the final
// error answer or transport failure of every ARM request leaves the pipeline
// as a *fault.Error. The SDK's generated clients return a pipeline error as
// is, and the *azcore.ResponseError built here is the one they would build
// (runtime.NewResponseError), so errors.As and StatusCode keep working.
type boundaryPolicy struct{}

func (boundaryPolicy) Do(req *policy.Request) (*http.Response, error) {
	resp, err := req.Next()
	if err != nil {
		return resp, Wrap("", err)
	}
	if resp.StatusCode >= 400 && req.Raw().Method != http.MethodHead { // HEAD 404 is an answer
		return resp, Wrap("", runtime.NewResponseError(resp))
	}
	return resp, nil
}

// StatusCode returns the HTTP status of an ARM error answer, 0 when err is not one
// (transport error, context error, invalid argument).
func StatusCode(err error) int {
	var re *azcore.ResponseError
	if errors.As(err, &re) {
		return re.StatusCode
	}
	return 0
}

// ErrorCode returns ARM's error code ({"error":{"code":...}}), "" when err is not
// an ARM error answer.
func ErrorCode(err error) string {
	var re *azcore.ResponseError
	if errors.As(err, &re) {
		return re.ErrorCode
	}
	return ""
}

// code is err's fault code per the ARM table (an error from a fake that did
// not pass Wrap is classified here the same way).
func code(err error) fault.Code { return fault.CodeOf(Wrap("", err)) }

// IsNotFound reports a 404 (the resource is gone).
func IsNotFound(err error) bool { return err != nil && code(err) == fault.NotFound }

// IsForbidden reports a 401 or 403 (plsgate lacks the role, or its token is refused).
func IsForbidden(err error) bool { return err != nil && code(err) == fault.Forbidden }

// IsRetryable reports whether ARM or the network said "try again later": 408,
// 429, 5xx, ARM's retryable error codes, and transport failures. The caller's
// own context ending is not (its code is Timeout or Canceled: the caller knows
// whether its deadline or a shutdown caused it). Whether a trigger is retried
// is fault.IsRetryable's question, not this one.
func IsRetryable(err error) bool { return err != nil && code(err) == fault.Unavailable }
