// Command latencybench measures how long plsgate takes to approve a
// connection request through the whole local stack (issue 15 §6): the ARM +
// Event Grid emulator (armemu) delivers its events to the Functions host
// emulator (hostemu), which invokes `plsgate serve` — a child process, as the
// host starts a custom handler — which reads and writes ARM through the
// emulator and keeps its state in Azurite.
//
//	make bench-latency                                          # every scenario, ARM latency 0 and 50 ms (~15-20 min)
//	go run ./internal/tools/latencybench -scenarios a,c -arm-latency 0
//	make bench-latency BENCH_LATENCY_FLAGS="-scenarios b,bp -n 100 -json out.json"
//
// It needs Go and the pinned Azurite (`make tools`); it builds plsgate into a
// temporary directory unless -plsgate names a binary. Each scenario runs -n
// requests one at a time, then -n more in bursts of -burst, against a fresh
// emulator world and plsgate (its own table prefix); Azurite is shared.
//
// Scenarios:
//
//	a   a private endpoint in the PLS's subscription: its privateEndpoints/write
//	    event and the PLS's Resource Notifications event. Event Grid's real
//	    retry schedule.
//	b   a Web PubSub shared private link resource whose ResourceWriteSuccess is
//	    raised when its operation completes (SharedLinkWriteAt=completed); no
//	    event in the PLS owner's subscription (CrossSubscription none). Real
//	    retry schedule.
//	bp  (b′) the same, the event raised when the PUT is accepted: plsgate fails
//	    the invocation while the resource is Updating (for -spl-duration) and
//	    Event Grid redelivers. The retry schedule and -spl-duration run at
//	    -retry-scale; each wait between attempts is reported at Event Grid's
//	    nominal delay (10 s, 30 s, …), processing times as measured.
//	c   the shared private link resource with no event at all: only the
//	    Reconcile timer, which the bench fires through the host emulator every
//	    -timer-period. Requests arrive at a random phase of the period; results
//	    are in periods, and scaled to -real-period (2 min): the wait for the
//	    tick scales, the tick's own work does not.
//
// One request per private link service at a time (a pool of -burst PLSs;
// each request is withdrawn once measured), and every shared private link
// resource has its own unguessable request message, so each is the only
// candidate on its PLS when plsgate decides (verifiedBy: webPubSub binds one
// resource to one connection; two Pending connections with one message are
// ambiguous and never approved).
//
// What is measured: from the moment an event of the request is handed to the
// host emulator (its first delivery attempt) — for c, from the request's
// creation — to the moment the ARM emulator answers plsgate's connection
// write that left the connection Approved. "Created → Approved" is also
// reported (it adds the emulator's queueing in bursts). A request not
// approved within -timeout counts as never approved; a scenario whose first
// three requests are never approved stops (the event path is not there).
//
// Where the time goes (sequential mode, one request in flight): the bench
// serves the emulator and a proxy in front of Azurite itself and times every
// call plsgate makes; within each request's window it reports the wall time
// with an ARM call in flight, with a Table call in flight, and the rest
// (plsgate's own work, the host emulator, local HTTP), with the calls per
// request by operation and plsgate's and Azurite's CPU time. The emulator
// answers ARM at once unless -arm-latency adds a delay to every call.
//
// Not measured: Azure itself. The emulator's events arrive within
// milliseconds; real Event Grid adds its own publish delay (seconds, not
// documented), and real ARM and Table latencies differ from the emulator's
// and Azurite's on loopback.
//
// It is a measurement tool, not a test (`make test` does not run it), and
// nothing may import it.
package main
