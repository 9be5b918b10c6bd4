package app

import (
	"log/slog"

	"github.com/plsgate/plsgate/internal/fault"
)

// Result is what an invocation does with an error: fail (Event Grid
// redelivers the event; a failed tick shows in monitoring), or acknowledge it
// and log it at Level.
type Result struct {
	Fail  bool
	Level slog.Level
	Say   string // the log message of an acknowledged error
}

// acknowledged is the one table from a terminal error's fault code to how the
// ResourceEvents function acknowledges it. Retryable errors (the default,
// internal/fault) fail the invocation instead.
var acknowledged = map[fault.Code]Result{
	fault.Invalid:   {Level: slog.LevelWarn, Say: "bad input acknowledged (malformed event, invalid argument, or an ID no Table key can hold): a retry would see the same"},
	fault.NotFound:  {Level: slog.LevelInfo, Say: "not found: acknowledged"},
	fault.Forbidden: {Level: slog.LevelWarn, Say: "refused to plsgate (its role?): recorded and acknowledged; the timer or an operator tries again"},
	fault.Refused:   {Level: slog.LevelWarn, Say: "refused: recorded and acknowledged; the timer or an operator tries again"},
}

// acknowledgedOther is how a terminal error with another code is acknowledged.
var acknowledgedOther = Result{Level: slog.LevelWarn, Say: "terminal error recorded and acknowledged"}

// EventResult maps an error of the ResourceEvents function (decoding,
// classifying or reconciling one event) to the invocation's result.
func EventResult(err error) Result {
	switch {
	case err == nil:
		return Result{}
	case fault.IsRetryable(err):
		return Result{Fail: true}
	}
	if r, ok := acknowledged[fault.CodeOf(err)]; ok {
		return r
	}
	return acknowledgedOther
}

// TimerResult maps an error of the Reconcile (timer) function: any error
// fails the tick, terminal or not. A timer has no redelivery to spare; a
// failed tick is visible in monitoring, and the next tick retries what failed.
func TimerResult(err error) Result { return Result{Fail: err != nil} }
