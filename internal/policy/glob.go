package policy

import (
	"errors"
	"strings"
)

// glob is a compiled pattern where `*` matches any run of characters other than `/`.
// Matching is ASCII case-insensitive (Azure names are ASCII) and allocates nothing.
//
// The pattern is kept as the literal parts between its stars, lower-cased, so a resource ID
// glob like /subscriptions/*/resourceGroups/contoso/providers/Microsoft.Network/privateLinkServices/*
// costs two comparisons and two byte scans rather than one per segment.
type glob struct {
	src   string
	parts []string // len(parts) = stars + 1
}

// compileGlob validates and compiles a glob. resourceID=true requires a full resource ID
// shape (leading "/"); otherwise the glob is a single name and may not contain "/".
func compileGlob(src string, resourceID bool) (glob, error) {
	switch {
	case src == "":
		return glob{}, errors.New("empty glob")
	case strings.Contains(src, "**"):
		return glob{}, errors.New(`"**" is not supported: "*" matches within one segment; write one "*" per segment`)
	case strings.ContainsAny(src, `?[]{}\`):
		return glob{}, errors.New(`only "*" is a wildcard; "?", "[", "]", "{", "}" and "\" are not allowed`)
	}
	for _, r := range src {
		if r < 0x20 || r == 0x7f {
			return glob{}, errors.New("control character in glob")
		}
	}
	s := src
	if resourceID {
		if !strings.HasPrefix(s, "/") {
			return glob{}, errors.New(`must be a full resource ID starting with "/subscriptions/"`)
		}
		s = strings.TrimRight(s, "/")
		if s == "" || strings.Contains(s, "//") {
			return glob{}, errors.New("empty path segment")
		}
	} else if strings.Contains(s, "/") {
		return glob{}, errors.New(`a name glob cannot contain "/"`)
	}
	return glob{src: src, parts: strings.Split(asciiLower(s), "*")}, nil
}

// match reports whether s matches the glob (trailing slashes on s are ignored).
func (g *glob) match(s string) bool {
	for len(s) > 1 && s[len(s)-1] == '/' {
		s = s[:len(s)-1]
	}
	parts := g.parts
	if len(parts) == 1 {
		return len(s) == len(parts[0]) && hasPrefixFold(s, parts[0])
	}
	if !hasPrefixFold(s, parts[0]) {
		return false
	}
	s = s[len(parts[0]):]
	last := len(parts) - 1
	for i := 1; i < last; i++ {
		p := parts[i] // non-empty: "**" is rejected at compile
		slash := strings.IndexByte(p, '/')
		switch {
		case slash < 0:
			// A literal inside one segment: the leftmost occurrence in the current
			// segment is always best, the next star can absorb what lies between.
			seg := s
			if j := strings.IndexByte(s, '/'); j >= 0 {
				seg = s[:j]
			}
			k := indexFold(seg, p)
			if k < 0 {
				return false
			}
			s = s[k+len(p):]
		default:
			// The star ends with its segment: p[:slash] must end the segment and
			// p[slash:] follow it.
			j := strings.IndexByte(s, '/')
			if j < 0 || !hasSuffixFold(s[:j], p[:slash]) || !hasPrefixFold(s[j:], p[slash:]) {
				return false
			}
			s = s[j+len(p)-slash:]
		}
	}
	// The last star takes what remains before the final literal, within one segment.
	p := parts[last]
	if len(s) < len(p) || !hasSuffixFold(s, p) {
		return false
	}
	return strings.IndexByte(s[:len(s)-len(p)], '/') < 0
}

// asciiLower lower-cases ASCII letters only, so pattern and input fold the same way.
func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// hasPrefixFold reports whether s starts with the lower-case ASCII-folded p.
func hasPrefixFold(s, p string) bool {
	if len(s) < len(p) {
		return false
	}
	for i := 0; i < len(p); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != p[i] {
			return false
		}
	}
	return true
}

func hasSuffixFold(s, p string) bool { return len(s) >= len(p) && hasPrefixFold(s[len(s)-len(p):], p) }

func indexFold(s, p string) int {
	for i := 0; i+len(p) <= len(s); i++ {
		if hasPrefixFold(s[i:], p) {
			return i
		}
	}
	return -1
}
