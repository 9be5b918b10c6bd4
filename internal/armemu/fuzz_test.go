package armemu

import (
	"encoding/json"
	"maps"
	"net/http"
	"net/http/httptest"
	"regexp"
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

// FuzzRoute: every method on every path gets the router's answer. A path of the route table
// (matched independently here) with one of its methods reaches that operation's handler and is
// counted under its operationId; another method is 405; any other path 404 NotFound, counted as
// Unknown; control paths count nothing. Every error carries the ARM error envelope.
func FuzzRoute(f *testing.F) {
	fill := strings.NewReplacer("{sub}", ownerSub, "{rg}", plsRG, "{name}", "pls-a", "{child}", "pe-pending.0a1b", "{loc}", "westeurope", "{opid}", "op1")
	methods := []string{"GET", "HEAD", "PUT", "POST", "PATCH", "DELETE", "OPTIONS"}
	for _, rt := range routes {
		for _, m := range methods {
			f.Add(m, fill.Replace("/"+strings.Join(rt.segs, "/")))
		}
	}
	f.Add("DELETE", "/subscriptions//resourceGroups/x")
	f.Add("GET", "/subscriptions//providers/Microsoft.Network/privateLinkServices") // empty capture
	f.Add("PATCH", "/_emulator/state")
	f.Add("POST", "/_emulator/faults")
	f.Add("get", "//SUBSCRIPTIONS/s/PROVIDERS/microsoft.network/privatelinkservices/")
	f.Add("PUT", "/subscriptions/s/resourceGroups/r/providers/Microsoft.Network/privateEndpoints/a%2Fb")
	e := New(Options{})
	if err := e.Seed(testWorld()); err != nil {
		f.Fatal(err)
	}
	f.Cleanup(e.Close)
	h := e.Handler()
	f.Fuzz(func(t *testing.T, method, path string) {
		req, err := http.NewRequest(method, "http://emu/x?api-version=2025-01-01", nil)
		if err != nil {
			return // not a method net/http sends
		}
		req.URL.Path = path
		req.Body = http.NoBody // as a server's request: never nil
		req.Header.Set("Authorization", "Bearer x")
		e.ResetCounters()
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		var eb errorBody
		if rec.Code >= 400 && (json.Unmarshal(rec.Body.Bytes(), &eb) != nil || eb.Error.Code == "") {
			t.Fatalf("%s %q: %d without envelope: %s", method, path, rec.Code, rec.Body)
		}
		counted := e.Counters()
		if req.URL.Path == "/_emulator" || strings.HasPrefix(req.URL.Path, "/_emulator/") {
			if len(counted) != 0 {
				t.Fatalf("%s %q (control): counted %v", method, path, counted)
			}
			return
		}
		op, status := wantRoute(t, method, req.URL.EscapedPath())
		if want := map[string]int{op: 1}; !maps.Equal(counted, want) {
			t.Fatalf("%s %q: counted %v, want %v", method, path, counted, want)
		}
		routerAnswer := rec.Code == http.StatusMethodNotAllowed || rec.Code == http.StatusNotFound && eb.Error.Code == CodeNotImplementedByEmulator
		switch {
		case status != 0 && (rec.Code != status || !routerAnswer):
			t.Fatalf("%s %q: %d %s, want the router's %d", method, path, rec.Code, rec.Body, status)
		case status == 0 && routerAnswer:
			t.Fatalf("%s %q: %d %s, want %s's handler", method, path, rec.Code, rec.Body, op)
		}
	})
}

// wantRoute matches an escaped path against the route table with regular expressions (literal
// segments case-insensitive, captures non-empty, slashes at either end ignored): the operation
// and 0 when a handler answers, OpUnknown and the router's status (404, 405) otherwise.
func wantRoute(t *testing.T, method, escapedPath string) (string, int) {
	t.Helper()
	var found *route
	for _, rt := range routes {
		parts := make([]string, len(rt.segs))
		for i, s := range rt.segs {
			parts[i] = "(?i:" + regexp.QuoteMeta(s) + ")"
			if strings.HasPrefix(s, "{") {
				parts[i] = "[^/]+"
			}
		}
		if regexp.MustCompile("^/*" + strings.Join(parts, "/") + "/*$").MatchString(escapedPath) {
			if found != nil {
				t.Fatalf("%q matches two routes: %v and %v", escapedPath, found.segs, rt.segs)
			}
			found = rt
		}
	}
	if found == nil {
		return OpUnknown, http.StatusNotFound
	}
	if oh, ok := found.methods[method]; ok {
		return oh.op, 0
	}
	return OpUnknown, http.StatusMethodNotAllowed
}
