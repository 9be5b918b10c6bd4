// Package tokenissuer is a local stand-in for Microsoft Entra ID's token endpoints, for tests and
// the demo of AUTH_MODE=entra: a loopback HTTP server that publishes, for any tenant, the
// OpenID discovery documents ({url}/{tid}/v2.0/.well-known/openid-configuration and the v1.0
// one) and the signing keys ({url}/{tid}/discovery/v2.0/keys), and mints RS256 access tokens in
// the v1.0 and v2.0 shapes Entra issues. plsgate verifies these tokens exactly as it verifies
// Entra's (AUTH_AUTHORITY_HOST = Issuer.URL): nothing in plsgate knows this package.
//
// The v1.0 issuer of a loopback authority is {url}/{tid}/ (Entra's is https://sts.windows.net/{tid}/);
// the v2.0 issuer is {url}/{tid}/v2.0 as in Entra.
//
// It must not: listen anywhere but loopback, or be used by anything deployed to Azure. Tokens
// it mints are for this process's tests and demo only (the key is generated per Start).
package tokenissuer
