package arm

import (
	"path"

	"github.com/plsgate/plsgate/internal/resource"

	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/network/armnetwork/v7"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/webpubsub/armwebpubsub"
)

// The SDK models are all pointers; these helpers map them to plain values,
// nil meaning "".

func ptr[T any](v T) *T { return &v }

func str[T ~string](p *T) string {
	if p == nil {
		return ""
	}
	return string(*p)
}

func strs(ps []*string) []string {
	if len(ps) == 0 {
		return nil
	}
	out := make([]string, 0, len(ps))
	for _, p := range ps {
		if p != nil {
			out = append(out, *p)
		}
	}
	return out
}

// nameOf falls back to the last segment of the ID when ARM left the name out.
func nameOf(name *string, id string) string {
	if name != nil && *name != "" {
		return *name
	}
	if id == "" {
		return ""
	}
	return path.Base(trimID(id))
}

func plsFromSDK(p *armnetwork.PrivateLinkService) *PrivateLinkService {
	out := &PrivateLinkService{
		Type:     resource.PrivateLinkService.Type, // the kind's spelling, whatever case ARM answers in
		ID:       str(p.ID),
		Name:     nameOf(p.Name, str(p.ID)),
		Location: str(p.Location),
	}
	// The ID is ARM's own; if it does not parse the fields stay empty rather
	// than failing a whole page.
	out.SubscriptionID, out.ResourceGroup, _, _ = ParsePrivateLinkServiceID(out.ID)
	if len(p.Tags) > 0 {
		out.Tags = make(map[string]string, len(p.Tags))
		for k, v := range p.Tags {
			out.Tags[k] = str(v)
		}
	}
	if pr := p.Properties; pr != nil {
		out.Alias = str(pr.Alias)
		out.Fqdns = strs(pr.Fqdns)
		if pr.Visibility != nil {
			out.Visibility = strs(pr.Visibility.Subscriptions)
		}
		if pr.AutoApproval != nil {
			out.AutoApproval = strs(pr.AutoApproval.Subscriptions)
		}
		for _, c := range pr.PrivateEndpointConnections {
			if c != nil {
				out.Connections = append(out.Connections, connFromSDK(c))
			}
		}
	}
	return out
}

func connFromSDK(c *armnetwork.PrivateEndpointConnection) Connection {
	out := Connection{
		ID:   str(c.ID),
		Name: nameOf(c.Name, str(c.ID)),
		ETag: str(c.Etag),
	}
	if pr := c.Properties; pr != nil {
		out.LinkIdentifier = str(pr.LinkIdentifier)
		out.PrivateEndpointLocation = str(pr.PrivateEndpointLocation)
		out.ProvisioningState = str(pr.ProvisioningState)
		if pr.PrivateEndpoint != nil {
			out.PrivateEndpointID = str(pr.PrivateEndpoint.ID)
		}
		if s := pr.PrivateLinkServiceConnectionState; s != nil {
			out.Status = str(s.Status)
			out.Description = str(s.Description)
			out.ActionsRequired = str(s.ActionsRequired)
		}
	}
	return out
}

func peFromSDK(p *armnetwork.PrivateEndpoint) *PrivateEndpoint {
	out := &PrivateEndpoint{ID: str(p.ID), Location: str(p.Location)}
	out.SubscriptionID = SubscriptionOf(out.ID)
	if pr := p.Properties; pr != nil {
		for _, list := range [][]*armnetwork.PrivateLinkServiceConnection{pr.PrivateLinkServiceConnections, pr.ManualPrivateLinkServiceConnections} {
			for _, c := range list {
				if c == nil || c.Properties == nil {
					continue
				}
				id := str(c.Properties.PrivateLinkServiceID)
				if _, _, _, err := ParsePrivateLinkServiceID(id); err != nil {
					continue // a storage account, a key vault, ...: not ours
				}
				if !containsID(out.TargetIDs, id) {
					out.TargetIDs = append(out.TargetIDs, id)
				}
			}
		}
	}
	return out
}

func splFromSDK(s *armwebpubsub.SharedPrivateLinkResource, webPubSubID string, fqdns map[string][]string) SharedPrivateLinkResource {
	out := SharedPrivateLinkResource{
		ID:          str(s.ID),
		Name:        nameOf(s.Name, str(s.ID)),
		WebPubSubID: webPubSubID,
	}
	if wps, _, _, _, _, err := ParseSharedPrivateLinkResourceID(out.ID); err == nil {
		out.WebPubSubID = wps
	}
	if pr := s.Properties; pr != nil {
		out.PrivateLinkResourceID = str(pr.PrivateLinkResourceID)
		out.GroupID = str(pr.GroupID)
		out.RequestMessage = str(pr.RequestMessage)
		out.Status = str(pr.Status)
		out.ProvisioningState = str(pr.ProvisioningState)
	}
	if sd := s.SystemData; sd != nil && sd.CreatedAt != nil {
		out.CreatedAt = sd.CreatedAt.UTC()
	}
	out.Fqdns = fqdns[NormalizeID(out.ID)]
	return out
}

func containsID(ids []string, id string) bool {
	for _, x := range ids {
		if SameID(x, id) {
			return true
		}
	}
	return false
}
