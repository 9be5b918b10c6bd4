package armemu

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
)

// pageToken is the opaque $skiptoken of a nextLink: After is the last key
// served (keyset paging over sorted lists), Offset the next index (small child
// lists), Empty how many empty pages were already served at this position.
type pageToken struct {
	After  string `json:"a,omitempty"`
	Offset int    `json:"o,omitempty"`
	Empty  int    `json:"e,omitempty"`
}

func (t pageToken) encode() string {
	b, _ := json.Marshal(t)
	return base64.RawURLEncoding.EncodeToString(b)
}

// readToken parses $skiptoken (ARM's own spelling; $skipToken accepted too).
func readToken(r *http.Request) (pageToken, *Error) {
	q := r.URL.Query()
	s := q.Get("$skiptoken")
	if s == "" {
		s = q.Get("$skipToken")
	}
	var t pageToken
	if s == "" {
		return t, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || json.Unmarshal(b, &t) != nil || t.Offset < 0 || t.Empty < 0 {
		return t, errf(http.StatusBadRequest, CodeInvalidSkipToken, "The $skiptoken '%s' is invalid.", s)
	}
	return t, nil
}

// page cuts items[start:] into one page per the paging options. posToken
// builds the token resuming after index hi-1. Call with e.mu held (read).
func page[T, W any](e *Emulator, c *call, items []T, start int, tok pageToken, posToken func(hi int) pageToken, render func(T) W) wireList[W] {
	out := wireList[W]{Value: []W{}}
	n := len(items)
	if start >= n {
		return out
	}
	if tok.Empty < e.emptyPages {
		next := tok
		next.Empty++
		out.NextLink = nextLink(c, next)
		return out
	}
	hi := min(start+e.pageSize, n)
	out.Value = make([]W, 0, hi-start)
	for _, it := range items[start:hi] {
		out.Value = append(out.Value, render(it))
	}
	if hi < n {
		out.NextLink = nextLink(c, posToken(hi))
	}
	return out
}

func nextLink(c *call, t pageToken) string {
	q := url.Values{}
	q.Set("api-version", c.apiVersion)
	q.Set("$skiptoken", t.encode())
	return c.base + c.r.URL.EscapedPath() + "?" + q.Encode()
}
