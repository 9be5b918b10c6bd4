package store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"unicode/utf8"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
)

func TestIsUnavailable(t *testing.T) {
	resp := func(code int) error { return &azcore.ResponseError{StatusCode: code, ErrorCode: "X"} }
	for _, tc := range []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"503", resp(http.StatusServiceUnavailable), true},
		{"500 wrapped", fmt.Errorf("op: %w", resp(500)), true},
		{"429", resp(http.StatusTooManyRequests), true},
		{"408", resp(http.StatusRequestTimeout), true},
		{"404", resp(404), false},
		{"403", resp(403), false},
		{"conflict", &statusError{ErrConflict, &azcore.ResponseError{StatusCode: 412}}, false},
		{"not found", fmt.Errorf("get: %w", &statusError{ErrNotFound, &azcore.ResponseError{StatusCode: 404}}), false},
		{"too large", ErrTooLarge, false},
		{"refused", &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}, true},
		{"reset", fmt.Errorf("read: %w", syscall.ECONNRESET), true},
		{"eof", fmt.Errorf("read: %w", io.ErrUnexpectedEOF), true},
		{"deadline", fmt.Errorf("x: %w", context.DeadlineExceeded), true},
		{"canceled", context.Canceled, false},
		{"validation", errors.New("store: PLS ID is empty"), false},
	} {
		if got := IsUnavailable(tc.err); got != tc.want {
			t.Errorf("%s: IsUnavailable(%v) = %v, want %v", tc.name, tc.err, got, tc.want)
		}
	}
}

func TestStatusErrorIsAndAs(t *testing.T) {
	re := &azcore.ResponseError{StatusCode: 412, ErrorCode: "UpdateConditionNotSatisfied"}
	err := fmt.Errorf("store: put connection: %w", &statusError{ErrConflict, re})
	var got *azcore.ResponseError
	if !errors.Is(err, ErrConflict) || !errors.As(err, &got) || got.StatusCode != 412 {
		t.Fatalf("errors.Is/As failed on %v", err)
	}
	if !strings.Contains(err.Error(), "412 UpdateConditionNotSatisfied") {
		t.Errorf("message %q lacks status", err)
	}
}

func TestTruncate(t *testing.T) {
	if s := "short"; truncate(s) != s {
		t.Fatal("short text changed")
	}
	exact := strings.Repeat("x", maxFreeText)
	if truncate(exact) != exact {
		t.Fatal("text at the limit changed")
	}
	long := strings.Repeat("ü", maxFreeText) // 2 bytes per rune: the cut lands mid-rune
	got := truncate(long)
	if len(got) > maxFreeText || !strings.HasSuffix(got, truncatedMarker) || !utf8.ValidString(got) {
		t.Fatalf("truncate: len %d, suffix ok %v, valid %v", len(got), strings.HasSuffix(got, truncatedMarker), utf8.ValidString(got))
	}
}

func TestEntityLimits(t *testing.T) {
	e := newEntity("pk", "rk")
	e.str("ConnectionID", strings.Repeat("a", 32<<10)) // exactly 64 KiB in UTF-16
	if err := e.check(); err != nil {
		t.Fatalf("64 KiB property rejected: %v", err)
	}
	e.str("ConnectionID", strings.Repeat("a", 32<<10+1))
	if err := e.check(); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("oversized property: %v", err)
	}
	big := newEntity("pk", "rk")
	for i := range 20 {
		big.str(fmt.Sprintf("P%d", i), strings.Repeat("a", 30<<10))
	}
	if err := big.check(); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("entity over 1 MiB: %v", err)
	}
}

func TestContinuationToken(t *testing.T) {
	pk, rk := "p%2Fk", "r'k"
	tok := encodeContinuation(&pk, &rk)
	gp, gr, err := decodeContinuation(tok)
	if err != nil || *gp != pk || *gr != rk {
		t.Fatalf("round trip: %v %v %v", gp, gr, err)
	}
	for _, bad := range []string{"!!", "e30", encodeContinuation(nil, nil), "bm90IGpzb24"} {
		if _, _, err := decodeContinuation(bad); !errors.Is(err, ErrInvalidContinuation) {
			t.Errorf("token %q: err = %v", bad, err)
		}
	}
}

func TestNewValidation(t *testing.T) {
	ctx := context.Background()
	for name, o := range map[string]Options{
		"nothing":             {},
		"both":                {ConnectionString: "UseDevelopmentStorage=true", Endpoint: "https://a.table.core.windows.net"},
		"endpoint no cred":    {Endpoint: "https://a.table.core.windows.net"},
		"bad prefix":          {ConnectionString: "UseDevelopmentStorage=true", TablePrefix: "1abc"},
		"prefix with dash":    {ConnectionString: "UseDevelopmentStorage=true", TablePrefix: "a-b"},
		"malformed conn str":  {ConnectionString: "nonsense"},
		"conn str no account": {ConnectionString: "AccountKey=abc;"},
	} {
		if _, err := New(ctx, o); err == nil {
			t.Errorf("%s: New accepted %+v", name, o)
		} else if strings.Contains(err.Error(), "Eby8vdM02") {
			t.Errorf("%s: error leaks the account key: %v", name, err)
		}
	}
}
