// Package resource owns what every layer of plsgate says about an Azure
// resource whose owner approves private endpoint connections — a private link
// service first, others later: resource IDs, the connection model and its
// statuses, and the registry of resource kinds with the provider interface an
// implementation satisfies.
//
// It imports nothing but the standard library, so the event classifier, the
// policy, the store and reconcile share it without pulling in the Azure SDK.
// It must not do I/O: providers (internal/arm) do.
package resource
