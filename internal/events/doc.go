// Package events turns Event Grid deliveries into hints: which private link
// services (if any) an event asks plsgate to reconcile.
//
// It owns:
//   - Decode: Event Grid schema and CloudEvents 1.0, one event or an array,
//     each an object or a JSON string holding one. Decoding is lazy: the
//     envelope is scanned once and "data" is kept raw;
//   - Classifier.Classify: pure, no I/O. Relevant are (design §5 "Event")
//     1. Microsoft.ResourceNotifications.Resources.CreatedOrUpdated/Deleted for a
//     Microsoft.Network/privateLinkServices resource (its body says whether a
//     connection is Pending: Hint.HasPending);
//     2. Microsoft.Resources.Resource{Write,Action,Delete}Success whose
//     operationName or resourceUri concerns a private link service or one of
//     its privateEndpointConnections;
//     3. Microsoft.Resources.ResourceWriteSuccess of
//     Microsoft.Network/privateEndpoints/write in a watched subscription (the
//     caller reads the endpoint to find its targets).
//     Everything else — other types and operations, failures, cancels,
//     validation events — is Irrelevant, recognised from the type and subject
//     without parsing data, and costs the caller no ARM or Table call;
//   - the lists of relevant event types, operation names and resource types
//     (relevant.go) that infra/'s Event Grid filters are checked against;
//   - scope (SCOPE_SUBSCRIPTIONS ∪ SCOPE_PLS_IDS; both empty = everything).
//
// Data types come from messaging/eventgrid/azsystemevents; where real events
// stray from those types in fields plsgate does not read (claims, evidence,
// tags), a minimal decode of the needed fields takes over.
//
// Errors wrap ErrMalformed: such an event never gets better on retry, so the
// caller logs and acknowledges it. That includes an event naming a resource ID
// longer than a Table key may be (1 KiB once escaped, store.CheckPLSKey): no
// Azure resource has one, and plsgate could not record it.
//
// It must not: call Azure or storage, trust an event for state (events are
// hints, Reconcile re-reads ARM), or read data it does not need.
package events
