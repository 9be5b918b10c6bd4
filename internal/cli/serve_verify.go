package cli

import (
	"fmt"
	"slices"
	"strings"

	"github.com/plsgate/plsgate/internal/config"
	"github.com/plsgate/plsgate/internal/policy"
)

// checkVerifiers refuses a policy whose rules use verifiedBy: webPubSub when
// no Web PubSub resource is configured: such a rule could never match, and
// the operator most likely forgot WEBPUBSUB_IDS rather than meant "never".
func checkVerifiers(cfg *config.Config, pol *policy.Policy) error {
	if len(cfg.WebPubSubIDs) > 0 || !slices.Contains(pol.Verifications(), policy.VerifiedWebPubSub) {
		return nil
	}
	var rules []string
	for _, r := range pol.Summary().Rules {
		if slices.Contains(r.Match, "verifiedBy: "+policy.VerifiedWebPubSub) {
			rules = append(rules, fmt.Sprintf("%q (line %d)", r.Name, r.Line))
		}
	}
	return fmt.Errorf("setting WEBPUBSUB_IDS: empty, but rule %s of PLSGATE_POLICY uses verifiedBy: %s: list the Web PubSub resource IDs whose shared private link resources verify requesters",
		strings.Join(rules, ", "), policy.VerifiedWebPubSub)
}
