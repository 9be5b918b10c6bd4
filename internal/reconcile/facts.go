package reconcile

import (
	"context"
	"slices"
	"strings"

	"github.com/plsgate/plsgate/internal/arm"
	"github.com/plsgate/plsgate/internal/policy"
	"github.com/plsgate/plsgate/internal/store"
)

// VerifiedWebPubSub is the verification name rules use (verifiedBy: webPubSub).
const VerifiedWebPubSub = "webPubSub"

// facts builds what the policy sees for one connection. When a rule uses
// verifiedBy: webPubSub, the configured Web PubSub resources are asked (once
// per call) for a shared private link resource that points at this PLS with
// this request message and one of splStatuses; it is returned for the journey.
func (s *serviceRun) facts(ctx context.Context, c arm.Connection, row *store.Connection, splStatuses ...string) (policy.Facts, *arm.SharedPrivateLinkResource, error) {
	if row != nil && row.RequestMessage != "" {
		c.Description = row.RequestMessage // the request as made, not our approval note
	}
	f := Facts(s.pls, c)
	f.Now = s.r.now()
	if s.r.SharedLinks == nil || len(s.r.WebPubSubIDs) == 0 || !s.r.Policy.NeedsVerification(f, VerifiedWebPubSub) {
		return f, nil, nil // no rule could use it: no ARM read for it
	}
	s.splOnce.Do(func() {
		for _, id := range s.r.WebPubSubIDs {
			items, err := s.r.SharedLinks.ListSharedPrivateLinkResources(ctx, id)
			if err != nil {
				s.splErr = armErrWrap("list shared private link resources of "+id, err)
				return
			}
			s.spls = append(s.spls, items...)
		}
	})
	if s.splErr != nil {
		return f, nil, s.splErr
	}
	f.Verified = map[string]bool{VerifiedWebPubSub: false}
	for i := range s.spls {
		spl := &s.spls[i]
		if by, ok := s.splUsed[arm.NormalizeID(spl.ID)]; ok && by != strings.ToLower(c.Name) {
			continue
		}
		if arm.SameID(spl.PrivateLinkResourceID, s.pls.ID) && spl.RequestMessage == c.Description &&
			slices.ContainsFunc(splStatuses, func(st string) bool { return strings.EqualFold(st, spl.Status) }) {
			f.Verified[VerifiedWebPubSub] = true
			return f, spl, nil
		}
	}
	return f, nil, nil
}

// Facts maps ARM's view of a PLS and one of its connections to policy facts.
func Facts(pls *arm.PrivateLinkService, c arm.Connection) policy.Facts {
	return policy.Facts{
		PLS: policy.PLS{
			ID: pls.ID, Name: pls.Name, SubscriptionID: pls.SubscriptionID, ResourceGroup: pls.ResourceGroup,
			Location: pls.Location, Alias: pls.Alias, Tags: pls.Tags,
			Visibility: pls.Visibility, AutoApproval: pls.AutoApproval, Fqdns: pls.Fqdns,
		},
		Connection: policy.Connection{
			ID: c.ID, Name: c.Name, Status: c.Status, Description: c.Description, LinkIdentifier: c.LinkIdentifier,
			PrivateEndpointID: c.PrivateEndpointID, PrivateEndpointLocation: c.PrivateEndpointLocation,
		},
		Requester: policy.Requester{
			SubscriptionID: subscriptionOf(c.PrivateEndpointID),
			ResourceGroup:  segmentAfter(c.PrivateEndpointID, "resourcegroups"),
		},
	}
}

func subscriptionOf(id string) string { return segmentAfter(id, "subscriptions") }

// segmentAfter returns the path segment after key (case-insensitive) in a resource ID.
func segmentAfter(id, key string) string {
	parts := strings.Split(strings.Trim(id, "/"), "/")
	for i := 0; i+1 < len(parts); i++ {
		if strings.EqualFold(parts[i], key) {
			return parts[i+1]
		}
	}
	return ""
}
