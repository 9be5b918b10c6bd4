package cli

import (
	"errors"

	"github.com/plsgate/plsgate/internal/app"
	"github.com/plsgate/plsgate/internal/fault"
)

// exitCodes is the one table from a fault code (internal/fault) to the exit
// code of a command whose operation failed. Bad input is the caller's, like a
// bad argument; every other failure is the operation's. The class does not
// matter here: a person or a script decides whether to run the command again.
var exitCodes = map[fault.Code]int{
	fault.Invalid:     ExitUsage,
	fault.NotFound:    ExitRuntime,
	fault.Conflict:    ExitRuntime,
	fault.Forbidden:   ExitRuntime,
	fault.Refused:     ExitRuntime,
	fault.Unavailable: ExitRuntime,
	fault.Timeout:     ExitRuntime,
	fault.Canceled:    ExitRuntime,
	fault.Internal:    ExitRuntime,
}

// ExitCode maps the error of an operation to the exit code: nil is ExitOK, a
// configuration error found while building (app.ConfigError) ExitUsage, and
// anything else goes through exitCodes by its fault code.
func ExitCode(err error) int {
	if err == nil {
		return ExitOK
	}
	var ce *app.ConfigError
	if errors.As(err, &ce) {
		return ExitUsage
	}
	if code, ok := exitCodes[fault.CodeOf(err)]; ok {
		return code
	}
	return ExitRuntime
}
