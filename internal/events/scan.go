package events

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math/bits"
	"unicode/utf8"
)

// A small JSON scanner for the event envelope. encoding/json validates and
// decodes the whole document, claims and all (~2.5 KB per resource event, ~40 µs
// here); this scanner walks the structure once, only unquotes the top-level
// strings it is asked for, and returns the data value as a sub-slice. Strings
// inside skipped values are located with bytes.IndexByte (vectorised) and not
// checked for control characters or escape validity: those are checked when
// (and only if) the classifier decodes the data with encoding/json.

const maxDepth = 10000 // as encoding/json; events nest a handful of levels

var errEnd = errors.New("unexpected end of JSON input")

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func skipSpace(b []byte, i int) int {
	for i < len(b) && isSpace(b[i]) {
		i++
	}
	return i
}

// objectFields calls fn for each member of the JSON object starting at b[i]
// (after optional spaces) and returns the offset just past the closing brace.
// key is the raw key (between the quotes); escaped says whether it holds a
// backslash. val is the raw value, its syntax checked by skipValue.
func objectFields(b []byte, i int, fn func(key []byte, escaped bool, val []byte) error) (int, error) {
	i = skipSpace(b, i)
	if i >= len(b) {
		return i, errEnd
	}
	if b[i] != '{' {
		return i, fmt.Errorf("offset %d: want an object, found %s", i, describe(b[i]))
	}
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == '}' {
		return i + 1, nil
	}
	for {
		if i >= len(b) {
			return i, errEnd
		}
		if b[i] != '"' {
			return i, fmt.Errorf("offset %d: want a member name, found %s", i, describe(b[i]))
		}
		end, escaped, err := skipString(b, i)
		if err != nil {
			return end, err
		}
		key := b[i+1 : end-1]
		i = skipSpace(b, end)
		if i >= len(b) {
			return i, errEnd
		}
		if b[i] != ':' {
			return i, fmt.Errorf("offset %d: want ':' after member name, found %s", i, describe(b[i]))
		}
		i = skipSpace(b, i+1)
		start := i
		if i, err = skipValue(b, i, 1); err != nil {
			return i, err
		}
		if err := fn(key, escaped, b[start:i]); err != nil {
			return i, err
		}
		i = skipSpace(b, i)
		if i >= len(b) {
			return i, errEnd
		}
		switch b[i] {
		case ',':
			i = skipSpace(b, i+1)
		case '}':
			return i + 1, nil
		default:
			return i, fmt.Errorf("offset %d: want ',' or '}' in object, found %s", i, describe(b[i]))
		}
	}
}

// skipString returns the offset just past the string starting at b[i] (a quote)
// and whether it contains escapes.
func skipString(b []byte, i int) (int, bool, error) {
	escaped := false
	j := i + 1
	for {
		k := bytes.IndexByte(b[j:], '"')
		if k < 0 {
			return len(b), escaped, errEnd
		}
		q := j + k
		// The quote is escaped when an odd number of backslashes precede it.
		n := 0
		for p := q - 1; p > i && b[p] == '\\'; p-- {
			n++
		}
		if !escaped && bytes.IndexByte(b[j:q], '\\') >= 0 {
			escaped = true
		}
		if n%2 == 0 {
			return q + 1, escaped, nil
		}
		j = q + 1
	}
}

// skipPlainString is skipString for strings whose content does not matter
// (everything inside skipped values, most of an event). It looks for the next
// quote or backslash eight bytes at a time (SWAR: a zero byte in x^pattern
// marks a match; the lowest flagged byte is exact), which beats both a byte
// loop and a vectorised search's call overhead on the short strings events
// are made of.
func skipPlainString(b []byte, i int) (int, error) {
	const lo, hi = 0x0101010101010101, 0x8080808080808080
	j := i + 1
outer:
	for j < len(b) {
		for j+8 <= len(b) {
			x := binary.LittleEndian.Uint64(b[j:])
			q, s := x^(lo*'"'), x^(lo*'\\')
			if m := ((q-lo)&^q | (s-lo)&^s) & hi; m != 0 {
				j += bits.TrailingZeros64(m) >> 3
				break
			}
			j += 8
		}
		for ; j < len(b); j++ {
			switch b[j] {
			case '"':
				return j + 1, nil
			case '\\':
				j += 2 // the backslash and the byte it escapes
				continue outer
			}
		}
	}
	return len(b), errEnd
}

