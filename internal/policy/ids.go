package policy

import "strings"

// Resource ID helpers. They return substrings of their input (no allocation) and ""
// when the ID does not have the expected shape, so a malformed ID makes a matcher fail
// instead of matching something by accident.

// segment returns the n-th "/"-separated segment after the leading "/" (0-based).
func segment(id string, n int) string {
	if !strings.HasPrefix(id, "/") {
		return ""
	}
	s := id[1:]
	for ; n > 0; n-- {
		i := strings.IndexByte(s, '/')
		if i < 0 {
			return ""
		}
		s = s[i+1:]
	}
	if i := strings.IndexByte(s, '/'); i >= 0 {
		s = s[:i]
	}
	return s
}

// idSubscription returns {sub} of "/subscriptions/{sub}/...".
func idSubscription(id string) string {
	if !strings.EqualFold(segment(id, 0), "subscriptions") {
		return ""
	}
	return segment(id, 1)
}

// idResourceGroup returns {rg} of "/subscriptions/{sub}/resourceGroups/{rg}/...".
func idResourceGroup(id string) string {
	if idSubscription(id) == "" || !strings.EqualFold(segment(id, 2), "resourceGroups") {
		return ""
	}
	return segment(id, 3)
}

// plsName returns {name} of ".../providers/Microsoft.Network/privateLinkServices/{name}[/...]".
func plsName(id string) string {
	if idResourceGroup(id) == "" || !strings.EqualFold(segment(id, 4), "providers") ||
		!strings.EqualFold(segment(id, 5), "Microsoft.Network") ||
		!strings.EqualFold(segment(id, 6), "privateLinkServices") {
		return ""
	}
	return segment(id, 7)
}

// idScope returns subscription, resource group and PLS name of an ID in one pass ("" for
// parts the ID does not have); it is what Evaluate derives facts with.
func idScope(id string) (sub, rg, pls string) {
	if !strings.HasPrefix(id, "/") {
		return "", "", ""
	}
	var segs [8]string
	s, n := id[1:], 0
	for ; n < len(segs); n++ {
		i := strings.IndexByte(s, '/')
		if i < 0 {
			segs[n] = s
			n++
			break
		}
		segs[n], s = s[:i], s[i+1:]
	}
	if n < 2 || !strings.EqualFold(segs[0], "subscriptions") {
		return "", "", ""
	}
	sub = segs[1]
	if n < 4 || !strings.EqualFold(segs[2], "resourceGroups") {
		return sub, "", ""
	}
	rg = segs[3]
	if n == 8 && strings.EqualFold(segs[4], "providers") && strings.EqualFold(segs[5], "Microsoft.Network") &&
		strings.EqualFold(segs[6], "privateLinkServices") {
		pls = segs[7]
	}
	return sub, rg, pls
}

// splitConnectionID splits ".../privateLinkServices/{pls}/privateEndpointConnections/{name}"
// into the PLS ID and the connection name.
func splitConnectionID(id string) (plsID, name string, ok bool) {
	id = strings.TrimRight(id, "/")
	if plsName(id) == "" || !strings.EqualFold(segment(id, 8), "privateEndpointConnections") {
		return "", "", false
	}
	name = segment(id, 9)
	if name == "" || segment(id, 10) != "" {
		return "", "", false
	}
	return id[:len(id)-len(name)-len("/privateEndpointConnections/")], name, true
}

// sameID compares resource IDs case-insensitively, ignoring trailing slashes.
func sameID(a, b string) bool {
	return strings.EqualFold(strings.TrimRight(a, "/"), strings.TrimRight(b, "/"))
}

// isGUID reports whether s looks like a subscription or tenant ID.
func isGUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
				return false
			}
		}
	}
	return true
}

// eqLocation compares Azure locations ignoring case and spaces ("West Europe" = "westeurope").
func eqLocation(a, b string) bool {
	i, j := 0, 0
	for {
		for i < len(a) && a[i] == ' ' {
			i++
		}
		for j < len(b) && b[j] == ' ' {
			j++
		}
		if i == len(a) || j == len(b) {
			return i == len(a) && j == len(b)
		}
		ca, cb := a[i], b[j]
		if 'A' <= ca && ca <= 'Z' {
			ca += 'a' - 'A'
		}
		if 'A' <= cb && cb <= 'Z' {
			cb += 'a' - 'A'
		}
		if ca != cb {
			return false
		}
		i++
		j++
	}
}
