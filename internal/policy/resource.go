package policy

import (
	"strings"

	"github.com/plsgate/plsgate/internal/resource"
)

// FactsOf maps a resource and one of its connections, as a provider read them, to Facts:
// Resource always, PLS too when the resource is a private link service. The requester's
// subscription and resource group come from the private endpoint ID.
func FactsOf(r *resource.Resource, c resource.Connection) Facts {
	f := Facts{
		Resource: Resource{
			Type: r.Type, ID: r.ID, Name: r.Name, SubscriptionID: r.SubscriptionID, ResourceGroup: r.ResourceGroup,
			Location: r.Location, Tags: r.Tags, Alias: r.Alias, Visibility: r.Visibility, AutoApproval: r.AutoApproval, Fqdns: r.Fqdns,
		},
		Connection: Connection{
			ID: c.ID, Name: c.Name, Status: c.Status, Description: c.Description, LinkIdentifier: c.LinkIdentifier,
			PrivateEndpointID: c.PrivateEndpointID, PrivateEndpointLocation: c.PrivateEndpointLocation,
		},
		Requester: Requester{SubscriptionID: idSubscription(c.PrivateEndpointID), ResourceGroup: idResourceGroup(c.PrivateEndpointID)},
	}
	res := &f.Resource
	if res.Type == "" {
		if k, ok := resource.KindOf(res.ID); ok {
			res.Type = k.Type
		} else {
			_, _, _, res.Type = idScope(res.ID)
		}
	}
	if res.Name == "" {
		_, _, res.Name, _ = idScope(res.ID)
	}
	if strings.EqualFold(res.Type, plsType) {
		f.PLS = res.asPLS()
	}
	return f
}
