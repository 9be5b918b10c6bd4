package hostemu

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// hostValue is what the host sends for a binding value that is already JSON (a JToken):
// an object as is; anything else as a JSON string of its JSON text (JObject.FromObject
// fails, JsonConvert.SerializeObject wins). So a string token arrives double-encoded.
func hostValue(token json.RawMessage) (json.RawMessage, error) {
	var buf bytes.Buffer
	if err := json.Compact(&buf, token); err != nil {
		return nil, err
	}
	if buf.Len() > 0 && buf.Bytes()[0] == '{' {
		return buf.Bytes(), nil
	}
	return marshal(buf.String())
}

// csharpString is what the host sends for a .NET string binding value:
// SerializeObject("x") = "\"x\"", then the envelope encodes that once more.
func csharpString(s string) json.RawMessage {
	inner, _ := marshal(s)
	outer, _ := marshal(string(inner))
	return outer
}

// marshal is json.Marshal without HTML escaping, like JSON.NET.
func marshal(v any) (json.RawMessage, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// indented renders JSON the way JSON.NET's Formatting.Indented does (two spaces).
func indented(raw json.RawMessage) (string, error) {
	var buf bytes.Buffer
	if err := json.Indent(&buf, raw, "", "  "); err != nil {
		return "", err
	}
	return buf.String(), nil
}

// utcNow formats DateTime.UtcNow as JSON.NET writes it: 7 fractional digits and Z.
func utcNow(t time.Time) string {
	return t.UTC().Format("2006-01-02T15:04:05.0000000Z")
}

// dotnetTime formats a DateTime the schedule monitor stored: default(DateTime) has no
// zone; other times carry an offset.
func dotnetTime(t time.Time) string {
	if t.IsZero() {
		return "0001-01-01T00:00:00"
	}
	return t.UTC().Format("2006-01-02T15:04:05.0000000-07:00")
}

func newGUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

func traceparent() string {
	var b [24]byte
	_, _ = rand.Read(b[:])
	return "00-" + hex.EncodeToString(b[:16]) + "-" + hex.EncodeToString(b[16:]) + "-00"
}

// sysMetadata is Metadata.sys.
func (h *Host) sysMetadata(fn *function) json.RawMessage {
	b, _ := marshal(struct {
		MethodName string `json:"MethodName"`
		UtcNow     string `json:"UtcNow"`
		RandGuid   string `json:"RandGuid"`
	}{fn.name, utcNow(h.opts.Now()), h.opts.NewGUID()})
	return b
}

// metadata is a binding-data dictionary: keys compare case-insensitively, like the host's
// Dictionary(StringComparer.OrdinalIgnoreCase); an overwrite keeps the first key's casing.
type metadata struct {
	keys map[string]string // lower → key as first added
	vals map[string]json.RawMessage
}

func newMetadata() *metadata {
	return &metadata{keys: map[string]string{}, vals: map[string]json.RawMessage{}}
}

func (m *metadata) set(k string, v json.RawMessage) {
	lk := strings.ToLower(k)
	if orig, ok := m.keys[lk]; ok {
		m.vals[orig] = v
		return
	}
	m.keys[lk] = k
	m.vals[k] = v
}

func (m *metadata) setIfAbsent(k string, v json.RawMessage) {
	if _, ok := m.keys[strings.ToLower(k)]; !ok {
		m.set(k, v)
	}
}
