package fault

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"
	"testing"
)

var (
	errBad  = NewTerminal(Invalid, "bad input")
	errBusy = New(Unavailable, "busy")
	errGone = NewTerminal(NotFound, "gone")
)

// Retry is the default: only what is marked terminal is not retried.
func TestClassAndCode(t *testing.T) {
	for _, tc := range []struct {
		name  string
		err   error
		retry bool
		code  Code
	}{
		{"nil", nil, false, ""},
		{"unmarked", errors.New("boom"), true, Internal},
		{"unmarked, wrapped", fmt.Errorf("op: %w", errors.New("boom")), true, Internal},
		{"context deadline", fmt.Errorf("op: %w", context.DeadlineExceeded), true, Timeout},
		{"context canceled", context.Canceled, true, Canceled},
		{"raw network error stays unclassified", &net.OpError{Op: "dial", Err: syscall.ECONNREFUSED}, true, Internal},
		{"terminal sentinel", fmt.Errorf("get x: %w", errBad), false, Invalid},
		{"retryable sentinel", fmt.Errorf("get x: %w", errBusy), true, Unavailable},
		{"sentinel with detail (two %w)", fmt.Errorf("%w: %w", errBad, errors.New("detail")), false, Invalid},
		{"retry mark over a terminal cause", Wrap(Unavailable, "requeue", errGone), true, Unavailable},
		{"terminal mark over a retryable cause", Terminal(errBusy), false, Unavailable},
		{"Terminal of an unmarked error", Terminal(errors.New("give up")), false, Internal},
		{"errors.Join: one retryable part", errors.Join(errBad, errBusy), true, Invalid},
		{"errors.Join: all terminal", errors.Join(errBad, errGone), false, Invalid},
		{"Join: one retryable part, its code outside", Join(errBad, nil, errBusy), true, Unavailable},
		{"Join: all terminal", Join(errGone, errBad), false, NotFound},
		{"Join: an unmarked part is retried", Join(errBad, errors.New("boom")), true, Internal},
		{"Join of nothing", Join(nil, nil), false, ""},
	} {
		if got := IsRetryable(tc.err); got != tc.retry {
			t.Errorf("%s: IsRetryable = %v, want %v", tc.name, got, tc.retry)
		}
		if got := IsTerminal(tc.err); got != (tc.err != nil && !tc.retry) {
			t.Errorf("%s: IsTerminal = %v", tc.name, got)
		}
		if got := CodeOf(tc.err); got != tc.code {
			t.Errorf("%s: CodeOf = %q, want %q", tc.name, got, tc.code)
		}
	}
}

func TestErrorText(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want string
	}{
		{errBad, "bad input"},
		{Wrap(Conflict, "put row", errors.New("412")), "put row: 412"},
		{&Error{Code: Invalid, Msg: "too large", Err: errors.New("key k")}, "too large: key k"},
		{&Error{Code: Invalid, Op: "check", Msg: "too large"}, "check: too large"},
		{Join(errors.New("a"), errors.New("b")), "a\nb"},
	} {
		if got := tc.err.Error(); got != tc.want {
			t.Errorf("%q, want %q", got, tc.want)
		}
	}
	if !errors.Is(Wrap(Internal, "x", errBad), errBad) || Wrap(Internal, "x", nil) != nil || Terminal(nil) != nil {
		t.Error("Wrap/Terminal")
	}
}

func TestOfTransport(t *testing.T) {
	for _, tc := range []struct {
		err  error
		code Code
		ok   bool
	}{
		{context.DeadlineExceeded, Timeout, true},
		{fmt.Errorf("x: %w", context.Canceled), Canceled, true},
		{&net.OpError{Op: "dial", Err: syscall.ECONNREFUSED}, Unavailable, true},
		{fmt.Errorf("read: %w", syscall.ECONNRESET), Unavailable, true},
		{io.ErrUnexpectedEOF, Unavailable, true},
		{errors.New("boom"), "", false},
		{nil, "", false},
	} {
		if c, ok := OfTransport(tc.err); c != tc.code || ok != tc.ok {
			t.Errorf("%v: %s %v, want %s %v", tc.err, c, ok, tc.code, tc.ok)
		}
	}
}

func TestCodesDistinct(t *testing.T) {
	seen := map[Code]bool{}
	for _, c := range Codes() {
		if c == "" || seen[c] {
			t.Errorf("code %q empty or repeated", c)
		}
		seen[c] = true
	}
}
