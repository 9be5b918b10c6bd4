// Package policy decides, for one private endpoint connection on one private link service
// (or another resource whose owner approves private endpoint connections), whether plsgate
// approves it, rejects it or leaves it Pending.
//
// It owns the policy file format (YAML or JSON, one schema, `version: 1`), its validation
// with precise file:line/field errors and warnings, the compiled matchers and CEL
// conditions, and the explainable Decision (with a Trace of every rule tried). It also turns
// ARM REST JSON (a connection, a private link service) into Facts, for `plsgate policy eval`,
// and a provider's resource and connection into Facts (FactsOf). Facts speak of a `resource`
// of any registered kind; `pls` and the `privateLinkService` matcher are that resource when
// it is a private link service.
//
// The format — every field, matcher, CEL variable, default and warning, with examples — is
// documented in docs/policy.md; doc_test.go checks that the document names everything the
// loader accepts.
//
// It must stay pure: no network, no Azure SDK, no storage, no logging, and nothing of ours
// imported but internal/resource (SDK-free IDs, statuses, the connection model and the
// registry of resource kinds; design §2). Facts that need I/O (for example "a configured Web PubSub resource has a
// matching shared private link resource") are computed by the caller and passed in
// Facts.Verified. The only I/O is Load reading the policy file named by PLSGATE_POLICY.
//
// Safety: nothing is approved that no rule approves. The default is leave (stay Pending);
// a CEL error makes the rule not match (never approve on error); a fact the engine does
// not know (an empty tenant, an unparsable private endpoint ID) makes its matcher fail.
package policy
