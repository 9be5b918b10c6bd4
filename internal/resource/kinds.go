package resource

// PrivateLinkService is the first kind: an Azure Private Link Service, whose
// connections' approvals plsgate exists for. Actions: azure-facts §4 (RBAC for
// an approver) plus the subscription-wide list the timer uses.
var PrivateLinkService = Kind{
	Type:            "Microsoft.Network/privateLinkServices",
	OperationPrefix: "Microsoft.Network/privateLinkServices/",
	Actions: []string{
		"Microsoft.Network/privateLinkServices/read",
		"Microsoft.Network/privateLinkServices/privateEndpointConnections/read",
		"Microsoft.Network/privateLinkServices/privateEndpointConnections/write",
	},
}

func init() { Register(PrivateLinkService) }

// IsPrivateLinkService reports whether id names a private link service (or one of its connections).
func IsPrivateLinkService(id string) bool {
	k, ok := KindOf(id)
	return ok && k.Type == PrivateLinkService.Type
}
