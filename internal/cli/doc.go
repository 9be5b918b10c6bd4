// Package cli owns plsgate's command line: one exported function per
// subcommand (serve, reconcile, policy, history, dev, version), each taking its
// arguments and writers explicitly so tests run them in-process. It wires the
// internal packages together; the work itself lives in those packages.
package cli
