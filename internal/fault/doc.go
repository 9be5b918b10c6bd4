// Package fault is plsgate's one error vocabulary: an Error with a Code (what
// went wrong, in words a caller can act on) and a class (retry, the default,
// or terminal, the opt-out).
//
// Errors get their code once, where they enter plsgate: the arm and store
// boundaries (an azcore pipeline policy and their sentinels), the event decoder
// (malformed events) and the few sentinels of reconcile. Three tables read it
// back, each in one place: internal/app (fail the invocation so Event Grid
// redelivers, or acknowledge and log), internal/api/errors.go (HTTP status)
// and internal/cli (exit code).
//
// Retry is the default, as in controller-runtime: an error nobody marked
// (Internal) fails the invocation rather than being acknowledged and lost.
// Terminal is kept for what a retry cannot fix and is not worth re-reading:
// bad input (a resource ID over the Table key limit, a malformed event, an
// invalid argument), a resource that is gone, and Azure Resource Manager's
// refusals (recorded in the connection's history).
//
// It imports only the standard library, so the SDK-free packages (events,
// resource, store/tablekey) can use it. It must not classify HTTP answers:
// which status means what belongs to the boundary that called the service.
package fault
