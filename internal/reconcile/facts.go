package reconcile

import (
	"context"
	"strings"

	"github.com/plsgate/plsgate/internal/arm"
	"github.com/plsgate/plsgate/internal/policy"
	"github.com/plsgate/plsgate/internal/resource"
	"github.com/plsgate/plsgate/internal/store"
)

// VerifiedWebPubSub is the verification name rules use (verifiedBy: webPubSub).
const VerifiedWebPubSub = policy.VerifiedWebPubSub

// facts builds what the policy sees for one connection, judging it by its
// request as made (the stored message; an approval overwrites the
// description). When a rule could use verifiedBy: webPubSub, the configured
// Web PubSub resources are asked (see binding.go); the resource that vouches
// for the connection is returned for the binding and the journey.
func (s *resourceRun) facts(ctx context.Context, c resource.Connection, row *store.Connection) (policy.Facts, *arm.SharedPrivateLinkResource, error) {
	f, v, err := s.verifiedFacts(ctx, c, row)
	return f, v.spl, err
}

func (s *resourceRun) verifiedFacts(ctx context.Context, c resource.Connection, row *store.Connection) (policy.Facts, verdict, error) {
	if row != nil && row.RequestMessage != "" {
		c.Description = row.RequestMessage
	}
	f := Facts(s.res, c)
	f.Now = s.r.now()
	if s.r.SharedLinks == nil || len(s.r.WebPubSubIDs) == 0 || !s.r.Policy.NeedsVerification(f, VerifiedWebPubSub) {
		return f, verdict{}, nil // no rule could use it: no ARM read for it
	}
	v, err := s.verify(ctx, c, row)
	if err != nil {
		return f, verdict{}, err
	}
	f.Verified = map[string]bool{VerifiedWebPubSub: v.spl != nil}
	return f, v, nil
}

// Facts maps ARM's view of a resource (a PLS, or another registered kind) and one of its connections to policy facts.
func Facts(res *resource.Resource, c resource.Connection) policy.Facts { return policy.FactsOf(res, c) }

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
