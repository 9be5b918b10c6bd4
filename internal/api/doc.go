// Package api is plsgate's HTTP API (the Api function, route v1/{*path}): manual approve and
// reject, reconcile on demand, dry-run evaluation, the stored state and history, and a
// server-rendered status page. New returns an http.Handler that handler.HandleHTTP serves; the
// requests it sees are real *http.Request values whose path starts with /api/v1/.
//
// Routes (all JSON unless noted; errors are {"error":{"code","message"}}):
//
//	POST /api/v1/connections/approve   {"connectionId","reason","force"}  → 200 outcome
//	POST /api/v1/connections/reject    {"connectionId","reason","force"}  → 200 outcome
//	POST /api/v1/reconcile             {"privateLinkServiceId"} → 200 outcomes (synchronous)
//	                                   {}                       → 202 {"runId"} (background scan)
//	GET  /api/v1/reconcile/{runId}     → 200 run progress/result
//	POST /api/v1/evaluate              {"connectionId"} or {"connection":{…},"privateLinkService":{…}}
//	                                   → 200 decision + rule trace; nothing is changed
//	GET  /api/v1/connections?status=&pls=&limit=&continuation=  → 200 page of stored state
//	GET  /api/v1/connections/history?connectionId=&limit=       → 200 transitions, newest first
//	GET  /api/v1/status                → 200 text/html
//
// Status codes: 400 malformed JSON, unknown fields, bad resource IDs, missing reason, unknown
// query parameters; 401 no (or an unreadable) principal where one is required; 403 principal not
// allowed; 404 unknown route or resource; 405 wrong method (with Allow); 409 connection not
// Pending (with its status), a decision already in progress, a scan already running; 413 body
// too large; 415 a body that is not JSON; 422 the policy decides otherwise and force was not
// given (with the decision); 502 Azure refused plsgate itself (its role); 503 Table storage or
// ARM unavailable right now (Retry-After); 500 anything else, with a generic message — details
// go to slog only.
//
// Authorization. The Functions host checks the function key before the handler runs. On top of
// it, APPROVERS (object IDs, UPNs or group IDs, compared case-insensitively) limits who may
// approve or reject, and APPROVERS_FORCE who may override the policy with force. The caller is
// identified by App Service Authentication (Easy Auth): X-MS-CLIENT-PRINCIPAL (base64 JSON with
// auth_typ, claims [{typ,val}], name_typ, role_typ), X-MS-CLIENT-PRINCIPAL-ID and -NAME. The
// object ID comes from the oid claim (or -ID), the UPN from upn/preferred_username/name claims
// (or -NAME), groups from "groups" claims. Choices:
//   - APPROVERS set, no principal → 401; principal not listed (nor in APPROVERS_FORCE) → 403.
//   - force needs APPROVERS_FORCE to list the principal; when APPROVERS is set and
//     APPROVERS_FORCE is not, nobody may force; when neither is set, anyone with the key may.
//   - without APPROVERS anyone with the function key may act; the actor is principal:<name>
//     when Easy Auth identified the caller, else "function-key".
//   - a present but unreadable X-MS-CLIENT-PRINCIPAL is refused (401) on every route that
//     records an actor, never guessed around.
//   - Easy Auth replaces these headers on every request it handles; with Easy Auth off a
//     caller holding the function key could forge them, so APPROVERS is meaningful only with
//     Easy Auth on. Object IDs are preferred over UPNs (groups overage — more than 200 groups —
//     drops the groups claim; list such users by object ID).
//
// Reconcile. One PLS runs synchronously under SyncTimeout (default 200 s, below the 230 s cap
// on HTTP answers). The whole scope runs in the background with a context of its own (ended by
// Options.BaseContext at shutdown and bounded by the scan budget), one scan at a time per
// process; its progress is kept in memory until it ends and in the runs table. On Consumption
// plans the instance may be frozen once no invocation is running: a background scan then
// finishes on the next invocation or is resumed by the timer from its stored position.
//
// Status page: html/template (everything escaped), no script at all, a Content-Security-Policy
// that admits only its own inline style (by hash), Referrer-Policy no-referrer (the page URL
// carries the function key), a meta refresh every minute. It shows at most 2,000 connections
// and the 30 newest transitions; the JSON routes page through everything.
//
// Dependencies are small interfaces passed in Options: Deciders (*reconcile.Reconciler),
// StoreReader and reconcile.RunRecorder (*store.Store), the compiled policy for pasted-JSON
// evaluation, the approver lists, a clock.
//
// It must not: decide anything itself (the reconciler does, through the same record-then-act
// path as every trigger), write to Table storage except through the reconciler, log request
// bodies verbatim, URLs, query strings or headers (the function key travels in ?code= and
// x-functions-key, tokens in Easy Auth headers), or answer internal error text to clients.
package api
