package arm

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"syscall"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"

	"github.com/plsgate/plsgate/internal/fault"
)

// The ARM boundary's table: refusals are terminal, "try again" answers are not.
func TestAnswerFault(t *testing.T) {
	for _, tc := range []struct {
		status   int
		code     string
		want     fault.Code
		terminal bool
	}{
		{400, "InvalidRequestFormat", fault.Refused, true},
		{400, "PrivateEndpointConnectionCannotBeCreatedByServiceProvider", fault.Refused, true},
		{401, "InvalidAuthenticationToken", fault.Forbidden, true},
		{403, "AuthorizationFailed", fault.Forbidden, true},
		{403, "RequestDisallowedByPolicy", fault.Forbidden, true},
		{404, "ResourceNotFound", fault.NotFound, true},
		{408, "RequestTimeout", fault.Unavailable, false},
		{409, "Conflict", fault.Refused, true},
		{409, "AnotherOperationInProgress", fault.Unavailable, false},
		{400, "RetryableError", fault.Unavailable, false},
		{429, "TooManyRequests", fault.Unavailable, false},
		{500, "InternalServerError", fault.Unavailable, false},
		{503, "ServiceUnavailable", fault.Unavailable, false},
	} {
		if c, term := answerFault(tc.status, tc.code); c != tc.want || term != tc.terminal {
			t.Errorf("%d %s: %s terminal=%v, want %s terminal=%v", tc.status, tc.code, c, term, tc.want, tc.terminal)
		}
	}
}

type answerTransport struct {
	status int
	code   string
	err    error
}

func (a answerTransport) Do(req *http.Request) (*http.Response, error) {
	if a.err != nil {
		return nil, a.err
	}
	body := `{"error":{"code":"` + a.code + `","message":"answered by the test"}}`
	return &http.Response{StatusCode: a.status, Header: http.Header{"Content-Type": {"application/json"}},
		Body: io.NopCloser(strings.NewReader(body)), Request: req}, nil
}

// Every error *Client returns carries its code and class from the pipeline (once), with
// the SDK's ResponseError still reachable. Before: raw SDK errors, classified by each caller.
func TestClientErrorsCarryFaultCodes(t *testing.T) {
	for _, tc := range []struct {
		name     string
		tr       answerTransport
		code     fault.Code
		terminal bool
	}{
		{"403", answerTransport{status: 403, code: "AuthorizationFailed"}, fault.Forbidden, true},
		{"404", answerTransport{status: 404, code: "ResourceNotFound"}, fault.NotFound, true},
		{"409", answerTransport{status: 409, code: "Conflict"}, fault.Refused, true},
		{"503", answerTransport{status: 503, code: "ServiceUnavailable"}, fault.Unavailable, false},
		{"connection reset", answerTransport{err: syscall.ECONNRESET}, fault.Unavailable, false},
		{"caller canceled", answerTransport{err: context.Canceled}, fault.Canceled, false},
		{"unforeseen", answerTransport{err: errors.New("boom")}, fault.Internal, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := New(Options{Credential: StaticToken("t"), Retry: &policy.RetryOptions{MaxRetries: -1}, Transport: tc.tr})
			if err != nil {
				t.Fatal(err)
			}
			_, err = c.GetPrivateLinkService(context.Background(), "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg/providers/Microsoft.Network/privateLinkServices/p")
			if fault.CodeOf(err) != tc.code || fault.IsTerminal(err) != tc.terminal {
				t.Fatalf("err %v: %s terminal=%v, want %s terminal=%v", err, fault.CodeOf(err), fault.IsTerminal(err), tc.code, tc.terminal)
			}
			if tc.tr.err == nil {
				var re *azcore.ResponseError
				if !errors.As(err, &re) || re.StatusCode != tc.tr.status || re.ErrorCode != tc.tr.code || fault.ServiceOf(err) != Service {
					t.Errorf("err %v: ResponseError or service lost", err)
				}
			}
		})
	}
	// Invalid arguments are bad input: terminal, and no request is sent.
	c, _ := New(Options{Credential: StaticToken("t"), Transport: answerTransport{err: errors.New("no request expected")}})
	if _, err := c.GetPrivateLinkService(context.Background(), "/subscriptions/x/resourceGroups/y"); fault.CodeOf(err) != fault.Invalid || !fault.IsTerminal(err) {
		t.Fatalf("invalid ID: %v (%s)", err, fault.CodeOf(err))
	}
}

// Wrap classifies a raw error once; an error that has a code keeps it.
func TestWrapIdempotent(t *testing.T) {
	raw := &azcore.ResponseError{StatusCode: 403, ErrorCode: "AuthorizationFailed"}
	once := Wrap("read", raw)
	twice := Wrap("reconcile", once)
	if fault.CodeOf(twice) != fault.Forbidden || !fault.IsTerminal(twice) || fault.ServiceOf(twice) != Service || twice.Error() != "reconcile: read: "+raw.Error() {
		t.Fatalf("%q: %s", twice, fault.CodeOf(twice))
	}
	if !IsForbidden(raw) || IsForbidden(nil) || !IsNotFound(Wrap("", &azcore.ResponseError{StatusCode: 404})) {
		t.Fatal("IsForbidden/IsNotFound")
	}
}
