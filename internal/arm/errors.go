package arm

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
)

// ErrInvalidArgument marks errors plsgate made before calling ARM (a bad ID,
// a missing field): never retryable.
var ErrInvalidArgument = errors.New("invalid argument")

// retryableCodes are ARM error codes that heal by themselves whatever the HTTP
// status says: the Network resource provider answers 409 AnotherOperationInProgress
// while another write on the same resource runs (concurrent approvals), and
// RetryableError when it asks the caller to try again.
var retryableCodes = []string{"AnotherOperationInProgress", "RetryableError"}

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

// IsNotFound reports a 404 (the resource is gone).
func IsNotFound(err error) bool { return StatusCode(err) == http.StatusNotFound }

// IsForbidden reports a 401 or 403 (plsgate lacks the role, or its token is refused).
func IsForbidden(err error) bool {
	sc := StatusCode(err)
	return sc == http.StatusUnauthorized || sc == http.StatusForbidden
}

// IsRetryable reports whether trying again later may succeed: 408, 429, 5xx,
// ARM's retryable error codes, and transport failures (connection refused/reset,
// timeouts of the HTTP client, truncated answers). The caller's own context
// ending (canceled, deadline exceeded) is not retryable by itself: the caller
// knows whether its deadline or a shutdown caused it. 400/401/403/404/409 and
// invalid arguments are terminal.
func IsRetryable(err error) bool {
	if err == nil {
		return false
	}
	if sc := StatusCode(err); sc != 0 {
		code := ErrorCode(err)
		for _, c := range retryableCodes {
			if strings.EqualFold(code, c) {
				return true
			}
		}
		return sc == http.StatusRequestTimeout || sc == http.StatusTooManyRequests || sc >= 500
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, ErrInvalidArgument) {
		return false
	}
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.ECONNABORTED) || errors.Is(err, syscall.EPIPE) {
		return true
	}
	var ne net.Error
	if errors.As(err, &ne) {
		return true // DNS, dial, TLS handshake and client timeouts all end up here
	}
	return false
}
