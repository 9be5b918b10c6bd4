// Package handler speaks the Azure Functions custom-handler protocol, and nothing else.
//
// The Functions host starts plsgate, passes a port in FUNCTIONS_CUSTOMHANDLER_PORT, counts the
// process ready as soon as GET / gets any answer, and then POSTs every invocation to
// /{FunctionName} with {"Data":{...},"Metadata":{...}}. The handler answers
// {"Outputs":{...},"Logs":[...],"ReturnValue":...} with Content-Type application/json. A non-2xx
// answer fails the invocation: the host binds no outputs and drops the Logs, so everything in
// Logs is also written through slog. host.json sets enableProxyingHttpRequest false, so HTTP
// triggers arrive in the same envelope (Data.req), never as raw proxied requests.
//
// What it owns:
//   - the wire types (InvokeRequest, InvokeResponse, Sys, TimerInfo, HTTPRequest, HTTPResponse)
//     and tolerant decoders for what real hosts send: strings double-encoded (a JSON string that
//     still holds its quotes), an Event Grid event as an object or as a JSON-encoded string, a
//     Query that is an object or the string "{}", .NET times without a zone;
//   - one adapter per trigger: EventFunc (Event Grid, cardinality one), TimerFunc, and an
//     http.Handler that receives a real *http.Request rebuilt from Data.req (path with the
//     route prefix, e.g. /api/v1/status; route params as r.PathValue) and whose recorded
//     answer becomes the http output binding;
//   - per-invocation deadlines (events default to 25 s, under Event Grid's 30 s window), the
//     invocation id (X-Azure-Functions-InvocationId, else Metadata.sys.RandGuid) on every slog
//     line, a body limit, panics turned into failed invocations, graceful shutdown.
//
// Outcome mapping: a func that returns nil acknowledges (200); a func that returns an error
// fails the invocation (500, body still carries Logs and the error) and Event Grid redelivers
// the whole batch. The handler cannot make the host answer Event Grid anything but 202/500, so
// permanent errors must be recorded by the caller and acknowledged by returning nil.
//
// Body limit: DefaultMaxBodyBytes is 4 MiB. One Event Grid event is at most 1 MB and the host
// sends it twice (Data.<binding> and Metadata.data); escaping of a double-encoded string can
// grow it further, so 4 MiB admits every legal event with room to spare. A larger event or
// timer invocation fails with 413. A larger HTTP-trigger invocation carries a caller's
// oversized request body: failing it would reach the caller as the host's bare 500, so it
// succeeds instead, its http output a 413 JSON error (the rest of the body is drained first).
//
// The http output binding is {"statusCode","status","body","headers"} with string status and
// string header values. Some host versions deserialize it with all four properties required
// (HttpOutputBindingResponse, Required.Always), so all four are always written. The body
// travels as a JSON string, so HTTP answers must be UTF-8 text (JSON, HTML), not binary, and
// nothing streams: the handler's answer is buffered and sent whole.
//
// Security: the function key may arrive in Data.req.Url and Query (?code=) and in the
// x-functions-key header; this package never logs or answers URLs, queries or headers (a
// Url it cannot parse is refused without quoting it).
//
// It must not: know anything about private link services, policies or storage, import
// anything under internal/, or block GET / on any start-up work.
package handler