// skipValue returns the offset just past the JSON value starting at b[i].
func skipValue(b []byte, i, depth int) (int, error) {
	if i >= len(b) {
		return i, errEnd
	}
	switch c := b[i]; {
	case c == '"':
		return skipPlainString(b, i)
	case c == '{' || c == '[':
		if depth > maxDepth {
			return i, fmt.Errorf("offset %d: nested too deeply", i)
		}
		return skipContainer(b, i, depth)
	case c == 't':
		return literal(b, i, "true")
	case c == 'f':
		return literal(b, i, "false")
	case c == 'n':
		return literal(b, i, "null")
	case c == '-' || (c >= '0' && c <= '9'):
		return number(b, i)
	default:
		return i, fmt.Errorf("offset %d: want a value, found %s", i, describe(c))
	}
}

func skipContainer(b []byte, i, depth int) (int, error) {
	open := b[i]
	closer := byte('}')
	if open == '[' {
		closer = ']'
	}
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == closer {
		return i + 1, nil
	}
	for {
		if i >= len(b) {
			return i, errEnd
		}
		if open == '{' {
			if b[i] != '"' {
				return i, fmt.Errorf("offset %d: want a member name, found %s", i, describe(b[i]))
			}
			end, err := skipPlainString(b, i)
			if err != nil {
				return end, err
			}
			i = skipSpace(b, end)
			if i >= len(b) {
				return i, errEnd
			}
			if b[i] != ':' {
				return i, fmt.Errorf("offset %d: want ':' after member name, found %s", i, describe(b[i]))
			}
			i = skipSpace(b, i+1)
		}
		var err error
		if i, err = skipValue(b, i, depth+1); err != nil {
			return i, err
		}
		i = skipSpace(b, i)
		if i >= len(b) {
			return i, errEnd
		}
		switch b[i] {
		case ',':
			i = skipSpace(b, i+1)
		case closer:
			return i + 1, nil
		default:
			return i, fmt.Errorf("offset %d: want ',' or '%c', found %s", i, closer, describe(b[i]))
		}
	}
}

func literal(b []byte, i int, lit string) (int, error) {
	if len(b)-i < len(lit) || string(b[i:i+len(lit)]) != lit {
		return i, fmt.Errorf("offset %d: invalid literal (want %s)", i, lit)
	}
	return i + len(lit), nil
}

// number checks the JSON number grammar: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func number(b []byte, i int) (int, error) {
	start := i
	bad := func() (int, error) { return i, fmt.Errorf("offset %d: invalid number", start) }
	digits := func() bool {
		j := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		return i > j
	}
	if b[i] == '-' {
		i++
	}
	if i < len(b) && b[i] == '0' {
		i++
	} else if !digits() {
		return bad()
	}
	if i < len(b) && b[i] == '.' {
		i++
		if !digits() {
			return bad()
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if !digits() {
			return bad()
		}
	}
	return i, nil
}

// stringValue returns the Go string of a raw JSON value that must be a string
// (or null, which gives ""). Plain strings are copied as they are, after a
// check for control characters; escaped or non-UTF-8 ones go through
// encoding/json (which replaces invalid UTF-8 with U+FFFD).
func stringValue(raw []byte) (string, bool) {
	if len(raw) == 4 && string(raw) == "null" {
		return "", true
	}
	if len(raw) < 2 || raw[0] != '"' {
		return "", false
	}
	body := raw[1 : len(raw)-1]
	if bytes.IndexByte(body, '\\') < 0 && utf8.Valid(body) {
		for _, c := range body {
			if c < 0x20 {
				return "", false
			}
		}
		return string(body), true
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return "", false
	}
	return s, true
}

// keyIs compares a raw member name with a plain ASCII name.
func keyIs(key []byte, escaped bool, name string) bool {
	if !escaped {
		return string(key) == name
	}
	var s string
	q := make([]byte, 0, len(key)+2)
	q = append(append(append(q, '"'), key...), '"')
	return json.Unmarshal(q, &s) == nil && s == name
}

func describe(c byte) string {
	if c >= 0x20 && c < 0x7f {
		return fmt.Sprintf("%q", c)
	}
	return fmt.Sprintf("byte 0x%02x", c)
}
