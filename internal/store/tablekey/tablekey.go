// Package tablekey owns the escaping and size rules of Azure Table storage
// keys (PartitionKey, RowKey). It is pure and SDK-free, so code that must
// refuse an impossible key before any I/O (the event classifier, the API's
// decoders) shares the store's rules without importing the Table SDK.
package tablekey

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/plsgate/plsgate/internal/fault"
)

// ErrTooLarge: a key exceeds Azure's limit (the store's ErrTooLarge is this error). Bad input:
// terminal, a retry cannot shorten it.
var ErrTooLarge = fault.NewTerminal(fault.Invalid, "store: exceeds an Azure Table storage limit")

// MaxBytes is Azure's key size limit (1 KiB). The service stores strings as UTF-16, so the limit is
// counted in UTF-16 bytes — conservative for ASCII keys, exact for the service.
const MaxBytes = 1024

const upperHex = "0123456789ABCDEF"

// forbidden reports whether r may not appear in a PartitionKey/RowKey. '%' is escaped too so the
// encoding is reversible.
func forbidden(r rune) bool {
	switch r {
	case '/', '\\', '#', '?', '%':
		return true
	}
	return r <= 0x1F || (r >= 0x7F && r <= 0x9F)
}

// asciiEscape marks the ASCII bytes Escape encodes (table lookup: keys are mostly ASCII).
var asciiEscape = func() (t [utf8.RuneSelf]bool) {
	for c := range utf8.RuneSelf {
		t[c] = forbidden(rune(c))
	}
	return t
}()

// escapeAt reports whether the rune starting at s[i] must be encoded, and its length in bytes.
func escapeAt(s string, i int) (bool, int) {
	if c := s[i]; c < utf8.RuneSelf {
		return asciiEscape[c], 1
	}
	r, size := utf8.DecodeRuneInString(s[i:])
	return (r == utf8.RuneError && size == 1) || forbidden(r), size
}

// Escape makes s usable as a table key: the characters Azure forbids in keys (/ \ # ? and the
// control characters U+0000–U+001F, U+007F–U+009F), '%' itself, and bytes that are not valid UTF-8 are
// percent-encoded byte by byte (%2F, %C2%80, ...). Everything else, including non-ASCII letters, is
// kept, so keys stay readable. Unescape reverses it exactly for every Go string.
func Escape(s string) string {
	i := 0
	for i < len(s) {
		esc, size := escapeAt(s, i)
		if esc {
			break
		}
		i += size
	}
	if i == len(s) {
		return s // common case: nothing to escape, no allocation
	}
	var b strings.Builder
	b.Grow(len(s) + 32)
	b.WriteString(s[:i])
	for i < len(s) {
		// copy the run of bytes that need no escaping in one go
		j := i
		for j < len(s) {
			esc, size := escapeAt(s, j)
			if esc {
				break
			}
			j += size
		}
		b.WriteString(s[i:j])
		if j == len(s) {
			break
		}
		_, size := escapeAt(s, j)
		for k := j; k < j+size; k++ {
			b.WriteByte('%')
			b.WriteByte(upperHex[s[k]>>4])
			b.WriteByte(upperHex[s[k]&0x0F])
		}
		i = j + size
	}
	return b.String()
}

// Unescape reverses Escape. It fails on a '%' not followed by two hex digits.
func Unescape(s string) (string, error) {
	if strings.IndexByte(s, '%') < 0 {
		return s, nil
	}
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if s[i] != '%' {
			b = append(b, s[i])
			continue
		}
		if i+2 >= len(s) {
			return "", fmt.Errorf("store: unescape key %q: truncated escape at byte %d", s, i)
		}
		hi, ok1 := unhex(s[i+1])
		lo, ok2 := unhex(s[i+2])
		if !ok1 || !ok2 {
			return "", fmt.Errorf("store: unescape key %q: invalid escape at byte %d", s, i)
		}
		b = append(b, hi<<4|lo)
		i += 2
	}
	return string(b), nil
}

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	}
	return 0, false
}

// UTF16Len is the number of UTF-16 code units the service needs for s (s is valid UTF-8 here).
func UTF16Len(s string) int {
	n := 0
	for _, r := range s {
		if r >= 0x10000 {
			n += 2
		} else {
			n++
		}
	}
	return n
}

// Key escapes s and checks Azure's key size limit; what names the key for the error ("PLS ID", ...).
func Key(what, s string) (string, error) {
	if s == "" {
		return "", fmt.Errorf("store: %s is empty", what)
	}
	k := Escape(s)
	if n := 2 * UTF16Len(k); n > MaxBytes {
		return "", fmt.Errorf("%w: %s key is %d bytes (limit %d): %.64q…", ErrTooLarge, what, n, MaxBytes, s)
	}
	return k, nil
}

// ResourceKey is the key of a resource ID (lower-cased, no trailing slash): the
// PartitionKey of a resource in the connections and transitions tables.
func ResourceKey(id string) (string, error) {
	return Key("resource ID", strings.ToLower(strings.TrimRight(id, "/")))
}
