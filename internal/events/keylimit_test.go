package events

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

// An event naming a resource whose ID cannot be a Table key (over 1 KiB once escaped) is
// malformed: Irrelevant, no PLS to reconcile, no private endpoint to read, and an error that
// says why. Before, it was ResourceChanged (or PrivateEndpointWritten) and the store's "too large"
// error failed the invocation as retryable: Event Grid redelivered it for 24 h.
func TestOverlongResourceIDIsMalformed(t *testing.T) {
	long := strings.Repeat("%", 400) // 1,200 characters once escaped
	pls := "/subscriptions/" + ownSub + "/resourceGroups/rg/providers/Microsoft.Network/privateLinkServices/p" + long
	conn := pls + "/privateEndpointConnections/pe1"
	pe := "/subscriptions/" + appSub + "/resourceGroups/rg/providers/Microsoft.Network/privateEndpoints/pe" + long
	data := func(op, uri string) json.RawMessage {
		b, _ := json.Marshal(map[string]string{"operationName": op, "resourceUri": uri, "status": "Succeeded"})
		return b
	}
	notification, _ := json.Marshal(map[string]any{"resourceInfo": map[string]any{"id": pls, "type": "Microsoft.Network/privateLinkServices"}})
	cases := []struct {
		name  string
		e     Event
		field string
	}{
		{"PLS written", Event{Type: "Microsoft.Resources.ResourceWriteSuccess", Subject: pls,
			Data: data("Microsoft.Network/privateLinkServices/write", pls)}, "resourceUri"},
		{"connection written", Event{Type: "Microsoft.Resources.ResourceWriteSuccess", Subject: conn,
			Data: data("Microsoft.Network/privateLinkServices/privateEndpointConnections/write", conn)}, "resourceUri"},
		{"PLS notification", Event{Type: "Microsoft.ResourceNotifications.Resources.CreatedOrUpdated", Subject: pls,
			Data: notification}, "resourceInfo.id"},
		{"private endpoint written", Event{Type: "Microsoft.Resources.ResourceWriteSuccess", Subject: pe,
			Data: data("Microsoft.Network/privateEndpoints/write", pe)}, "resourceUri"},
	}
	c := NewClassifier(testScope)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.e.Schema, tc.e.ID = SchemaEventGrid, "long1"
			h, err := c.Classify(tc.e)
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("err = %v, want ErrMalformed; hint %+v", err, h)
			}
			msg := err.Error()
			for _, want := range []string{tc.field, "Table storage key", "1 KiB", `"long1"`} {
				if !strings.Contains(msg, want) {
					t.Errorf("error lacks %q: %s", want, msg)
				}
			}
			if strings.Contains(msg, long[:100]) {
				t.Errorf("error repeats the ID: %.200s", msg)
			}
			if h.Kind != Irrelevant || len(h.ResourceIDs) != 0 || h.PrivateEndpointID != "" {
				t.Errorf("hint asks for work: %+v", h)
			}
		})
	}
	// The same IDs at a sensible length are still acted on.
	short := strings.Replace(pls, long, "", 1)
	h, err := c.Classify(Event{Schema: SchemaEventGrid, ID: "ok", Type: "Microsoft.Resources.ResourceWriteSuccess", Subject: short,
		Data: data("Microsoft.Network/privateLinkServices/write", short)})
	if err != nil || h.Kind != ResourceChanged {
		t.Fatalf("short ID: %+v, %v", h, err)
	}
}
