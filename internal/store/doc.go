// Package store is plsgate's durable state in Azure Table storage (aztables).
//
// It owns four tables (names optionally prefixed, for tests):
//
//   - connections: the current state of each private endpoint connection plsgate has seen, one row per
//     (PLS, connection); PartitionKey = EscapeKey(lower-case PLS ID), RowKey = EscapeKey(name). Rows are
//     written with Add (create) or Replace with If-Match (update), so concurrent writers cannot lose
//     each other's changes: the loser gets ErrConflict, re-reads and decides again. The PendingAction /
//     PendingTransition fields are the intent marker of the record-before-act rule, and Protocol
//     (protocol.go) is its verbs — claim, record intent, done, fail, void, renew, release, observe,
//     decide, drift — written once over Rows for every store (storetest checks them all alike).
//   - transitions: the append-only audit history, one row per observed or performed change, partitioned
//     by PLS. The RowKey is deterministic (inverted At + hash of the cause), so a duplicate delivery
//     maps onto the same row and AppendTransition is idempotent.
//   - runs: reconcile runs (partition "run", newest first) and scan checkpoints (partition
//     "checkpoint"), so a timer scan that runs out of time resumes on the next tick.
//   - bindings: which connection each Web PubSub shared private link resource instance vouched for;
//     PartitionKey = EscapeKey(lower-case resource ID), RowKey = the instance ("created-" + its
//     systemData.createdAt, or "seen-" + plsgate's first sighting, recorded in the same partition).
//     Written with Add before an approval's intent and never deleted, so an instance vouches for one
//     connection ever; "which connection does this resource vouch for?" is one partition query.
//
// The store enforces Azure's limits itself (Azurite is laxer): keys ≤ 1 KiB without / \ # ? or control
// characters (EscapeKey), string properties ≤ 64 KiB, entities ≤ 1 MiB; free-text fields (Reason,
// Description, Drift, Error) are truncated to 16 KiB with a marker instead of failing the write.
// Times are stored as Edm.DateTime in UTC with 100 ns precision (Azure's own resolution). Keys
// round-trip any Go string; property values travel as JSON, so invalid UTF-8 in them becomes U+FFFD.
//
// Every write carries a random WriteID so that a write the SDK retried after a lost response (azcore
// retries POST/PUT) is recognised as our own: a 409 on Add or a 412 on If-Match whose stored row
// carries our WriteID is success, not a conflict.
//
// The store does not decide anything: it never calls ARM, never interprets statuses or policies, and
// never deletes history. Its errors carry their internal/fault code, given once at the boundary (the
// Table clients' pipeline, store.go): ErrNotFound, ErrConflict, ErrTooLarge (bad input, the only
// terminal class) and IsUnavailable for "try again later" (transport errors, timeouts, 408/429/5xx).
package store
