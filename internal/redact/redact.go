package redact

import (
	"regexp"
	"strings"
)

// Marker replaces what was removed, so a reader sees that something was there.
const Marker = "REDACTED"

// secretParam matches a credential-bearing parameter outside a recognisable URL: a relative
// URL (/api/v1/status?code=…), a SAS token on its own (sv=…&sig=…), a connection string
// (…;AccountKey=…). Only names that carry credentials are listed: a general "key=value" rule
// would also blank ordinary log text.
var secretParam = regexp.MustCompile(`(?i)(^|[?&;])(sig|code|accountkey|sharedaccesssignature|aeg-sas-key|aeg-sas-token|access_token|client_secret)=[^&;\s"'<>]*`)

// URL returns raw without its query string, fragment and userinfo: "https://h/p?a=1#f" →
// "https://h/p?REDACTED#REDACTED". A string without them comes back unchanged.
func URL(raw string) string {
	var b strings.Builder
	writeURL(&b, raw)
	return b.String()
}

func writeURL(b *strings.Builder, u string) {
	rest := u
	if i := strings.Index(u, "://"); i >= 0 {
		auth := u[i+3:]
		end := strings.IndexAny(auth, "/?#")
		if end < 0 {
			end = len(auth)
		}
		if at := strings.LastIndexByte(auth[:end], '@'); at >= 0 {
			b.WriteString(u[:i+3])
			b.WriteString(Marker + "@")
			rest = auth[at+1:]
		}
	}
	q := strings.IndexAny(rest, "?#")
	if q < 0 {
		b.WriteString(rest)
		return
	}
	b.WriteString(rest[:q])
	if rest[q] == '?' {
		b.WriteString("?" + Marker)
		if f := strings.IndexByte(rest[q:], '#'); f >= 0 {
			b.WriteString("#" + Marker)
		}
		return
	}
	b.WriteString("#" + Marker)
}

// String redacts every URL in s (see URL) and every credential parameter outside one. Text
// without "://" and without '=' is returned as is, without allocating.
func String(s string) string {
	hasURL := strings.Contains(s, "://")
	if !hasURL && strings.IndexByte(s, '=') < 0 {
		return s
	}
	out := s
	if hasURL {
		out = redactURLs(s)
	}
	if strings.IndexByte(out, '=') >= 0 {
		out = secretParam.ReplaceAllString(out, "${1}${2}="+Marker)
	}
	return out
}

// redactURLs rewrites each scheme://… token of s. A token ends at white space, a double quote,
// angle bracket or backtick (url.Error quotes its URL; JSON and HTML bodies delimit theirs),
// or at a backslash that escapes a double quote (a URL in a JSON string in a message). Single
// quotes do not end it: OData keys put them in Table URLs before the query.
func redactURLs(s string) string {
	var b strings.Builder
	copied, pos := 0, 0
	for {
		j := strings.Index(s[pos:], "://")
		if j < 0 {
			break
		}
		j += pos
		start := j
		for start > 0 && isSchemeByte(s[start-1]) {
			start--
		}
		end := j + 3
		for end < len(s) && !urlEnds(s, end) {
			end++
		}
		pos = end
		if start == j || !strings.ContainsAny(s[j+3:end], "?#@") {
			continue // no scheme, or nothing to redact
		}
		b.WriteString(s[copied:start])
		writeURL(&b, s[start:end])
		copied = end
	}
	if copied == 0 {
		return s
	}
	b.WriteString(s[copied:])
	return b.String()
}

func isSchemeByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '+' || c == '-' || c == '.'
}

func urlEnds(s string, i int) bool {
	switch c := s[i]; c {
	case ' ', '\t', '\n', '\r', '"', '<', '>', '`':
		return true
	case '\\':
		return i+1 < len(s) && s[i+1] == '"'
	}
	return false
}

// Error returns err when its text holds nothing to redact, else an error with the redacted
// text that unwraps to err. nil stays nil.
func Error(err error) error {
	if err == nil {
		return nil
	}
	if _, done := err.(*redactedError); done {
		return err
	}
	msg := err.Error()
	if r := String(msg); r != msg {
		return &redactedError{msg: r, err: err}
	}
	return err
}

type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }
