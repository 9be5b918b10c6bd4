package events

import (
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/messaging/eventgrid/azsystemevents"

	"github.com/plsgate/plsgate/internal/resource"
)

// What plsgate acts on, in one place. The Event Grid subscriptions in infra/
// are checked against these lists by a consistency test, and Classify uses
// them, so a filter and the code cannot drift apart.

// ResourceEventTypes are the Azure subscription system topic events
// (topic type Microsoft.Resources.Subscriptions) plsgate acts on. Failures and
// cancels change nothing, so they are left out.
// Source: azure-docs articles/event-grid/event-schema-subscriptions.md.
var ResourceEventTypes = []string{
	azsystemevents.TypeResourceWriteSuccess,  // Microsoft.Resources.ResourceWriteSuccess
	azsystemevents.TypeResourceActionSuccess, // Microsoft.Resources.ResourceActionSuccess
	azsystemevents.TypeResourceDeleteSuccess, // Microsoft.Resources.ResourceDeleteSuccess
}

// NotificationEventTypes are the Azure Resource Notifications events (system
// topic type Microsoft.ResourceNotifications.Resources, subscription scope)
// plsgate acts on. They carry the resource body.
// Source: azure-docs articles/event-grid/event-schema-resources.md.
var NotificationEventTypes = []string{
	azsystemevents.TypeResourceNotificationsResourceManagementCreatedOrUpdated, // Microsoft.ResourceNotifications.Resources.CreatedOrUpdated
	azsystemevents.TypeResourceNotificationsResourceManagementDeleted,          // Microsoft.ResourceNotifications.Resources.Deleted
}

// EventTypes is every event type plsgate acts on (includedEventTypes).
var EventTypes = append(append([]string{}, ResourceEventTypes...), NotificationEventTypes...)

// OperationNamePrefixes are the data.operationName prefixes of relevant
// ResourceEventTypes events (advanced filter StringBeginsWith; Event Grid
// compares case-insensitively, so does Classify): every operation under a
// registered resource kind (resource.Kinds: writes, deletes, actions, on the
// resource or its privateEndpointConnections); for private endpoints only the
// write; for Web PubSub, the writes and deletes of shared private link resources.
func OperationNamePrefixes() []string {
	var out []string
	for _, k := range resource.Kinds() {
		out = append(out, k.OperationPrefix)
	}
	return append(out, OperationPrivateEndpointWrite, OperationSharedPrivateLinkPrefix)
}

// OperationNames are the operation names known to occur under
// OperationNamePrefixes (advanced filter StringIn, if a subscription prefers
// exact values). Every one of them matches a prefix.
func OperationNames() []string {
	var out []string
	for _, k := range resource.Kinds() {
		out = append(out, k.Type+"/write", k.Type+"/delete",
			k.Type+"/"+resource.ConnectionSegment+"/write", k.Type+"/"+resource.ConnectionSegment+"/delete")
	}
	return append(out, OperationPrivateEndpointWrite, OperationSharedPrivateLinkWrite, OperationSharedPrivateLinkDelete)
}

// The Web PubSub owner's own PUT/DELETE of a shared private link resource: an
// ARM write in the Web PubSub resource's subscription, so Azure raises
// Resource{Write,Delete}Success there (event-schema-subscriptions.md: events
// for PUT/PATCH/POST/DELETE sent to management.azure.com) — the one event Azure
// does raise for the seed, whose private endpoint lives in a Microsoft-managed
// tenant (azure-facts §9).
const (
	OperationSharedPrivateLinkPrefix = "Microsoft.SignalRService/webPubSub/sharedPrivateLinkResources/"
	OperationSharedPrivateLinkWrite  = OperationSharedPrivateLinkPrefix + "write"
	OperationSharedPrivateLinkDelete = OperationSharedPrivateLinkPrefix + "delete"
)

// OperationPrivateEndpointWrite is a consumer creating or updating a private
// endpoint (raised in the consumer's subscription).
const OperationPrivateEndpointWrite = "Microsoft.Network/privateEndpoints/write"

// NotificationResourceTypes are the data.resourceInfo.type values of relevant
// NotificationEventTypes events (advanced filter StringIn): the registered kinds.
func NotificationResourceTypes() []string {
	var out []string
	for _, k := range resource.Kinds() {
		out = append(out, k.Type)
	}
	return out
}

// Subject fragments (lower case) that a relevant event's subject contains. The
// subject of these system events is the ID of the resource the operation
// targeted ("The event subject is the resource ID of the resource that is the
// target of the operation", event-schema-subscriptions.md), so an event whose
// subject names neither is irrelevant before its data is read.
const (
	subjectPE  = "/providers/microsoft.network/privateendpoints/"
	subjectSPL = "/sharedprivatelinkresources/"
)

// typePrivateEndpoint and typeSharedPrivateLink are the ARM types of the two
// resources whose events point at a resource of a registered kind.
const (
	typePrivateEndpoint   = "Microsoft.Network/privateEndpoints"
	typeSharedPrivateLink = "Microsoft.SignalRService/webPubSub/sharedPrivateLinkResources"
)

func oneOfFold(s string, list []string) bool {
	for _, x := range list {
		if strings.EqualFold(s, x) {
			return true
		}
	}
	return false
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

// containsLower reports whether s contains needle (lower-case ASCII), ignoring
// the case of s, without allocating.
func containsLower(s, needle string) bool {
	n := len(needle)
	if n == 0 {
		return true
	}
	first := needle[0]
	for i := 0; i+n <= len(s); i++ {
		if lower(s[i]) != first {
			continue
		}
		j := 1
		for j < n && lower(s[i+j]) == needle[j] {
			j++
		}
		if j == n {
			return true
		}
	}
	return false
}

func lower(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}
