package armemu

import (
	"fmt"
	"strings"
)

// Resource types as ARM spells them in the "type" field of bodies.
const (
	typePLS        = "Microsoft.Network/privateLinkServices"
	typePLSConn    = "Microsoft.Network/privateLinkServices/privateEndpointConnections"
	typePE         = "Microsoft.Network/privateEndpoints"
	typePELink     = "Microsoft.Network/privateEndpoints/privateLinkServiceConnections"
	typePEManual   = "Microsoft.Network/privateEndpoints/manualPrivateLinkServiceConnections"
	typeWebPubSub  = "Microsoft.SignalRService/WebPubSub"
	typeSharedLink = "Microsoft.SignalRService/WebPubSub/sharedPrivateLinkResources"
)

// key is the map key of a resource ID: ARM IDs compare case-insensitively.
func key(id string) string { return strings.ToLower(strings.TrimRight(id, "/")) }

func sameID(a, b string) bool { return key(a) == key(b) }

func plsIDOf(sub, rg, name string) string {
	return "/subscriptions/" + sub + "/resourceGroups/" + rg + "/providers/Microsoft.Network/privateLinkServices/" + name
}

func connIDOf(plsID, name string) string { return plsID + "/privateEndpointConnections/" + name }

func peIDOf(sub, rg, name string) string {
	return "/subscriptions/" + sub + "/resourceGroups/" + rg + "/providers/Microsoft.Network/privateEndpoints/" + name
}

// wpsIDOf spells Web PubSub IDs as the service returns them (lower-case
// "resourcegroups", "WebPubSub"; see the WebPubSub_Get and
// WebPubSubSharedPrivateLinkResources_Get examples of azure-rest-api-specs
// specification/webpubsub/.../examples/2025-01-01-preview). Consumers must
// compare IDs case-insensitively; this keeps them honest.
func wpsIDOf(sub, rg, name string) string {
	return "/subscriptions/" + sub + "/resourcegroups/" + rg + "/providers/Microsoft.SignalRService/WebPubSub/" + name
}

func splIDOf(wpsID, name string) string { return wpsID + "/sharedPrivateLinkResources/" + name }

// resourceID is a parsed ARM ID of the shape
// /subscriptions/{sub}/resourceGroups/{rg}/providers/{ns}/{type}/{name}[/{childType}/{childName}].
type resourceID struct {
	Sub, RG, Namespace, Type, Name, ChildType, ChildName string
}

func parseResourceID(id string) (resourceID, error) {
	var r resourceID
	segs := strings.Split(strings.Trim(id, "/"), "/")
	if len(segs) < 8 || !strings.EqualFold(segs[0], "subscriptions") || !strings.EqualFold(segs[2], "resourceGroups") || !strings.EqualFold(segs[4], "providers") {
		return r, fmt.Errorf("parse resource ID %q: not /subscriptions/{sub}/resourceGroups/{rg}/providers/{namespace}/{type}/{name}", id)
	}
	r.Sub, r.RG, r.Namespace, r.Type, r.Name = segs[1], segs[3], segs[5], segs[6], segs[7]
	rest := segs[8:]
	switch len(rest) {
	case 0:
	case 2:
		r.ChildType, r.ChildName = rest[0], rest[1]
	default:
		return r, fmt.Errorf("parse resource ID %q: unexpected nesting", id)
	}
	for _, s := range []string{r.Sub, r.RG, r.Name} {
		if s == "" {
			return r, fmt.Errorf("parse resource ID %q: empty segment", id)
		}
	}
	return r, nil
}

// subscriptionOf returns the subscription segment of any ARM ID ("" if none).
func subscriptionOf(id string) string {
	segs := strings.Split(strings.Trim(id, "/"), "/")
	if len(segs) >= 2 && strings.EqualFold(segs[0], "subscriptions") {
		return segs[1]
	}
	return ""
}
