// Package devenv holds what running plsgate on one machine against local
// emulators needs and Azure never does. Subpackage azurite launches the pinned
// Table storage emulator; tokenissuer stands in for Entra ID (discovery, keys,
// signed access tokens) for AUTH_MODE=entra.
//
// It owns how a child process trusts the demo's local Event Grid topic
// (internal/topicemu), which serves a self-signed certificate because the SDK
// sends keys over https only: the certificate is written to a PEM file that
// the child gets as SSL_CERT_FILE, the standard variable Go's crypto/x509
// reads for its roots on Linux (tls.go). plsgate itself reads no setting for it.
//
// It must not be needed by anything deployed to Azure: the shipped plsgate
// binary links none of it.
package devenv
