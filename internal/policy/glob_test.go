package policy

import (
	"regexp"
	"strings"
	"testing"
)

func TestGlob(t *testing.T) {
	const id = "/subscriptions/5f1c2d3e-0a1b-4c2d-8e3f-9a0b1c2d3e4f/resourceGroups/Contoso/providers/Microsoft.Network/privateLinkServices/pls-web"
	tests := []struct {
		glob       string
		resourceID bool
		s          string
		want       bool
	}{
		{"/subscriptions/*/resourceGroups/contoso/providers/Microsoft.Network/privateLinkServices/*", true, id, true},
		{"/subscriptions/*/resourcegroups/CONTOSO/providers/microsoft.network/privatelinkservices/pls-*", true, id, true},
		{"/subscriptions/*/resourceGroups/contoso/providers/Microsoft.Network/privateLinkServices/*", true, id + "/", true},
		{"/subscriptions/*/resourceGroups/contoso/providers/Microsoft.Network/privateLinkServices/*/", true, id, true},
		{"/subscriptions/*/resourceGroups/*/providers/Microsoft.Network/privateLinkServices/*-web", true, id, true},
		{"/subscriptions/*/resourceGroups/*/providers/Microsoft.Network/privateLinkServices/*-api", true, id, false},
		// "*" never crosses a "/": segment counts must agree.
		{"/subscriptions/*", true, id, false},
		{"/subscriptions/*/resourceGroups/contoso/providers/Microsoft.Network/*", true, id, false},
		{"/subscriptions/*/resourceGroups/contoso/providers/Microsoft.Network/privateLinkServices/*/x", true, id, false},
		{"/subscriptions/*/resourceGroups/contoso/providers/Microsoft.Network/privateLinkServices/*", true, id + "/privateEndpointConnections/c", false},
		{"/subscriptions/*/resourceGroups/*/providers/Microsoft.Network/privateLinkServices/*", true, "subscriptions/x/resourceGroups/y/providers/Microsoft.Network/privateLinkServices/z", false},
		{"pls-*", false, "pls-web", true},
		{"*", false, "anything", true},
		{"*", false, "", true},
		{"a*b*c", false, "axxbyyc", true},
		{"a*b*c", false, "abc", true},
		{"a*b*c", false, "acb", false},
		{"a*a", false, "a", false},
		{"a*a", false, "aa", true},
		{"*web*", false, "PLS-WEB-1", true},
		{"api", false, "API", true},
		{"api", false, "api2", false},
		{"pls-*", false, "pls-a/b", false},
	}
	for _, tt := range tests {
		g, err := compileGlob(tt.glob, tt.resourceID)
		if err != nil {
			t.Fatalf("compileGlob(%q): %v", tt.glob, err)
		}
		if got := g.match(tt.s); got != tt.want {
			t.Errorf("glob %q match %q = %v, want %v", tt.glob, tt.s, got, tt.want)
		}
	}
}

