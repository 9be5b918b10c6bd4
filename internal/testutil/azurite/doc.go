// Package azurite runs Azurite's Table service (npm package azurite, pinned in the repo's
// package.json / package-lock.json) for integration tests.
//
// One Azurite process serves a whole test binary: Start starts it lazily on a free loopback port with
// a fresh temporary data directory and returns the full development connection string; Main, called
// from TestMain, stops it (the whole process group) when the tests finish. Stop and Restart (same port,
// same data directory) let outage tests take the service away and bring it back.
//
// If node_modules/.bin/azurite-table is missing, Start runs `npm ci` in the repository root, guarded by
// a file lock so parallel test binaries do not install concurrently. Missing node/npm is a test
// failure with a clear message, never a skip: the integration tests are part of `make test`. Under
// `go test -short` Start skips the test instead (internal/testutil/extproc: -short starts no process).
//
// Tests sharing the instance isolate themselves with TablePrefix(t). Tests that call Stop or Restart
// must not run in parallel with other tests of the same binary.
//
// Installing, launching and stopping Azurite live in internal/devenv/azurite (shared with
// `plsgate-dev demo`); this package adds the per-binary instance, outages and table prefixes.
//
// This package must not be imported by production code.
package azurite
