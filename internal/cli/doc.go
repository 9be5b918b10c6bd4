// Package cli owns plsgate's command line: one exported function per
// subcommand (serve, reconcile, policy, history, version), each taking its
// arguments and writers explicitly so tests run them in-process, and Program,
// the dispatch and -h/--help behaviour cmd/plsgate-dev shares. It wires the
// internal packages together; the work itself lives in those packages. It
// links no emulator, demo or dev tool: those are cmd/plsgate-dev's.
package cli
