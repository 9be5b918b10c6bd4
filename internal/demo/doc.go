// Package demo plays the seed's scenario end to end on one machine
// (`plsgate dev demo`, `make demo`): a Web PubSub resource reaches a private
// link service through a shared private link resource, and plsgate approves
// it by policy — with Table storage, Azure Resource Manager, Event Grid and
// the Functions host all emulated on loopback.
//
// It owns the assembly and the story. Assembly, as in Azure: Azurite (pinned,
// from ./node_modules) for Table storage; the ARM + Event Grid emulator
// (internal/armemu) seeded with the demo world; a local Event Grid topic
// (internal/topicemu) for outcome notifications; the plsgate binary itself
// started as a child process with `serve`, FUNCTIONS_CUSTOMHANDLER_PORT and
// the app settings, exactly as the Functions host starts a custom handler
// (the demo waits for its answer to GET / before anything is invoked, as the
// host does); and the Functions host emulator (internal/hostemu) in front of
// it, which receives the Event Grid deliveries, fires the timer and forwards
// the API calls. The story: steps a–e of issue 9, one printed line per
// step, each checking what it claims; Run returns an error for the first
// expectation that fails.
//
// Choices:
//   - The emulator emits an event in the PLS owner's subscription when Web
//     PubSub's managed environment (another subscription) requests a
//     connection. Azure documents no such event; the output says so, and in
//     Azure the Reconcile timer is the guaranteed path.
//   - Event Grid deliveries are held twice, and the output says when: until
//     the new connection has been shown Pending (plsgate would otherwise
//     approve it before anyone looks), and while the portal approval is
//     found by the timer tick rather than by its event (the event then
//     arrives late and changes nothing).
//   - The topic serves a self-signed certificate; the child trusts it
//     through NOTIFY_TOPIC_CA_FILE (internal/devenv), honoured for loopback
//     endpoints only.
//   - Logs (plsgate's JSON lines, the emulators') go to files in a temporary
//     directory, removed at the end unless the demo failed.
//
// It must not: touch Azure or anything beyond loopback, change plsgate's
// behaviour for the demo (plsgate runs as deployed, with the example policy),
// or leave a process behind: everything it starts is stopped at the end, on
// Ctrl-C, and (Linux) when the demo process dies.
package demo
