// Command scanbench measures one timer scan at scale (issue 7 §6) with the
// scan in a process of its own, so its peak RSS is the scanner's alone:
//
//	go run ./internal/tools/scanbench                       # 10,000 PLSs × 5, 1 in 10 Pending, 50 ms, concurrency 8
//	go run ./internal/tools/scanbench -store azurite -pls 1000
//
// The parent process runs the ARM emulator (armemu, a fixed latency on every
// call) and the Table store — an in-memory one served over net/rpc
// (memstore), or Azurite — and starts itself with -child for each tick: tick
// 1 converges the generated world (every connection recorded, every Pending
// one approved), tick 2 is the steady state (nothing to do). For each tick it
// reports wall time against the ideal bound
// (list pages sequential + writes / concurrency) × latency, the exact ARM
// calls by operation, the store calls, and the child's peak RSS (VmHWM).
//
// The default store is in memory because Azurite (one Node.js process) would
// be what is measured: the first scan of 10,000 PLSs × 5 connections makes
// about 130,000 store calls (one query per PLS, two rows per first-seen
// connection, four per approval). -store azurite gives the figure with real
// Table calls at a smaller size.
//
// It is a measurement tool, not a test (nothing runs it in `make test`), and
// nothing may import it.
package main