func TestIDs(t *testing.T) {
	const pls = "/subscriptions/S/resourcegroups/RG/providers/microsoft.network/privatelinkservices/p1"
	if got := idSubscription(pls); got != "S" {
		t.Errorf("idSubscription = %q", got)
	}
	if got := idResourceGroup(pls); got != "RG" {
		t.Errorf("idResourceGroup = %q", got)
	}
	const web = "/subscriptions/S/resourceGroups/RG/providers/Microsoft.Web/sites/app"
	for _, tt := range []struct{ id, sub, rg, name, typ string }{
		{pls, "S", "RG", "p1", "microsoft.network/privatelinkservices"},
		{pls + "/", "S", "RG", "p1", "microsoft.network/privatelinkservices"},
		{pls + "/privateEndpointConnections/c", "S", "RG", "p1", "microsoft.network/privatelinkservices"},
		{web, "S", "RG", "app", "Microsoft.Web/sites"},
		{web + "/slots/staging", "S", "RG", "staging", "Microsoft.Web/sites/slots"},
		{web + "/slots/staging/privateEndpointConnections/c", "S", "RG", "staging", "Microsoft.Web/sites/slots"},
		{web + "/slots", "S", "RG", "", ""}, // a type without name
		{"/subscriptions/S", "S", "", "", ""},
		{"/subscriptions/S/resourceGroups/RG", "S", "RG", "", ""},
		{"/subscriptions/S/resourceGroups/RG/providers/NoDot/things/x", "S", "RG", "", ""},
		{"/subscriptions/S/resourceGroups/RG/providers/A.B//x", "S", "RG", "", ""},
		{"/providers/Microsoft.Network/privateLinkServices/p", "", "", "", ""},
		{"x", "", "", "", ""}, {"", "", "", "", ""}, {"/a/b/c", "", "", "", ""},
	} {
		sub, rg, name, typ := idScope(tt.id)
		if sub != tt.sub || rg != tt.rg || name != tt.name || typ != tt.typ {
			t.Errorf("idScope(%q) = %q %q %q %q, want %q %q %q %q", tt.id, sub, rg, name, typ, tt.sub, tt.rg, tt.name, tt.typ)
		}
		if sub != idSubscription(tt.id) || rg != idResourceGroup(tt.id) {
			t.Errorf("idScope(%q) disagrees with idSubscription/idResourceGroup", tt.id)
		}
	}
	if n := testing.AllocsPerRun(100, func() { idScope(pls + "/privateEndpointConnections/c") }); n != 0 {
		t.Errorf("idScope of a top-level resource allocates %v times", n)
	}
	if idResourceGroup("/subscriptions/s/providers/x") != "" {
		t.Error("idResourceGroup without resourceGroups segment")
	}
	p, n, ok := splitConnectionID(pls + "/privateEndpointConnections/p1.abc/")
	if !ok || p != pls || n != "p1.abc" {
		t.Errorf("splitConnectionID = %q %q %v", p, n, ok)
	}
	if p, n, ok := splitConnectionID(web + "/privateEndpointConnections/c1"); !ok || p != web || n != "c1" {
		t.Errorf("splitConnectionID of another kind = %q %q %v", p, n, ok)
	}
	for _, bad := range []string{pls, pls + "/privateEndpointConnections", pls + "/privateEndpointConnections/a/b", pls + "/other/a"} {
		if _, _, ok := splitConnectionID(bad); ok {
			t.Errorf("splitConnectionID(%q) ok", bad)
		}
	}
	for _, tt := range []struct {
		a, b string
		want bool
	}{{"westeurope", "West Europe", true}, {"West Europe ", "westeurope", true}, {"westeurope", "westus", false}, {"", "", true}, {"", " ", true}, {"a", "", false}} {
		if got := eqLocation(tt.a, tt.b); got != tt.want {
			t.Errorf("eqLocation(%q, %q) = %v", tt.a, tt.b, got)
		}
	}
	if !isGUID(tenantUs) || isGUID("sub1") || isGUID("72f988bf-86f1-41af-91ab-2d7cd011db4g") {
		t.Error("isGUID")
	}
}

// FuzzGlob checks the glob matcher against a regexp reference: "*" is [^/]*, ASCII
// case-insensitive, trailing slashes ignored.
func FuzzGlob(f *testing.F) {
	f.Add("a*b*c", "axxbyyc")
	f.Add("/s/*/r/*x/p/*", "/S/1/R/yyX/p/z")
	f.Add("*a/b*", "xa/by")
	f.Add("a*/b*c/d", "aq/bzc/d")
	f.Add("*", "a/b")
	f.Add("x*y*", "xyyy/")
	f.Fuzz(func(t *testing.T, pattern, s string) {
		g, err := compileGlob(pattern, false)
		if err != nil {
			if g, err = compileGlob(pattern, true); err != nil {
				return
			}
		}
		for _, r := range pattern + s {
			if r >= 0x80 {
				return // the reference folds Unicode; the glob folds ASCII only
			}
		}
		p := strings.TrimRight(pattern, "/")
		quoted := strings.Split(p, "*")
		for i := range quoted {
			quoted[i] = regexp.QuoteMeta(quoted[i])
		}
		re := regexp.MustCompile(`(?is)^` + strings.Join(quoted, `[^/]*`) + `$`)
		trimmed := s
		for len(trimmed) > 1 && trimmed[len(trimmed)-1] == '/' {
			trimmed = trimmed[:len(trimmed)-1]
		}
		if got, want := g.match(s), re.MatchString(trimmed); got != want {
			t.Fatalf("glob %q match %q = %v, reference %v", pattern, s, got, want)
		}
	})
}
