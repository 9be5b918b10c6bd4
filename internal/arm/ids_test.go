package arm

import (
	"strings"
	"testing"
)

func TestParsePrivateLinkServiceID(t *testing.T) {
	cases := []struct {
		id               string
		sub, rg, name    string
		wantErrSubstring string
	}{
		{id: plsID, sub: subNet, rg: "rg-net", name: "pls-chat"},
		{id: "/subscriptions/S/resourcegroups/RG/providers/microsoft.network/privatelinkservices/P", sub: "S", rg: "RG", name: "P"},
		{id: "/SUBSCRIPTIONS/S/RESOURCEGROUPS/RG/PROVIDERS/MICROSOFT.NETWORK/PRIVATELINKSERVICES/P/", sub: "S", rg: "RG", name: "P"},
		{id: "  /subscriptions/S/resourceGroups/RG/providers/Microsoft.Network/privateLinkServices/P  ", sub: "S", rg: "RG", name: "P"},
		{id: "", wantErrSubstring: "empty"},
		{id: "subscriptions/S/resourceGroups/RG/providers/Microsoft.Network/privateLinkServices/P", wantErrSubstring: "must start with '/'"},
		{id: "/subscriptions/S/resourceGroups/RG/providers/Microsoft.Network/privateEndpoints/P", wantErrSubstring: "privateLinkServices"},
		{id: "/subscriptions/S/resourceGroups/RG/providers/Microsoft.Network/privateLinkServices", wantErrSubstring: "invalid resource ID"},
		{id: "/subscriptions/S/resourceGroups/RG/providers/Microsoft.Network/privateLinkServices/P/privateEndpointConnections/C", wantErrSubstring: "privateEndpointConnections"},
		{id: "/subscriptions/S/providers/Microsoft.Network/privateLinkServices/P", wantErrSubstring: "resource-type chain"},
		// an extension resource whose last segments look like a PLS
		{id: "/subscriptions/S/resourceGroups/RG/providers/Microsoft.Network/privateLinkServices/P/providers/Microsoft.Network/privateLinkServices/Q", wantErrSubstring: "resource-type chain"},
	}
	for _, tc := range cases {
		sub, rg, name, err := ParsePrivateLinkServiceID(tc.id)
		if tc.wantErrSubstring != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErrSubstring) {
				t.Errorf("%q: err = %v, want it to mention %q", tc.id, err, tc.wantErrSubstring)
			}
			continue
		}
		if err != nil || sub != tc.sub || rg != tc.rg || name != tc.name {
			t.Errorf("%q = (%q, %q, %q, %v)", tc.id, sub, rg, name, err)
		}
	}
}

func TestParseConnectionIDAndPLSIDOf(t *testing.T) {
	cases := []struct {
		id, pls, conn string
		connErr       bool // not a connection ID
		plsErr        bool // neither a PLS nor a connection
	}{
		{id: plsID + "/privateEndpointConnections/" + pendingConn, pls: plsID, conn: pendingConn},
		{id: "/subscriptions/S/resourcegroups/rg/providers/Microsoft.Network/privateLinkServices/P/PRIVATEENDPOINTCONNECTIONS/c.1",
			pls: "/subscriptions/S/resourceGroups/rg/providers/Microsoft.Network/privateLinkServices/P", conn: "c.1"},
		{id: plsID, pls: plsID, connErr: true},
		{id: plsID + "/privateEndpointConnections", pls: plsID, connErr: true}, // the collection: no connection name
		{id: "/subscriptions/S/resourceGroups/rg/providers/Microsoft.Network/privateLinkServices/P/ipConfigurations/ip", connErr: true, plsErr: true},
		{id: "/subscriptions/S/resourceGroups/rg/providers/Microsoft.Network/privateEndpoints/pe", connErr: true, plsErr: true},
		{id: "/subscriptions/S/resourceGroups/rg", connErr: true, plsErr: true},
		{id: "not an id", connErr: true, plsErr: true},
	}
	for _, tc := range cases {
		pls, conn, err := ParseConnectionID(tc.id)
		if (err != nil) != tc.connErr || (!tc.connErr && (!SameID(pls, tc.pls) || conn != tc.conn)) {
			t.Errorf("ParseConnectionID(%q) = %q, %q, %v", tc.id, pls, conn, err)
		}
		got, err := PrivateLinkServiceIDOf(tc.id)
		if (err != nil) != tc.plsErr || (!tc.plsErr && !SameID(got, tc.pls)) {
			t.Errorf("PrivateLinkServiceIDOf(%q) = %q, %v", tc.id, got, err)
		}
	}
}

func TestOtherParsers(t *testing.T) {
	if s, rg, n, err := ParsePrivateEndpointID("/subscriptions/S/resourcegroups/RG/providers/MICROSOFT.NETWORK/privateendpoints/pe"); err != nil || s != "S" || rg != "RG" || n != "pe" {
		t.Errorf("private endpoint: %q %q %q %v", s, rg, n, err)
	}
	if _, _, _, err := ParsePrivateEndpointID(plsID); err == nil {
		t.Error("a PLS ID parsed as a private endpoint")
	}
	if s, rg, n, err := ParseWebPubSubID("/subscriptions/S/resourceGroups/RG/providers/Microsoft.SignalRService/WebPubSub/w"); err != nil || s != "S" || rg != "RG" || n != "w" {
		t.Errorf("web pubsub: %q %q %q %v", s, rg, n, err)
	}
	if _, _, _, err := ParseWebPubSubID("/subscriptions/S/resourceGroups/RG/providers/Microsoft.SignalRService/SignalR/w"); err == nil {
		t.Error("a SignalR ID parsed as Web PubSub")
	}
	wps, s, rg, w, n, err := ParseSharedPrivateLinkResourceID("/subscriptions/S/resourceGroups/RG/providers/Microsoft.SignalRService/webPubSub/w/sharedPrivateLinkResources/spl")
	if err != nil || s != "S" || rg != "RG" || w != "w" || n != "spl" || !SameID(wps, "/subscriptions/S/resourceGroups/RG/providers/Microsoft.SignalRService/webPubSub/w") {
		t.Errorf("spl: %q %q %q %q %q %v", wps, s, rg, w, n, err)
	}
	if got := SubscriptionOf(plsIDOddCase); got != subNet {
		t.Errorf("SubscriptionOf = %q", got)
	}
	if got := SubscriptionOf("nope"); got != "" {
		t.Errorf("SubscriptionOf(nope) = %q", got)
	}
}

func TestSameIDAndNormalizeID(t *testing.T) {
	if !SameID(plsID, plsIDOddCase) {
		t.Error("case/trailing slash should not matter")
	}
	if SameID(plsID, plsID+"x") {
		t.Error("different names are the same?")
	}
	if got, want := NormalizeID(plsIDOddCase), strings.ToLower(plsID); got != want {
		t.Errorf("NormalizeID = %q, want %q", got, want)
	}
	if NormalizeID(" /A/ ") != "/a" {
		t.Errorf("NormalizeID(' /A/ ') = %q", NormalizeID(" /A/ "))
	}
}
