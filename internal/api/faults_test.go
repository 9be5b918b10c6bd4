package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"

	"github.com/plsgate/plsgate/internal/arm"
	"github.com/plsgate/plsgate/internal/events"
	"github.com/plsgate/plsgate/internal/fault"
	"github.com/plsgate/plsgate/internal/reconcile"
	"github.com/plsgate/plsgate/internal/store"
)

// The table itself: every fault code has an answer, and each is the one meant.
func TestAnswersTable(t *testing.T) {
	want := map[fault.Code]struct {
		status int
		code   string
	}{
		fault.Invalid:     {400, CodeBadRequest},
		fault.NotFound:    {404, CodeNotFound},
		fault.Conflict:    {409, CodeInProgress},
		fault.Forbidden:   {502, CodeUpstreamRefused},
		fault.Refused:     {502, CodeUpstreamRefused},
		fault.Unavailable: {503, CodeUnavailable},
		fault.Timeout:     {503, CodeUnavailable},
		fault.Canceled:    {503, CodeUnavailable},
		fault.Internal:    {500, CodeInternal},
	}
	for _, c := range fault.Codes() {
		a, ok := answers[c]
		w := want[c]
		if !ok || a.status != w.status || a.code != w.code || a.message("") == "" {
			t.Errorf("%s: answers has %d %s (present %v), want %d %s", c, a.status, a.code, ok, w.status, w.code)
		}
		// The class does not change the answer: a terminal error of the code answers the same.
		if e := classify(&fault.Error{Code: c, Terminal: true}); e.status != w.status {
			t.Errorf("terminal %s: %d", c, e.status)
		}
	}
}

func tableAnswer(status int, code string) error {
	return store.Wrap("", &azcore.ResponseError{StatusCode: status, ErrorCode: code})
}

func armAnswer(status int, code string) error {
	return arm.Wrap("", &azcore.ResponseError{StatusCode: status, ErrorCode: code})
}

// Errors as they leave the boundaries map to their answer, whichever service answered.
// Before: any 4xx *azcore.ResponseError read as ARM's refusal, so Table storage's 403 said
// "Azure Resource Manager refused…", its 412 conflict "…refused the change", and a key over
// the Table limit was a 500.
func TestClassifyByBoundary(t *testing.T) {
	for _, tc := range []struct {
		name    string
		err     error
		status  int
		code    string
		message string // a part of the message
		not     string // must not appear in it
	}{
		{"Table storage refuses plsgate (403)", fmt.Errorf("list connections: %w", tableAnswer(403, "AuthorizationPermissionMismatch")),
			502, CodeUpstreamRefused, "Table storage refused plsgate's request", "Resource Manager"},
		{"Table storage refuses the request (400)", tableAnswer(400, "InvalidInput"), 502, CodeUpstreamRefused, "Table storage refused", "Resource Manager"},
		{"Table storage conflict (412)", fmt.Errorf("put: %w", store.Wrap("", fmt.Errorf("%w: %w", store.ErrConflict, &azcore.ResponseError{StatusCode: 412}))),
			409, CodeInProgress, "in progress", "refused"},
		{"Table storage busy (503)", tableAnswer(503, "ServerBusy"), 503, CodeUnavailable, "unavailable", ""},
		{"Table storage: entity too large (400)", tableAnswer(400, "EntityTooLarge"), 400, CodeInvalidID, "Table storage limit", ""},
		{"ARM refuses plsgate (403)", armAnswer(403, "AuthorizationFailed"), 502, CodeUpstreamRefused,
			"Azure Resource Manager refused plsgate's request; check its role assignments", ""},
		{"ARM refuses the change (409)", armAnswer(409, "Conflict"), 502, CodeUpstreamRefused, "Azure Resource Manager refused the change", ""},
		{"ARM busy (409 AnotherOperationInProgress)", armAnswer(409, "AnotherOperationInProgress"), 503, CodeUnavailable, "unavailable", ""},
		{"ARM not found", armAnswer(404, "ResourceNotFound"), 404, CodeNotFound, "not found", ""},
		{"ARM throttles", armAnswer(429, "TooManyRequests"), 503, CodeUnavailable, "unavailable", ""},
		{"key over the Table limit", fmt.Errorf("reconcile: %w", store.ErrTooLarge), 400, CodeInvalidID, "1 KiB", ""},
		{"continuation", store.ErrInvalidContinuation, 400, CodeBadRequest, "continuation", ""},
		{"invalid argument", fmt.Errorf("get: %w", arm.ErrInvalidArgument), 400, CodeInvalidID, "invalid resource ID", ""},
		{"malformed event", events.ErrMalformed, 400, CodeBadRequest, "invalid request", ""},
		{"in progress", reconcile.ErrInProgress, 409, CodeInProgress, "in progress", ""},
		{"not found", fmt.Errorf("connection x: %w", reconcile.ErrNotFound), 404, CodeNotFound, "not found", ""},
		{"deadline", context.DeadlineExceeded, 503, CodeUnavailable, "unavailable", ""},
		{"canceled", fmt.Errorf("x: %w", context.Canceled), 503, CodeUnavailable, "canceled", ""},
		{"unmarked", errors.New("boom"), 500, CodeInternal, "internal error", ""},
		{"refusal and outage joined", fault.Join(armAnswer(403, "AuthorizationFailed"), tableAnswer(503, "ServerBusy")), 503, CodeUnavailable, "unavailable", ""},
	} {
		e := classify(tc.err)
		if e.status != tc.status || e.code != tc.code || !strings.Contains(e.message, tc.message) || (tc.not != "" && strings.Contains(e.message, tc.not)) {
			t.Errorf("%s: %d %s %q, want %d %s containing %q", tc.name, e.status, e.code, e.message, tc.status, tc.code, tc.message)
		}
	}
}

// Through the handler: a Table 403 on a read names Table storage. Before: 502 "Azure
// Resource Manager refused plsgate's request; check its role assignments".
func TestTableForbiddenIsNotARMRefusal(t *testing.T) {
	ta := newTestAPI(t, func(o *Options) {
		o.Store, o.Runs = failingStore{fmt.Errorf("memstore: %w", tableAnswer(http.StatusForbidden, "AuthorizationFailure"))}, nil
	})
	e := wantError(t, ta.do(t, get("/api/v1/connections")), http.StatusBadGateway, CodeUpstreamRefused)
	if !strings.Contains(e.Error.Message, "Table storage") || strings.Contains(e.Error.Message, "Resource Manager") {
		t.Fatalf("message %q: want Table storage named, not ARM", e.Error.Message)
	}
}
