// Package azurite launches Azurite's Table service — the npm package azurite,
// pinned in the repository's package.json / package-lock.json and installed
// into ./node_modules — on a loopback port, for local runs of plsgate:
// `plsgate-dev demo`, and (through internal/testutil/azurite) the integration
// tests.
//
// It owns: installing the pinned Azurite (`npm ci`, serialised by a lock
// file), starting azurite-table in its own process group with a data
// directory, waiting until it accepts connections, and stopping the whole
// group (SIGINT so Azurite saves its database, SIGKILL after 5 s). On Linux
// the kernel also kills Azurite when the process that started it dies
// (Pdeathsig), so a crashed demo or test binary leaves nothing behind.
//
// It must not: choose where data lives (the caller passes the directory),
// reach beyond loopback, or run Azurite with accounts other than the
// well-known development account (AZURITE_ACCOUNTS is dropped from its
// environment so the documented key always works).
package azurite
