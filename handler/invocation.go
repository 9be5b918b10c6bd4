package handler

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sync"
)

// maxLogLines caps Logs per invocation so a chatty loop cannot grow the answer without bound;
// every line still reaches slog.
const maxLogLines = 1000

// Invocation describes one call from the host. It is passed to EventFunc and TimerFunc and
// is available to HTTP handlers through FromContext.
type Invocation struct {
	ID           string
	FunctionName string
	Sys          Sys
	Metadata     map[string]json.RawMessage
	// Logger carries invocationId and function on every line.
	Logger *slog.Logger

	mu      sync.Mutex
	logs    []string
	dropped int
}

// Logf records a line for the response's Logs (shown with the invocation in App Insights)
// and writes it through Logger at Info, because the host drops Logs of a failed invocation.
// Safe for concurrent use.
func (inv *Invocation) Logf(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	inv.mu.Lock()
	if len(inv.logs) < maxLogLines {
		inv.logs = append(inv.logs, msg)
	} else {
		inv.dropped++
	}
	inv.mu.Unlock()
	inv.Logger.Info(msg)
}

// Logs returns a copy of the lines recorded so far.
func (inv *Invocation) Logs() []string {
	inv.mu.Lock()
	defer inv.mu.Unlock()
	if len(inv.logs) == 0 && inv.dropped == 0 {
		return []string{}
	}
	out := make([]string, len(inv.logs), len(inv.logs)+1)
	copy(out, inv.logs)
	if inv.dropped > 0 {
		out = append(out, fmt.Sprintf("(%d more log lines dropped; see the handler's own logs)", inv.dropped))
	}
	return out
}

// MetadataString returns Metadata[key] decoded as a (double-encoded) string.
func (inv *Invocation) MetadataString(key string) (string, bool) {
	raw, ok := inv.Metadata[key]
	if !ok {
		return "", false
	}
	s, err := DecodeString(raw)
	if err != nil {
		return "", false
	}
	return s, true
}

type invocationKey struct{}

// FromContext returns the invocation a context belongs to (the ctx given to EventFunc and
// TimerFunc, and r.Context() in an HTTP handler).
func FromContext(ctx context.Context) (*Invocation, bool) {
	inv, ok := ctx.Value(invocationKey{}).(*Invocation)
	return inv, ok
}

func withInvocation(ctx context.Context, inv *Invocation) context.Context {
	return context.WithValue(ctx, invocationKey{}, inv)
}
