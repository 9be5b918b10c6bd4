// Package hostemu is a small Azure Functions host emulator for tests and `make demo`
// (Core Tools cannot be installed here). It reads functions/*/function.json and host.json,
// builds the invoke payloads the real host builds, posts them to a custom handler over
// HTTP, and enforces the rules the real host enforces, so a handler that passes here talks
// correctly to Azure.
//
// What it emulates (sources: azure-functions-host ScriptInvocationContextExtensions,
// HttpRequestExtensions.GetRequestAsJObject, DefaultHttpWorkerService,
// HttpScriptInvocationResultExtensions; the Event Grid extension's HttpRequestProcessor and
// ProcessEventsAsync; the HTTP extension's request binding data):
//   - the request: POST {handler}/{FunctionName}, chunked, Content-Type application/json,
//     X-Azure-Functions-InvocationId, X-Azure-Functions-HostVersion,
//     User-Agent Azure-Functions-Host/<version>, traceparent;
//   - the body {"Data":{binding: value},"Metadata":{...,"sys":{MethodName,UtcNow,RandGuid}}}
//     where every value that is not a JSON object is sent as a JSON string of its JSON text
//     (the host's JsonConvert.SerializeObject fallback): strings arrive double-encoded,
//     arrays as strings, numbers as strings;
//   - Event Grid: one invocation per event, all events of a delivery in parallel, Data.<name>
//     the event object (an indented JSON string, double-encoded, when the trigger binding sets
//     "dataType": "string"), Metadata.data the event's data; 202 when all succeed, 500 when
//     any fails (Event Grid then retries the whole batch);
//   - the webhook /runtime/webhooks/eventgrid?functionName=X: aeg-event-type
//     SubscriptionValidation → {"validationResponse": code} (never reaches the handler),
//     Notification → delivery, Unsubscribe → 202, anything else → 400; OPTIONS with
//     WebHook-Request-Origin → 200 with WebHook-Allowed-Origin (CloudEvents abuse protection);
//   - timers: Data.<name> = {"Schedule":{"AdjustForDST"},"ScheduleStatus","IsPastDue"} with
//     .NET time formats, ScheduleStatus tracked per function when useMonitor is on, one run
//     at a time per function; %SETTING% schedules resolve from Options.Settings, then the
//     environment (an unresolved setting disables that function only, as in the host);
//   - HTTP: {routePrefix}/{route} matching (literal segments case-insensitive, {p}, {p?},
//     {*p}, constraints ignored), methods, authLevel function/admin keys (code query or
//     x-functions-key header → 401 before the handler), Data.req (Url, Method, Query,
//     Headers, Params, Identities, Body) and the Metadata the HTTP binding adds (body JSON
//     properties, query values, route values, Query, Headers);
//   - the answer rules: non-2xx, a non-JSON Content-Type, or an unparsable body fail the
//     invocation and drop its Logs; every Outputs key must be an output binding of the
//     function; the http output must carry statusCode, status, body and headers (some host
//     versions require all four) with string header values. Logs of a successful invocation
//     are logged through Options.Logger, one Info line each, like the host.
//
// Deliberate simplifications: cron schedules are not evaluated (ScheduleStatus.Next is
// fire time + Options.TimerPeriod; TimeSpan schedules use their period); runOnStartup is
// ignored; /admin/functions/{name} runs a timer synchronously (the host answers 202 first);
// Event Grid invocations of one delivery run at most Options.MaxConcurrency at a time.
//
// It must not: import the handler package (an independent implementation is the point of
// the golden tests comparing the two), or be used in production code paths.
package hostemu
