// Package armemu is plsgate's local stand-in for Azure: an in-memory,
// concurrency-safe HTTP server speaking the Azure Resource Manager REST shapes
// plsgate and its demo touch, plus an Event Grid delivery emulation.
//
// It owns:
//   - Microsoft.Network/privateLinkServices: GET, list by resource group and
//     by subscription (nextLink paging, optional empty pages), and
//     privateEndpointConnections list/get/PUT/DELETE. The connection PUT must
//     target an existing connection (else 400
//     PrivateEndpointConnectionCannotBeCreatedByServiceProvider), answers 200
//     synchronously, changes the etag, ignores If-Match; Rejected is terminal
//     (400 BadRequest "Approving rejected private endpoint connections is not
//     supported.", see CodeRejectedIsTerminal).
//   - Microsoft.Network/privateEndpoints GET/PUT/DELETE/list: a consumer's PUT
//     requests connections (manual → Pending with description =
//     requestMessage; automatic → Approved when the consumer's subscription is
//     in autoApproval); a target not visible to the consumer is refused with
//     400 ThirdPartyPrivateLinkServiceProvidedDuringPrivateEndpointCreationDoesNotExistOrIsNotVisible.
//   - Microsoft.SignalRService/webPubSub GET and sharedPrivateLinkResources
//     GET/list/PUT (long-running: 201 + Azure-AsyncOperation, polled at
//     operationStatuses/{id})/DELETE. A new one requests a connection on the
//     target PLS from the service's managed subscription; its status follows
//     that connection.
//   - POST /providers/Microsoft.ResourceGraph/resources for plsgate's two
//     private link service queries (not a KQL engine).
//   - Auth: any "Authorization: Bearer …" (loopback only); a token whose tenant
//     (JWT tid, else Options.TenantID) is not the subscription's gets 401
//     InvalidAuthenticationTokenTenant.
//   - Event Grid: after each successful write, the events Azure would emit
//     (Microsoft.Resources.Resource{Write,Delete}Success in the subscription
//     the request was sent to; Microsoft.ResourceNotifications.Resources.CreatedOrUpdated
//     for a changed PLS; cross-subscription requests configurable), delivered
//     at least once to a sink in Event Grid or CloudEvents schema with
//     Event Grid's retry schedule, optional duplicates and shuffling.
//   - Fault injection (latency, 429 + Retry-After, 500, 503) per operationId,
//     deterministic by seed, and call counters per operationId.
//   - Control endpoints under /_emulator/ and a Go API for tests.
//
// Choices where Azure is silent or unverifiable are written next to the code
// (e.g. Web PubSub's managed private endpoint name, event evidence fields).
//
// It must not: be reachable beyond loopback (it accepts any token), import
// other plsgate packages (internal/arm is tested against it, not the reverse),
// or pretend to be a general ARM: unknown paths answer 404 NotFound naming the
// emulator.
package armemu
