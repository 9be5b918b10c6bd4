package store

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/plsgate/plsgate/internal/store/tablekey"
)

// tick is the resolution of Edm.DateTime.
const tick = 100 * time.Nanosecond

// The key rules live in tablekey (SDK-free, shared with the event classifier
// and the API's decoders).
var (
	EscapeKey   = tablekey.Escape
	UnescapeKey = tablekey.Unescape
	utf16Len    = tablekey.UTF16Len
	key         = tablekey.Key
)

// normID normalises a resource ID the way resource IDs compare: case-insensitively, without a
// trailing slash.
func normID(id string) string { return strings.ToLower(strings.TrimRight(id, "/")) }

// plsKey is the PartitionKey of a PLS in the connections and transitions tables.
func plsKey(plsID string) (string, error) { return tablekey.ResourceKey(plsID) }

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
