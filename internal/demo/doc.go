// Package demo plays the seed's scenario end to end on one machine
// (`plsgate-dev demo`, `make demo`): a Web PubSub resource reaches a private
// link service through a shared private link resource, and plsgate approves
// it by policy — with Table storage, Azure Resource Manager, Event Grid and
// the Functions host all emulated on loopback.
//
// It owns the assembly and the story. Assembly, as in Azure: Azurite (pinned,
// from ./node_modules) for Table storage; the ARM + Event Grid emulator
// (internal/armemu) seeded with the demo world; a local Event Grid topic
// (internal/topicemu) for outcome notifications; the shipped plsgate binary
// (Options.Executable) started as a child process with `serve`,
// FUNCTIONS_CUSTOMHANDLER_PORT and the app settings, exactly as the
// Functions host starts a custom handler
// (the demo waits for its answer to GET / before anything is invoked, as the
// host does); and the Functions host emulator (internal/hostemu) in front of
// it, which receives the Event Grid deliveries, fires the timer and forwards
// the API calls. The story: steps a–e of issue 9, one printed line per
// step, each checking what it claims; Run returns an error for the first
// expectation that fails.
//
// Choices:
//   - Events as Azure documents them: none in the PLS owner's subscription
//     when another subscription or tenant (Web PubSub's managed environment,
//     a consumer) requests a connection; the Web PubSub owner's PUT of the
//     shared private link resource raises ResourceWriteSuccess in the Web
//     PubSub resource's subscription, when its operation completes (the
//     likelier of the two undocumented moments). plsgate's Event Grid
//     subscription covers the PLS's and every WEBPUBSUB_IDS resource's
//     subscription, as infra deploys it. So Web PubSub's request is approved
//     by that event (the fast path); consumers' requests arrive by the timer.
//   - A second Web PubSub resource (another subscription, its own request
//     message: one message on two connections is ambiguous) shows the same
//     request with its event lost: Event Grid has no endpoint while it is
//     raised, and the timer approves it.
//   - Event Grid deliveries are held three times, and the output says when:
//     until the new connection has been shown Pending (plsgate would
//     otherwise approve it before anyone looks), during the timer tick that
//     approves the second request, and while the portal approval is found by
//     the timer tick rather than by its event (the event then arrives late
//     and changes nothing).
//   - DEMO_KEEP=1 leaves a consumer's request Pending, serves fresh operator
//     tokens on loopback (GET /token: the issuer's key lives in this process)
//     and prints every endpoint, header and setting a user needs.
//   - The topic serves a self-signed certificate; the child trusts it the
//     standard way, SSL_CERT_FILE naming a file with that certificate, which
//     Go's crypto/x509 honours on Linux and the other Unix systems except
//     macOS (internal/devenv): plsgate runs with its app settings only.
//   - Logs (plsgate's JSON lines, the emulators') go to files in a temporary
//     directory, removed at the end unless the demo failed.
//
// It must not: touch Azure or anything beyond loopback, change plsgate's
// behaviour for the demo (plsgate runs as deployed, with the example policy),
// or leave a process behind: everything it starts is stopped at the end, on
// Ctrl-C, and (Linux) when the demo process dies.
package demo
