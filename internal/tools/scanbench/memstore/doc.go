// Package memstore is an in-memory stand-in for plsgate's Table store, for
// scan benchmarks only: it implements what reconcile uses (its Store and
// RunRecorder) with internal/store's semantics — ETag concurrency, Add
// conflicts, deterministic transition keys, newest-first run IDs — indexed by
// partition so a 10,000-PLS scan costs no per-call scan of the whole table.
// Over net/rpc (Serve, Dial) it lives in another process, as Table storage
// does in Azure, so the scanning process's memory is its own.
//
// It must not be used by plsgate itself: it keeps everything in memory and
// forgets it on exit.
package memstore
