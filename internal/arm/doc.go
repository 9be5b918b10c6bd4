// Package arm is plsgate's only door to Azure Resource Manager.
//
// It owns:
//   - the providers (resource.Provider) of every resource kind whose
//     connections plsgate approves, one file each, registered by ARM type with
//     RegisterProvider and built together by Providers; the private link
//     service (pls_provider.go) is the first; reconcile takes the built
//     resource.Providers and finds each ID's provider by its kind;
//   - the domain types plsgate reasons about (PrivateEndpoint,
//     SharedPrivateLinkResource; PrivateLinkService, Connection and
//     ConnectionUpdate are the resource package's), mapped from the SDK models;
//   - two small consumer-side interfaces (PrivateEndpoints, SharedPrivateLinks)
//     listing only the operations plsgate calls besides the providers', so tests
//     pass fakes and the reconciler never sees an SDK type;
//   - *Client, their implementation on resourcemanager/network/armnetwork/v7 and
//     resourcemanager/webpubsub/armwebpubsub, with one ClientFactory per
//     subscription built lazily and cached (SDK clients are bound to a subscription);
//   - credentials (managed identity in Azure, DefaultAzureCredential elsewhere,
//     StaticToken for the local emulator), ARM_ENDPOINT via cloud.Configuration;
//   - resource-ID helpers (azcore's arm.ParseResourceID, compared case-insensitively)
//   - the ARM boundary of the error vocabulary (errors.go): every failed call
//     leaves with its internal/fault code and class, given once in the pipeline;
//   - Operations, the one list of every ARM operation plsgate calls, with the
//     RBAC action each needs (the infra least-privilege role is checked against it).
//
// It must not:
//   - decide anything (policy) or remember anything (store): it reads and writes ARM;
//   - create private endpoint connections: UpdateConnection always targets an
//     existing connection by name (a PUT on an unknown name makes ARM answer
//     400 PrivateEndpointConnectionCannotBeCreatedByServiceProvider);
//   - rely on ARM ETags: the connection PUT declares no If-Match, callers re-read;
//   - call any ARM operation missing from Operations (a test enforces it), nor
//     let the SDK register resource providers on its own (that is a write plsgate
//     has no permission for);
//   - send a bearer token over plain HTTP anywhere but to a loopback emulator;
//   - log tokens.
package arm
