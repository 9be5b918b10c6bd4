package store

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// maxKeyBytes is Azure's key size limit (1 KiB). The service stores strings as UTF-16, so the limit is
// counted in UTF-16 bytes — conservative for ASCII keys, exact for the service.
const maxKeyBytes = 1024

const upperHex = "0123456789ABCDEF"

// tick is the resolution of Edm.DateTime.
const tick = 100 * time.Nanosecond

// forbidden reports whether r may not appear in a PartitionKey/RowKey. '%' is escaped too so the
// encoding is reversible.
func forbidden(r rune) bool {
	switch r {
	case '/', '\\', '#', '?', '%':
		return true
	}
	return r <= 0x1F || (r >= 0x7F && r <= 0x9F)
}

// asciiEscape marks the ASCII bytes EscapeKey encodes (table lookup: keys are mostly ASCII).
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

// EscapeKey makes s usable as a table key: the characters Azure forbids in keys (/ \ # ? and the
// control characters U+0000–U+001F, U+007F–U+009F), '%' itself, and bytes that are not valid UTF-8 are
// percent-encoded byte by byte (%2F, %C2%80, ...). Everything else, including non-ASCII letters, is
// kept, so keys stay readable. UnescapeKey reverses it exactly for every Go string.
func EscapeKey(s string) string {
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

// UnescapeKey reverses EscapeKey. It fails on a '%' not followed by two hex digits.
func UnescapeKey(s string) (string, error) {
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

// utf16Len is the number of UTF-16 code units the service needs for s (s is valid UTF-8 here).
func utf16Len(s string) int {
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

// key escapes s and checks Azure's key size limit; what names the key for the error ("PLS ID", ...).
func key(what, s string) (string, error) {
	if s == "" {
		return "", fmt.Errorf("store: %s is empty", what)
	}
	k := EscapeKey(s)
	if n := 2 * utf16Len(k); n > maxKeyBytes {
		return "", fmt.Errorf("%w: %s key is %d bytes (limit %d): %.64q…", ErrTooLarge, what, n, maxKeyBytes, s)
	}
	return k, nil
}

// normID normalises a resource ID the way resource IDs compare: case-insensitively, without a
// trailing slash.
func normID(id string) string { return strings.ToLower(strings.TrimRight(id, "/")) }

// plsKey is the PartitionKey of a PLS in the connections and transitions tables.
func plsKey(plsID string) (string, error) { return key("PLS ID", normID(plsID)) }

// CheckPLSKey reports (ErrTooLarge) a PLS ID that cannot be a key here: over 1 KiB once
// lower-cased and escaped. Input is checked with it before any Table or ARM call, so an
// impossible ID is the caller's error rather than a failed (and retried) store call.
func CheckPLSKey(plsID string) error {
	_, err := plsKey(plsID)
	return err
}

// CheckConnectionKeys is CheckPLSKey for a connection: its PLS ID and its name (the RowKey).
func CheckConnectionKeys(plsID, name string) error {
	_, _, err := connectionKeys(plsID, name)
	return err
}

// errAtRange: the row key needs At as non-negative Unix nanoseconds (1970 … 2262).
var errAtRange = errors.New("store: transition At must be set and within 1970..2262 (it is part of the idempotency key)")

// invertedTime formats MaxInt64 − UnixNano as 19 digits: keys sort newest first.
func invertedTime(t time.Time) (string, error) {
	if t.IsZero() || t.Before(time.Unix(0, 0)) || t.After(time.Unix(0, math.MaxInt64)) {
		return "", errAtRange
	}
	var buf [19]byte
	b := strconv.AppendInt(buf[:0], math.MaxInt64-t.UnixNano(), 10)
	return strings.Repeat("0", 19-len(b)) + string(b), nil
}

// TransitionRowKey is the deterministic RowKey (= Transition.ID) of t: 19-digit inverted At, "-", and
// the first 16 hex digits of SHA-256 over the length-prefixed fields (lower-case PLS ID, Connection,
// Subject, From, To, Action, Cause). Length prefixes make the encoding injective, so no choice of
// field values can make two different causes collide by concatenation.
//
// At counts in 100 ns ticks (the resolution Edm.DateTime keeps), so the key recomputed from a stored
// transition equals its ID.
func TransitionRowKey(t *Transition) (string, error) {
	inv, err := invertedTime(t.At.Truncate(tick))
	if err != nil {
		return "", err
	}
	h := sha256.New()
	var n [binary.MaxVarintLen64]byte
	for _, f := range [...]string{normID(t.PLSID), t.Connection, t.Subject, t.From, t.To, t.Action, t.Cause} {
		h.Write(n[:binary.PutUvarint(n[:], uint64(len(f)))])
		h.Write([]byte(f))
	}
	var sum [sha256.Size]byte
	return inv + "-" + hex.EncodeToString(h.Sum(sum[:0])[:8]), nil
}

// odataString quotes s as an OData string literal: the only escape OData needs is a doubled quote.
// Every value placed in a filter goes through here; property names are constants.
func odataString(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// eq builds "prop eq 'value'" for a constant property name.
func eq(prop, value string) string { return prop + " eq " + odataString(value) }
