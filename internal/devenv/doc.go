// Package devenv holds what running plsgate on one machine against local
// emulators needs and Azure never does. Subpackage azurite launches the pinned
// Table storage emulator; tokenissuer stands in for Entra ID (discovery, keys,
// signed access tokens) for AUTH_MODE=entra.
//
// It owns NOTIFY_TOPIC_CA_FILE: a PEM file of CA certificates that
// `plsgate serve` trusts for NOTIFY_TOPIC_ENDPOINT, so a child process can
// publish to the demo's local Event Grid topic (internal/topicemu), which
// serves a self-signed certificate because the SDK sends keys over https only.
//
// It must not: widen trust beyond loopback — the CA file is refused unless the
// endpoint is https on a loopback address, and the client it builds trusts only
// that file (not the system roots) — or be needed by anything deployed to Azure.
package devenv
