package demo

import (
	"path/filepath"
	"slices"
	"strings"

	"github.com/plsgate/plsgate/internal/armemu"
)

// The demo world, named as in the Azure Web PubSub documentation
// ("Secure outbound traffic through Shared Private Endpoints").
const (
	Subscription   = "00000000-0000-0000-0000-0000000000a1"
	ResourceGroup  = "contoso"
	PLSName        = "contoso-pls"
	WebPubSubName  = "contoso-webpubsub"
	SharedLinkName = "pls-pe"
	// RequestMessage is unguessable: the PLS is visible to anyone, and a
	// second request with the same message would leave both Pending (see
	// examples/policies/webpubsub.yaml, which matches it).
	RequestMessage = "plsgate-wps-3f9c1e7a52d84b60"
	FQDN           = "pls.contoso.com"

	// The second Web PubSub resource (WEBPUBSUB_IDS lists both) lives in
	// another subscription of contoso's, as it may in Azure: Event Grid must
	// have a system topic subscription there too. Its shared private link
	// resource carries its own unguessable message: two connections with one
	// message on a PLS are ambiguous and never approved.
	AppsSubscription = "00000000-0000-0000-0000-0000000000a2"
	ResourceGroup2   = "contoso-eu"
	WebPubSub2Name   = "contoso-webpubsub-eu"
	SharedLink2Name  = "pls-pe-eu"
	RequestMessage2  = "plsgate-wps-c41d8e0b96fa2735"

	// FunctionKey and TopicKey protect loopback emulators only: not secrets.
	FunctionKey = "demo-function-key"
	TopicKey    = "demo-topic-key"
	// EventGridKey is the host's eventgrid_extension system key: Event Grid
	// calls the webhook with it as code= (learn.microsoft.com
	// azure-functions/event-grid-how-tos, "Webhook endpoint URL").
	EventGridKey = "demo-eventgrid-key"

	// Operator rejects fabrikam's request with an Entra ID access token from
	// the local token issuer (AUTH_MODE=entra; the only UPN APPROVERS and
	// APPROVERS_FORCE list); PortalUser approves northwind's in the portal.
	Operator    = "alice@contoso.com"
	OperatorOID = "0a11ce00-0000-4000-8000-000000000001"
	PortalUser  = "bob@contoso.com"
	// Tenant and APIAudience are the demo's Entra ID tenant and the App ID URI
	// plsgate's API registration would have (AUTH_TENANT_ID, AUTH_AUDIENCE).
	Tenant      = "00000000-0000-4000-8000-0000000000e1"
	APIAudience = "api://plsgate-demo"

	fabrikamSub  = "00000000-0000-0000-0000-0000000000f1"
	northwindSub = "00000000-0000-0000-0000-0000000000b2"
	woodgroveSub = "00000000-0000-0000-0000-0000000000c3" // DEMO_KEEP=1 leaves its request Pending for you

	// Messages of the requests the policy does not know.
	fabrikamMessage  = "let me in"
	northwindMessage = "northwind: temporary access for the migration"
	woodgroveMessage = "woodgrove: trial of the contoso API"
	rejectReason     = "unknown requester: fabrikam is not a contoso partner"
	portalMessage    = "approved in the portal by " + PortalUser

	ruleName    = "webpubsub-shared-endpoints"
	policyRel   = "examples/policies/webpubsub.yaml"
	hostAddr    = "127.0.0.1:7071" // the Functions host's usual local port; a free one if taken
	timerPeriod = "0 */2 * * * *"
)

var (
	PLSID         = "/subscriptions/" + Subscription + "/resourceGroups/" + ResourceGroup + "/providers/Microsoft.Network/privateLinkServices/" + PLSName
	WebPubSubID   = "/subscriptions/" + Subscription + "/resourceGroups/" + ResourceGroup + "/providers/Microsoft.SignalRService/webPubSub/" + WebPubSubName
	SharedLinkID  = WebPubSubID + "/sharedPrivateLinkResources/" + SharedLinkName
	WebPubSub2ID  = "/subscriptions/" + AppsSubscription + "/resourceGroups/" + ResourceGroup2 + "/providers/Microsoft.SignalRService/webPubSub/" + WebPubSub2Name
	SharedLink2ID = WebPubSub2ID + "/sharedPrivateLinkResources/" + SharedLink2Name
)

// EventSubscriptions are the subscriptions whose system topic plsgate's
// Event Grid subscription listens to, as infra deploys them: the PLSs'
// (SCOPE_SUBSCRIPTIONS) and every WEBPUBSUB_IDS resource's (issue 15.2).
func EventSubscriptions() []string {
	out := []string{Subscription}
	for _, id := range []string{WebPubSubID, WebPubSub2ID} {
		if sub := subscriptionOf(id); !slices.ContainsFunc(out, func(s string) bool { return strings.EqualFold(s, sub) }) {
			out = append(out, sub)
		}
	}
	return out
}

// World is the seeded state: PLS contoso-pls (tag plsgate=enabled, visible to
// anyone, as Web PubSub's managed private endpoint needs) and Web PubSub
// contoso-webpubsub, both in resource group contoso; Web PubSub
// contoso-webpubsub-eu in contoso's second subscription.
func World() armemu.World {
	return armemu.World{
		PrivateLinkServices: []*armemu.PrivateLinkService{{
			SubscriptionID: Subscription, ResourceGroup: ResourceGroup, Name: PLSName, Location: "eastus",
			Tags: map[string]string{"plsgate": "enabled"}, Visibility: []string{"*"}, Fqdns: []string{FQDN},
		}},
		WebPubSubs: []*armemu.WebPubSub{
			{SubscriptionID: Subscription, ResourceGroup: ResourceGroup, Name: WebPubSubName, Location: "eastus"},
			{SubscriptionID: AppsSubscription, ResourceGroup: ResourceGroup2, Name: WebPubSub2Name, Location: "westeurope"},
		},
	}
}

// appSettings are plsgate's app settings in the demo, as the Function App
// would have them (plus the handler port the host sets): only settings of
// config.Settings, nothing dev-only.
func appSettings(root, tables, armURL, topicEndpoint, port string) map[string]string {
	return map[string]string{
		"FUNCTIONS_CUSTOMHANDLER_PORT": port,
		"PLSGATE_TABLES_CONNECTION":    tables,
		"PLSGATE_POLICY":               filepath.Join(root, filepath.FromSlash(policyRel)),
		"SCOPE_SUBSCRIPTIONS":          Subscription,
		"WEBPUBSUB_IDS":                WebPubSubID + "," + WebPubSub2ID,
		"ARM_ENDPOINT":                 armURL,
		"RECONCILE_SCHEDULE":           timerPeriod,
		"AUTH_MODE":                    "entra", // AUTH_AUTHORITY_HOST: the local token issuer, set by start
		"AUTH_TENANT_ID":               Tenant,
		"AUTH_AUDIENCE":                APIAudience,
		"APPROVERS":                    "upn:" + Operator,
		"APPROVERS_FORCE":              "upn:" + Operator, // rejecting what the policy leaves Pending overrides it
		"NOTIFY_TOPIC_ENDPOINT":        topicEndpoint,
		"NOTIFY_TOPIC_KEY":             TopicKey,
		"PLSGATE_LOG_LEVEL":            "info",
	}
}
