package armemu

import (
	"context"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/webpubsub/armwebpubsub"
)

// Issue 15.3: the shared private link resource's ResourceWriteSuccess is
// raised either when the PUT is accepted or when its operation completes;
// both are possible in Azure (not documented), and plsgate must handle both.
func TestSharedLinkWriteEventAtAcceptOrCompletion(t *testing.T) {
	for _, at := range []string{SharedLinkAtAccepted, SharedLinkAtCompleted} {
		t.Run(at, func(t *testing.T) {
			e, url := startEmu(t, Options{Seed: 7, LRO: LROOptions{InProgressPolls: 2},
				Events: EventOptions{SharedLinkWriteAt: at}}, testWorld())
			ctx := context.Background()
			spl, err := armwebpubsub.NewSharedPrivateLinkResourcesClient(ownerSub, staticCred("test-token"), armOptions(url))
			if err != nil {
				t.Fatal(err)
			}
			writes := func() int {
				n := 0
				for _, ev := range e.Events(EventResourceWriteSuccess) {
					if subscriptionOf(ev.Topic) == ownerSub && sameID(ev.Subject, wps1+"/sharedPrivateLinkResources/upstream") {
						n++
					}
				}
				return n
			}
			poller, err := spl.BeginCreateOrUpdate(ctx, "upstream", wpsRG, "wps-1", armwebpubsub.SharedPrivateLinkResource{
				Properties: &armwebpubsub.SharedPrivateLinkResourceProperties{PrivateLinkResourceID: to.Ptr(plsA), RequestMessage: to.Ptr("m")},
			}, nil)
			if err != nil {
				t.Fatal(err)
			}
			accepted := writes()
			if _, err := poller.PollUntilDone(ctx, fastPoll); err != nil {
				t.Fatal(err)
			}
			completed := writes()
			want := map[string][2]int{SharedLinkAtAccepted: {1, 1}, SharedLinkAtCompleted: {0, 1}}[at]
			if accepted != want[0] || completed != want[1] {
				t.Fatalf("write events: %d after the 201, %d after completion; want %v", accepted, completed, want)
			}
		})
	}
	if err := ValidateEventOptions(EventOptions{SharedLinkWriteAt: "later"}); err == nil {
		t.Fatal("an unknown SharedLinkWriteAt was accepted")
	}
}
