package events

import (
	"fmt"
	"testing"
)

const (
	wpsOther = "/subscriptions/00000000-0000-0000-0000-0000000000c3/resourceGroups/chat/providers/Microsoft.SignalRService/webPubSub/chat-wps"
	splOther = wpsOther + "/sharedPrivateLinkResources/pls-pe"
)

func splEvent(t *testing.T, typ, op, uri string) Event {
	t.Helper()
	raw := fmt.Sprintf(`{"id":"e1","eventType":%q,"subject":%q,"eventTime":"2026-11-27T08:00:00Z","dataVersion":"2","metadataVersion":"1",
		"topic":"/subscriptions/00000000-0000-0000-0000-0000000000c3",
		"data":{"operationName":%q,"resourceUri":%q,"status":"Succeeded","subscriptionId":"00000000-0000-0000-0000-0000000000c3",
		"resourceProvider":"Microsoft.SignalRService","claims":{},"authorization":{}}}`, typ, uri, op, uri)
	evs, err := Decode([]byte(raw))
	if err != nil || len(evs) != 1 {
		t.Fatalf("decode: %v", err)
	}
	return evs[0]
}

// Issue 15.1: the Web PubSub owner's write of a shared private link resource
// is relevant when its parent is configured, in any subscription (here one
// outside SCOPE_SUBSCRIPTIONS); other Web PubSub resources' are not.
func TestSharedLinkEventsOfConfiguredWebPubSub(t *testing.T) {
	c := NewClassifier(Scope{Subscriptions: []string{"00000000-0000-0000-0000-0000000000a1"}, WebPubSubIDs: []string{wpsOther}})
	for _, tc := range []struct {
		typ, op, uri string
		want         Kind
	}{
		{"Microsoft.Resources.ResourceWriteSuccess", OperationSharedPrivateLinkWrite, splOther, SharedPrivateLinkWritten},
		{"Microsoft.Resources.ResourceDeleteSuccess", OperationSharedPrivateLinkDelete, splOther, SharedPrivateLinkDeleted},
		// casing as real events vary it
		{"Microsoft.Resources.ResourceWriteSuccess", "microsoft.signalrservice/webpubsub/sharedprivatelinkresources/write",
			"/subscriptions/00000000-0000-0000-0000-0000000000C3/resourcegroups/CHAT/providers/Microsoft.SignalRService/WebPubSub/chat-wps/sharedPrivateLinkResources/pls-pe", SharedPrivateLinkWritten},
		// another Web PubSub resource
		{"Microsoft.Resources.ResourceWriteSuccess", OperationSharedPrivateLinkWrite,
			"/subscriptions/00000000-0000-0000-0000-0000000000c3/resourceGroups/chat/providers/Microsoft.SignalRService/webPubSub/someone-else/sharedPrivateLinkResources/x", Irrelevant},
		// a write reported as a delete, or a failure: nothing to do
		{"Microsoft.Resources.ResourceDeleteSuccess", OperationSharedPrivateLinkWrite, splOther, Irrelevant},
		{"Microsoft.Resources.ResourceWriteFailure", OperationSharedPrivateLinkWrite, splOther, Irrelevant},
	} {
		h, err := c.Classify(splEvent(t, tc.typ, tc.op, tc.uri))
		if err != nil {
			t.Fatalf("%s %s: %v", tc.typ, tc.uri, err)
		}
		if h.Kind != tc.want {
			t.Errorf("%s %s %s: kind %v (%s), want %v", tc.typ, tc.op, tc.uri, h.Kind, h.Why, tc.want)
		}
		if tc.want != Irrelevant && h.SharedPrivateLinkID != tc.uri {
			t.Errorf("SharedPrivateLinkID %q, want %q", h.SharedPrivateLinkID, tc.uri)
		}
	}
	// Without WEBPUBSUB_IDS nothing of Web PubSub is relevant.
	h, err := NewClassifier(Scope{}).Classify(splEvent(t, "Microsoft.Resources.ResourceWriteSuccess", OperationSharedPrivateLinkWrite, splOther))
	if err != nil || h.Kind != Irrelevant {
		t.Fatalf("no Web PubSub configured: %v %v", h.Kind, err)
	}
}
