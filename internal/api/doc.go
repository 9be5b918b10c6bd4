// Package api is plsgate's HTTP API (the Api function, route v1/{*path}): manual approve and
// reject, reconcile on demand, dry-run evaluation, the stored state and history, and a
// server-rendered status page. New returns an http.Handler that handler.HandleHTTP serves; the
// requests it sees are real *http.Request values whose path starts with /api/v1/.
//
// Routes (all JSON unless noted; errors are {"error":{"code","message"}}):
//
//	POST /api/v1/connections/approve   {"connectionId","reason","force"}  → 200 outcome
//	POST /api/v1/connections/reject    {"connectionId","reason","force"}  → 200 outcome
//	                                   (with force also revokes an Approved connection)
//	POST /api/v1/reconcile             {"privateLinkServiceId"} → 200 outcomes (synchronous)
//	                                   {}                       → 202 {"runId"} (background scan)
//	GET  /api/v1/reconcile/{runId}     → 200 run progress/result
//	POST /api/v1/evaluate              {"connectionId"} or {"connection":{…},"privateLinkService":{…}}
//	                                   → 200 decision + rule trace; nothing is changed
//	GET  /api/v1/connections?status=&pls=&limit=&continuation=  → 200 page of stored state
//	GET  /api/v1/connections/history?connectionId=&limit=       → 200 transitions, newest first
//	GET  /api/v1/status                → 200 text/html
//	GET  /api/v1/openapi.json          → 200 the OpenAPI 3.1 document of all this (openapi.json)
//
// Status codes: 400 malformed JSON, unknown fields, bad resource IDs (also one too long to be
// a Table key: over 1 KiB once escaped), missing reason, unknown query parameters; 401 no (or an invalid) token or principal where one is required (with
// WWW-Authenticate: Bearer in entra mode); 403 caller not listed, or force in key mode, or
// (NotInScope) a PLS or connection ID outside SCOPE_SUBSCRIPTIONS ∪ SCOPE_PLS_IDS on approve,
// reject, reconcile and evaluate by ID; 404 unknown route or resource (also a PLS that ARM does
// not know and plsgate never recorded); 405 wrong method (with Allow); 409 connection not
// Pending (with its status; an Approved one says that reject with force revokes it), a
// decision already in progress, a scan already running; 413 body
// too large; 415 a body that is not JSON; 422 the policy decides otherwise and force was not
// given (with the decision); 502 Azure refused plsgate itself (its role); 503 Table storage or
// ARM unavailable right now (Retry-After); 500 anything else, with a generic message — details
// go to slog only.
//
// Authorization. The Functions host checks the function key before the handler runs; reads
// (status, connections, history, evaluate, a run) need nothing more. Approve/reject and reconcile
// identify the caller by Options.AuthMode (AUTH_MODE; internal/auth verifies and matches):
//   - key (default): the function key alone, actor "function-key"; Easy Auth headers are not
//     read; force is refused (403).
//   - entra: Authorization: Bearer <Entra ID access token>, verified by Options.Tokens (issuer,
//     audience, signature, expiry); missing or refused → 401 with a Bearer challenge, keys
//     unreachable → 503.
//   - easyauth: X-MS-CLIENT-PRINCIPAL (auth_typ aad; tenant AUTH_TENANT_ID when set). Easy Auth
//     replaces it on every request only while App Service authentication is on; without it a
//     caller holding the function key could forge it. -ID and -NAME headers are never read.
//
// The identity must match an APPROVERS entry or an APPROVERS_FORCE entry (403 otherwise); force
// needs an APPROVERS_FORCE entry. Entries are typed (oid:, group:, role:, upn:) and compared only
// with their own claim, exactly; display name, e-mail and preferred_username never authorise. The
// actor recorded is principal:<upn>, else principal:<oid>. The caller is checked before the body
// is read.
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
// evaluation, the auth mode with its approver lists and TokenVerifier (*auth.EntraVerifier), a
// clock.
//
// It must not: decide anything itself (the reconciler does, through the same record-then-act
// path as every trigger), write to Table storage except through the reconciler, log request
// bodies verbatim, URLs, query strings or headers (the function key travels in ?code= and
// x-functions-key, tokens in Authorization and Easy Auth headers), or answer internal error text to clients.
package api
