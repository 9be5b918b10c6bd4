package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/plsgate/plsgate/internal/app"
	"github.com/plsgate/plsgate/internal/arm"
	"github.com/plsgate/plsgate/internal/arm/armfake"
	"github.com/plsgate/plsgate/internal/fault"
	"github.com/plsgate/plsgate/internal/store"
	"github.com/plsgate/plsgate/internal/store/memstore"
	"github.com/plsgate/plsgate/internal/testenv"
)

// The exit-code table: bad input is 2 like a bad argument, every other failure 1.
func TestExitCode(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		want int
	}{
		{"nil", nil, ExitOK},
		{"configuration", &app.ConfigError{Setting: "PLSGATE_POLICY", Err: errors.New("bad")}, ExitUsage},
		{"ID over the Table key limit", fmt.Errorf("scan: %w", store.ErrTooLarge), ExitUsage},
		{"invalid argument", fmt.Errorf("get: %w", arm.ErrInvalidArgument), ExitUsage},
		{"Table storage down", memstore.Unavailable(), ExitRuntime},
		{"ARM refuses", armfake.HTTPError(403), ExitRuntime},
		{"not found", armfake.HTTPError(404), ExitRuntime},
		{"deadline", context.DeadlineExceeded, ExitRuntime},
		{"unmarked", errors.New("boom"), ExitRuntime},
		{"bad input joined with an outage", fault.Join(store.ErrTooLarge, memstore.Unavailable()), ExitRuntime},
	} {
		if got := ExitCode(tc.err); got != tc.want {
			t.Errorf("%s: exit %d, want %d", tc.name, got, tc.want)
		}
	}
	for _, c := range fault.Codes() {
		if _, ok := exitCodes[c]; !ok {
			t.Errorf("exitCodes lacks %s", c)
		}
	}
}

// An ID no Table key can hold is a bad argument: exit 2, naming the limit. Before: exit 1,
// as if Table storage had failed.
func TestOverlongIDIsUsageError(t *testing.T) {
	env := testenv.Start(t, testenv.Options{NoEvents: true})
	long := otherPLSID + strings.Repeat("%", 400) // 3 bytes each once escaped: over 1 KiB
	var stderr bytes.Buffer
	code, out := run(t, env.Getenv, &stderr, "history", "--pls", long)
	if code != ExitUsage || !strings.Contains(stderr.String(), "Table storage limit") {
		t.Fatalf("history: exit %d (want %d)\n%s\n%s", code, ExitUsage, out, stderr.String())
	}
	stderr.Reset()
	code, out = run(t, env.Getenv, &stderr, "reconcile", "--pls", long)
	if code != ExitUsage || !strings.Contains(out, "Table storage limit") {
		t.Fatalf("reconcile: exit %d (want %d)\n%s\n%s", code, ExitUsage, out, stderr.String())
	}
}
