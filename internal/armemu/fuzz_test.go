package armemu

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// FuzzDecodeWorld: any seed file either fails to decode/seed with an error or
// seeds a world that round-trips through World() and seeds again.
func FuzzDecodeWorld(f *testing.F) {
	f.Add([]byte(`{"privateLinkServices":[{"id":"` + plsA + `","connections":[{"name":"c"}]}]}`))
	f.Add([]byte(`{"privateLinkServices":[{"subscriptionId":"s","resourceGroup":"r","name":"n","visibility":["*"]}],"webPubSubs":[{"id":"` + wps1 + `","sharedPrivateLinkResources":[{"name":"x","privateLinkResourceId":"` + plsA + `"}]}]}`))
	f.Add([]byte(`{"privateEndpoints":[{"id":"/subscriptions/s/resourceGroups/r/providers/Microsoft.Network/privateEndpoints/p","links":[null]}]}`))
	f.Add([]byte(`{"tenants":{"s":"t"},"privateLinkServices":[null]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		w, err := DecodeWorld(data)
		if err != nil {
			return
		}
		e := New(Options{})
		if err := e.Seed(w); err != nil {
			return
		}
		if err := New(Options{}).Seed(e.World()); err != nil {
			t.Fatalf("a seeded world does not seed again: %v", err)
		}
	})
}

// FuzzConnectionPUT: any body gets 200 or a 4xx with the ARM error envelope.
func FuzzConnectionPUT(f *testing.F) {
	f.Add(`{"properties":{"privateLinkServiceConnectionState":{"status":"Approved","description":"ok"}}}`, "pe-pending.0a1b")
	f.Add(`{"properties":{"privateLinkServiceConnectionState":{"status":"approved"}}}`, "pe-rejected.0a1d")
	f.Add(`{"properties":null}`, "x")
	f.Add(`[]`, "pe-approved.0a1c")
	f.Add(``, "")
	e := New(Options{})
	if err := e.Seed(testWorld()); err != nil {
		f.Fatal(err)
	}
	h := e.Handler()
	f.Fuzz(func(t *testing.T, body, conn string) {
		u := "/subscriptions/" + ownerSub + "/resourceGroups/" + plsRG + "/providers/Microsoft.Network/privateLinkServices/pls-a/privateEndpointConnections/" + conn + "?api-version=2025-01-01"
		req, err := http.NewRequest(http.MethodPut, "http://emu"+strings.ReplaceAll(u, " ", "%20"), strings.NewReader(body))
		if err != nil {
			return
		}
		req.Header.Set("Authorization", "Bearer x")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		switch {
		case rec.Code == 200:
			var c wireConn
			if json.Unmarshal(rec.Body.Bytes(), &c) != nil || c.Properties.PrivateLinkServiceConnectionState.Status == "" {
				t.Fatalf("200 with body %s", rec.Body)
			}
		case rec.Code >= 400 && rec.Code < 500:
			var eb errorBody
			if json.Unmarshal(rec.Body.Bytes(), &eb) != nil || eb.Error.Code == "" {
				t.Fatalf("%d without envelope: %s", rec.Code, rec.Body)
			}
		default:
			t.Fatalf("status %d for body %q", rec.Code, body)
		}
	})
}

// FuzzRoute: any path and method answers (no panic) with a JSON envelope on errors.
func FuzzRoute(f *testing.F) {
	for _, rt := range routes {
		f.Add("GET", "/"+strings.Join(rt.segs, "/"))
	}
	f.Add("DELETE", "/subscriptions//resourceGroups/x")
	f.Add("PATCH", "/_emulator/state")
	e := New(Options{})
	if err := e.Seed(testWorld()); err != nil {
		f.Fatal(err)
	}
	h := e.Handler()
	f.Fuzz(func(t *testing.T, method, path string) {
		if method != "GET" && method != "DELETE" && method != "PATCH" {
			return
		}
		req, err := http.NewRequest(method, "http://emu/x?api-version=2025-01-01", nil)
		if err != nil {
			return
		}
		req.URL.Path = path
		req.Header.Set("Authorization", "Bearer x")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code >= 400 {
			var eb errorBody
			if json.Unmarshal(rec.Body.Bytes(), &eb) != nil || eb.Error.Code == "" {
				t.Fatalf("%s %q: %d without envelope: %s", method, path, rec.Code, rec.Body)
			}
		}
	})
}
