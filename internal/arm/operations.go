package arm

// Operation is one ARM REST operation plsgate calls.
type Operation struct {
	Name       string // REST operationId (the emulator's counter key)
	SDK        string // SDK method ("Client.Method", as azcore names the call)
	Method     string // HTTP method
	Path       string // path template under the Resource Manager endpoint
	APIVersion string // api-version the SDK sends
	Action     string // RBAC action the caller needs
}

// API versions of the SDK modules in go.mod (armnetwork/v7 v7.2.0, armwebpubsub v1.3.0).
const (
	NetworkAPIVersion   = "2025-01-01"
	WebPubSubAPIVersion = "2024-03-01"
)

const (
	plsPath  = "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.Network/privateLinkServices"
	connPath = plsPath + "/{serviceName}/privateEndpointConnections/{peConnectionName}"
	splPath  = "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.SignalRService/webPubSub/{resourceName}/sharedPrivateLinkResources"
)

// Operations lists every ARM operation plsgate calls — the least-privilege role
// in infra/ and the emulator are checked against it, and a test fails when the
// package calls an SDK method missing here. Reads only, plus the one write that
// approves or rejects a connection.
var Operations = []Operation{
	{Name: "PrivateLinkServices_Get", SDK: "PrivateLinkServicesClient.Get", Method: "GET",
		Path: plsPath + "/{serviceName}", APIVersion: NetworkAPIVersion,
		Action: "Microsoft.Network/privateLinkServices/read"},
	{Name: "PrivateLinkServices_ListBySubscription", SDK: "PrivateLinkServicesClient.NewListBySubscriptionPager", Method: "GET",
		Path: "/subscriptions/{subscriptionId}/providers/Microsoft.Network/privateLinkServices", APIVersion: NetworkAPIVersion,
		Action: "Microsoft.Network/privateLinkServices/read"},
	{Name: "PrivateLinkServices_List", SDK: "PrivateLinkServicesClient.NewListPager", Method: "GET",
		Path: plsPath, APIVersion: NetworkAPIVersion,
		Action: "Microsoft.Network/privateLinkServices/read"},
	{Name: "PrivateLinkServices_GetPrivateEndpointConnection", SDK: "PrivateLinkServicesClient.GetPrivateEndpointConnection", Method: "GET",
		Path: connPath, APIVersion: NetworkAPIVersion,
		Action: "Microsoft.Network/privateLinkServices/privateEndpointConnections/read"},
	{Name: "PrivateLinkServices_UpdatePrivateEndpointConnection", SDK: "PrivateLinkServicesClient.UpdatePrivateEndpointConnection", Method: "PUT",
		Path: connPath, APIVersion: NetworkAPIVersion,
		Action: "Microsoft.Network/privateLinkServices/privateEndpointConnections/write"},
	{Name: "PrivateEndpoints_Get", SDK: "PrivateEndpointsClient.Get", Method: "GET",
		Path: "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.Network/privateEndpoints/{privateEndpointName}", APIVersion: NetworkAPIVersion,
		Action: "Microsoft.Network/privateEndpoints/read"},
	{Name: "WebPubSubSharedPrivateLinkResources_Get", SDK: "SharedPrivateLinkResourcesClient.Get", Method: "GET",
		Path: splPath + "/{sharedPrivateLinkResourceName}", APIVersion: WebPubSubAPIVersion,
		Action: "Microsoft.SignalRService/webPubSub/sharedPrivateLinkResources/read"},
	{Name: "WebPubSubSharedPrivateLinkResources_List", SDK: "SharedPrivateLinkResourcesClient.NewListPager", Method: "GET",
		Path: splPath, APIVersion: WebPubSubAPIVersion,
		Action: "Microsoft.SignalRService/webPubSub/sharedPrivateLinkResources/read"},
	// Only with SCOPE_RESOURCE_GRAPH (the role grants it only then).
	{Name: "Resources", SDK: "Client.Resources", Method: "POST",
		Path: "/providers/Microsoft.ResourceGraph/resources", APIVersion: ResourceGraphAPIVersion,
		Action: "Microsoft.ResourceGraph/resources/read"},
}

// Actions returns the distinct RBAC actions of Operations, in order: the
// Actions of plsgate's custom role.
func Actions() []string {
	var out []string
	seen := map[string]bool{}
	for _, op := range Operations {
		if !seen[op.Action] {
			seen[op.Action] = true
			out = append(out, op.Action)
		}
	}
	return out
}
