package store

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

// answerAll is a Table service that knows every table and answers every entity
// request with one status and error code (or a transport error).
type answerAll struct {
	status int
	code   string
	err    error
}

func (a answerAll) Do(req *http.Request) (*http.Response, error) {
	status, code := a.status, a.code
	if strings.HasSuffix(req.URL.Path, "/Tables") {
		status, code = http.StatusConflict, "TableAlreadyExists"
	} else if a.err != nil {
		return nil, a.err
	}
	h := http.Header{"Content-Type": {"application/json"}, "X-Ms-Error-Code": {code}}
	body := `{"odata.error":{"code":"` + code + `","message":{"lang":"en-US","value":"answered by the test"}}}`
	return &http.Response{StatusCode: status, Header: h, Body: io.NopCloser(strings.NewReader(body)), Request: req}, nil
}

// Every failure leaves the store with its fault code and class, given once by the
// Table clients' pipeline; the SDK's *azcore.ResponseError and the sentinels stay
// reachable. Before: raw SDK errors, so a 403 was read as ARM's refusal by the API and
// only bad input the store checked itself was recognisable.
func TestBoundaryGivesFaultCodes(t *testing.T) {
	for _, tc := range []struct {
		name     string
		answer   answerAll
		code     fault.Code
		terminal bool
		sentinel error
	}{
		{"403", answerAll{status: 403, code: "AuthorizationPermissionMismatch"}, fault.Forbidden, false, nil},
		{"404", answerAll{status: 404, code: "ResourceNotFound"}, fault.NotFound, false, ErrNotFound},
		{"503", answerAll{status: 503, code: "ServerBusy"}, fault.Unavailable, false, nil},
		{"429", answerAll{status: 429, code: "TooManyRequests"}, fault.Unavailable, false, nil},
		{"400 property too large", answerAll{status: 400, code: "PropertyValueTooLarge"}, fault.Invalid, true, ErrTooLarge},
		{"400 other", answerAll{status: 400, code: "InvalidInput"}, fault.Refused, false, nil},
		{"connection refused", answerAll{err: syscall.ECONNREFUSED}, fault.Unavailable, false, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := New(context.Background(), Options{ConnectionString: devStorage, Transport: tc.answer,
				Retry: &policy.RetryOptions{MaxRetries: -1}})
			if err != nil {
				t.Fatal(err)
			}
			_, err = s.GetConnection(context.Background(), "/subscriptions/s/resourceGroups/g/providers/Microsoft.Network/privateLinkServices/p", "c1")
			fe := fault.Of(err)
			if fe == nil || fault.CodeOf(err) != tc.code || fault.IsTerminal(err) != tc.terminal || fault.ServiceOf(err) != Service && tc.sentinel == nil {
				t.Fatalf("err %v: code %s terminal %v service %q, want %s terminal %v service %q",
					err, fault.CodeOf(err), fault.IsTerminal(err), fault.ServiceOf(err), tc.code, tc.terminal, Service)
			}
			if tc.sentinel != nil && !errors.Is(err, tc.sentinel) {
				t.Errorf("err %v is not %v", err, tc.sentinel)
			}
			var re *azcore.ResponseError
			if tc.answer.err == nil && (!errors.As(err, &re) || re.StatusCode != tc.answer.status) {
				t.Errorf("err %v: the SDK's ResponseError is lost", err)
			}
			if IsUnavailable(err) != (tc.code == fault.Unavailable) {
				t.Errorf("IsUnavailable = %v", IsUnavailable(err))
			}
		})
	}
}

// Wrap is idempotent: a coded error keeps its code and class, and gains only the context.
func TestWrapKeepsCode(t *testing.T) {
	inner := Wrap("", &azcore.ResponseError{StatusCode: 403})
	outer := Wrap("record intent", inner)
	if fault.CodeOf(outer) != fault.Forbidden || fault.IsTerminal(outer) || fault.ServiceOf(outer) != Service ||
		!strings.HasPrefix(outer.Error(), "record intent: ") {
		t.Fatalf("%v: %s", outer, fault.CodeOf(outer))
	}
	if Wrap("x", nil) != nil {
		t.Fatal("nil wrapped")
	}
	if err := Wrap("x", ErrTooLarge); !fault.IsTerminal(err) || fault.CodeOf(err) != fault.Invalid {
		t.Fatalf("too large: %v", err)
	}
	if err := Wrap("x", errors.New("boom")); fault.CodeOf(err) != fault.Internal || fault.IsTerminal(err) {
		t.Fatalf("unmarked: %v must be Internal and retried", err)
	}
}
