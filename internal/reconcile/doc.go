// Package reconcile owns the one decision/act loop of plsgate. Every trigger
// (Event Grid event, timer scan, HTTP request, CLI) ends in Reconcile for one
// private link service, in Scan for many, or in Apply for a manual decision.
// It speaks to ARM through resource.Providers: a resource of any registered
// kind is reconciled like a private link service (the PLS is the first kind;
// "PLS" below stands for any of them), and a scan lists every kind.
//
// Reconcile is level-based: it never trusts an event's payload for state. It
// reads the private link service with its connections from ARM (one read),
// loads the stored state of the PLS's connections from Table storage (one
// query), records what changed outside plsgate as observed transitions, asks
// the policy about each Pending connection and, for an approve/reject decision,
// records the intent before the single ARM write and the outcome after it.
// The row protocol itself — claim with a lease, record the intent, finish
// (done or failed), void, release, record an observation or drift, with the
// ETags and conflicts — is the store's (store.Protocol); reconcile decides
// which verb to call, and a conflict it gets back means "re-read and decide
// again" (converge, Apply).
//
// Safety rules it enforces:
//   - an ARM write happens only after its intent is stored: the connection row
//     is claimed with If-Match (PendingAction + PendingTransition + a lease), and
//     the intent transition row exists; if either write fails, no ARM call;
//   - concurrent or duplicate deliveries race on the row's ETag: one claim
//     wins, the others see the claim (lease active → "in progress") or its
//     result, so a connection is approved once and its transition stored once;
//   - a claim whose holder died (lease expired or released) is resumed from its
//     stored intent, never re-decided behind the audit row's back;
//   - Rejected is terminal: it is never flipped; unmatched connections stay Pending;
//   - an Approved connection is rejected only by a person (reject with force:
//     a revocation) or by DRIFT_MODE=enforce, and enforce never rejects a
//     person's forced approval: that is an override, recorded on the row (who,
//     why) until the connection leaves Approved, and not drift (overrides.go);
//   - a Web PubSub shared private link resource vouches (verifiedBy: webPubSub)
//     only for the one connection that could be its own, and each instance of it
//     for one connection ever: the binding is stored before the intent and never
//     freed; two or more candidates are recorded as Ambiguous and none is
//     approved (binding.go);
//   - ARM ETags are not relied upon (the connection PUT declares no If-Match):
//     the fresh read decides.
//
// Observed transitions are written after the row is claimed, so a crash between
// the two loses that one observation row but never duplicates it; intents are
// written before anything acts, so no approval is ever unrecorded.
package reconcile
