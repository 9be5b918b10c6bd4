// Package extproc says what `go test -short` means in this repository: no external process.
//
// A test that starts one — Azurite, Chromium, `go build`, a built plsgate binary, bash — skips
// under -short through SkipShort, with one message; every other test runs. The Azurite harness
// (internal/testutil/azurite.Start, used by internal/testenv) calls it itself, so a test skips at
// the point it would start Azurite; tests that start other processes call it before the first one
// (a test of this package reads every test file and fails on a process start without it).
package extproc

import "testing"

// Message starts the skip message of every test that -short skips.
const Message = "-short: starts an external process"

// SkipShort skips the test under -short, naming the process it would start (e.g. "Azurite").
// Call it from the test's goroutine, before the process starts.
func SkipShort(tb testing.TB, what string) {
	tb.Helper()
	if testing.Short() {
		tb.Skipf("%s (%s)", Message, what)
	}
}
