// Package memstore is an in-memory implementation of the store's API with the
// same semantics, for unit tests and benchmarks: ETag concurrency, Add
// conflicts, deterministic transition keys (store.TransitionRowKey),
// newest-first run IDs and transitions, continuation tokens — indexed by
// partition so a 10,000-PLS scan costs no per-call scan of the whole table.
// Over net/rpc (Serve, Dial) it lives in another process, as Table storage
// does in Azure, so a scanning process's memory is its own.
//
// The conformance suite (internal/store/storetest, run by internal/store's
// TestConformance) holds it, directly and over RPC, to the Azure Table
// store's semantics, including the record-then-act protocol's verbs.
//
// Tests inject faults with Store.Down (every call fails as unavailable) and
// Store.FailAppends.
//
// It must not be used by plsgate itself: it keeps everything in memory and
// forgets it on exit.
package memstore
