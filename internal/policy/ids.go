package policy

import (
	"strings"

	"github.com/plsgate/plsgate/internal/resource"
)

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

// idScope returns the subscription, resource group, name and ARM type of the resource an
// ID names ("" for parts the ID does not have); a connection ID names its resource. It is
// what Evaluate derives facts with: a top-level resource costs no allocation.
func idScope(id string) (sub, rg, name, typ string) {
	if !strings.HasPrefix(id, "/") {
		return "", "", "", ""
	}
	var segs [8]string
	s, n, start5 := id[1:], 0, 0
	for ; n < len(segs); n++ {
		if n == 5 {
			start5 = len(id) - len(s)
		}
		i := strings.IndexByte(s, '/')
		if i < 0 {
			segs[n], s = s, ""
			n++
			break
		}
		segs[n], s = s[:i], s[i+1:]
	}
	if n < 2 || !strings.EqualFold(segs[0], "subscriptions") {
		return "", "", "", ""
	}
	sub = segs[1]
	if n < 4 || !strings.EqualFold(segs[2], "resourceGroups") {
		return sub, "", "", ""
	}
	rg = segs[3]
	if n < 8 || !strings.EqualFold(segs[4], "providers") || !strings.Contains(segs[5], ".") || segs[6] == "" || segs[7] == "" {
		return sub, rg, "", ""
	}
	if s = strings.TrimRight(s, "/"); s == "" || isConnectionTail(s) {
		return sub, rg, segs[7], id[start5 : start5+len(segs[5])+1+len(segs[6])]
	}
	// A nested resource (…/sites/app/slots/staging): rare, so parsing may allocate.
	p, err := resource.Parse(id)
	if err != nil {
		return sub, rg, "", ""
	}
	if parent, ok := p.Parent(); ok && strings.EqualFold(p.Types[len(p.Types)-1], resource.ConnectionSegment) {
		p = parent
	}
	return sub, rg, p.Name(), p.Type()
}

// isConnectionTail reports whether s is "privateEndpointConnections/{name}".
func isConnectionTail(s string) bool {
	const seg = resource.ConnectionSegment + "/"
	return len(s) > len(seg) && strings.EqualFold(s[:len(seg)], seg) && !strings.Contains(s[len(seg):], "/")
}

// splitConnectionID splits "{resource ID}/privateEndpointConnections/{name}" (any kind of
// resource) into the resource ID and the connection name.
func splitConnectionID(id string) (resourceID, name string, ok bool) {
	rid, name, err := resource.SplitConnectionID(id)
	if err != nil {
		return "", "", false
	}
	// Keep the caller's spelling of the resource ID (resource spells the fixed segments anew).
	trimmed := strings.TrimRight(strings.TrimSpace(id), "/")
	return trimmed[:len(trimmed)-len(name)-len("/"+resource.ConnectionSegment+"/")], name, len(rid) > 0
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
