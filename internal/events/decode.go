package events

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/plsgate/plsgate/internal/fault"
)

// Schema names.
const (
	SchemaEventGrid   = "eventgrid"
	SchemaCloudEvents = "cloudevents"
)

// ErrMalformed marks payloads and events that can never be processed: the
// caller logs and acknowledges them (a retry would see the same bytes): bad
// input, terminal.
var ErrMalformed = fault.NewTerminal(fault.Invalid, "malformed event")

// Event is one decoded event envelope. Data is the raw "data" value, not
// parsed: the classifier decodes it only when the event can matter. Data
// aliases the payload given to Decode (no copy): do not modify the payload
// while the Event is in use.
type Event struct {
	Schema      string // SchemaEventGrid | SchemaCloudEvents
	ID          string
	Type        string // eventType | type
	Subject     string
	Source      string // topic (Event Grid) | source (CloudEvents)
	Time        string // eventTime | time, as sent
	DataVersion string // Event Grid dataVersion; CloudEvents have none
	Data        json.RawMessage
}

// maxStringDepth bounds how often a payload may be a JSON string holding JSON:
// the Functions host double-encodes strings once, defensive senders once more.
const maxStringDepth = 2

// Decode reads an Event Grid schema or CloudEvents 1.0 payload: one event or an
// array of events, each as a JSON object or as a JSON string holding one (the
// Functions host may hand the event over either way). Errors wrap ErrMalformed
// and name the event (by index and id when known) and what is wrong. An array
// is all or nothing: the Functions host hands plsgate one event per
// invocation, so arrays come from tests and tools, where a bad member should
// be loud.
func Decode(payload []byte) ([]Event, error) {
	return decode(payload, 0)
}

func decode(payload []byte, depth int) ([]Event, error) {
	i := skipSpace(payload, 0)
	if i >= len(payload) {
		return nil, fmt.Errorf("%w: empty payload", ErrMalformed)
	}
	switch payload[i] {
	case '{':
		e, err := decodeOne(payload[i:])
		if err != nil {
			return nil, err
		}
		return []Event{e}, nil
	case '[':
		return decodeArray(payload, i, depth)
	case '"':
		inner, err := unwrapString(payload[i:], depth)
		if err != nil {
			return nil, err
		}
		return decode(inner, depth+1)
	default:
		return nil, fmt.Errorf("%w: payload is not a JSON object, array or string (starts with %s)", ErrMalformed, describe(payload[i]))
	}
}

func unwrapString(raw []byte, depth int) ([]byte, error) {
	if depth >= maxStringDepth {
		return nil, fmt.Errorf("%w: payload is a JSON string nested more than %d times", ErrMalformed, maxStringDepth)
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return nil, fmt.Errorf("%w: payload is not a valid JSON string: %v", ErrMalformed, err)
	}
	return []byte(s), nil
}

func decodeArray(b []byte, i, depth int) ([]Event, error) {
	var out []Event
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == ']' {
		return nil, fmt.Errorf("%w: payload is an empty array", ErrMalformed)
	}
	for n := 0; ; n++ {
		if i >= len(b) {
			return nil, fmt.Errorf("%w: event[%d]: %v", ErrMalformed, n, errEnd)
		}
		start := i
		end, err := skipValue(b, i, 1)
		if err != nil {
			return nil, fmt.Errorf("%w: event[%d]: invalid JSON: %v", ErrMalformed, n, err)
		}
		item := b[start:end]
		switch item[0] {
		case '{':
		case '"':
			if item, err = unwrapString(item, depth); err != nil {
				return nil, fmt.Errorf("event[%d]: %w", n, err)
			}
		default:
			return nil, fmt.Errorf("%w: event[%d] is not a JSON object (starts with %s)", ErrMalformed, n, describe(item[0]))
		}
		e, err := decodeOne(item)
		if err != nil {
			return nil, fmt.Errorf("event[%d]: %w", n, err)
		}
		out = append(out, e)
		i = skipSpace(b, end)
		if i >= len(b) {
			return nil, fmt.Errorf("%w: after event[%d]: %v", ErrMalformed, n, errEnd)
		}
		switch b[i] {
		case ',':
			i = skipSpace(b, i+1)
		case ']':
			if j := skipSpace(b, i+1); j != len(b) {
				return nil, fmt.Errorf("%w: data after the array at offset %d", ErrMalformed, j)
			}
			return out, nil
		default:
			return nil, fmt.Errorf("%w: after event[%d]: want ',' or ']', found %s", ErrMalformed, n, describe(b[i]))
		}
	}
}

// envelope members, by schema. "data_base64" is CloudEvents' binary data.
type rawEnvelope struct {
	id, eventType, subject, topic, eventTime, dataVersion []byte
	specversion, typ, source, time, dataBase64            []byte
	data                                                  []byte
}

func decodeOne(b []byte) (Event, error) {
	var r rawEnvelope
	end, err := objectFields(b, 0, func(key []byte, escaped bool, val []byte) error {
		if escaped {
			for _, f := range []struct {
				name string
				dst  *[]byte
			}{{"id", &r.id}, {"eventType", &r.eventType}, {"subject", &r.subject}, {"topic", &r.topic}, {"eventTime", &r.eventTime},
				{"dataVersion", &r.dataVersion}, {"specversion", &r.specversion}, {"type", &r.typ}, {"source", &r.source},
				{"time", &r.time}, {"data", &r.data}, {"data_base64", &r.dataBase64}} {
				if keyIs(key, true, f.name) {
					*f.dst = val
				}
			}
			return nil
		}
		switch string(key) { // no allocation: the compiler compares in place
		case "id":
			r.id = val
		case "eventType":
			r.eventType = val
		case "subject":
			r.subject = val
		case "topic":
			r.topic = val
		case "eventTime":
			r.eventTime = val
		case "dataVersion":
			r.dataVersion = val
		case "specversion":
			r.specversion = val
		case "type":
			r.typ = val
		case "source":
			r.source = val
		case "time":
			r.time = val
		case "data":
			r.data = val
		case "data_base64":
			r.dataBase64 = val
		}
		return nil
	})
	if err != nil {
		return Event{}, fmt.Errorf("%w: invalid JSON: %v", ErrMalformed, err)
	}
	if j := skipSpace(b, end); j != len(b) {
		return Event{}, fmt.Errorf("%w: data after the event object at offset %d", ErrMalformed, j)
	}

	var e Event
	var bad []string
	str := func(name string, raw []byte) string {
		if raw == nil {
			return ""
		}
		s, ok := stringValue(raw)
		if !ok {
			bad = append(bad, fmt.Sprintf("%q is not a string", name))
		}
		return s
	}
	if r.specversion != nil {
		e.Schema = SchemaCloudEvents
		if v := str("specversion", r.specversion); v != "1.0" && len(bad) == 0 {
			bad = append(bad, fmt.Sprintf("specversion %q is not 1.0", v))
		}
		e.Type = str("type", r.typ)
		e.Source = str("source", r.source)
		e.Time = str("time", r.time)
	} else {
		e.Schema = SchemaEventGrid
		e.Type = str("eventType", r.eventType)
		e.Source = str("topic", r.topic)
		e.Time = str("eventTime", r.eventTime)
		e.DataVersion = str("dataVersion", r.dataVersion)
	}
	e.ID = str("id", r.id)
	e.Subject = str("subject", r.subject)
	switch {
	case r.data != nil && string(r.data) != "null":
		e.Data = r.data
	case r.dataBase64 != nil && e.Schema == SchemaCloudEvents:
		s := str("data_base64", r.dataBase64)
		d, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			bad = append(bad, "data_base64 is not base64")
		}
		e.Data = d
	}
	if len(bad) == 0 {
		bad = e.missing(r)
	}
	if len(bad) > 0 {
		return e, fmt.Errorf("%w: %s event%s: %s", ErrMalformed, e.schemaName(), e.idSuffix(), strings.Join(bad, ", "))
	}
	return e, nil
}

// missing lists the required members an event lacks: those that identify it
// (id, type) and, for CloudEvents, source (REQUIRED by the spec). An Event
// Grid subject may be empty: the subscription validation event's is.
func (e Event) missing(r rawEnvelope) []string {
	var bad []string
	if r.specversion == nil && r.eventType == nil {
		return []string{`neither "eventType" (Event Grid schema) nor "specversion" (CloudEvents 1.0)`}
	}
	if e.ID == "" {
		bad = append(bad, `missing "id"`)
	}
	if e.Schema == SchemaCloudEvents {
		if e.Type == "" {
			bad = append(bad, `missing "type"`)
		}
		if e.Source == "" {
			bad = append(bad, `missing "source"`)
		}
	} else if e.Type == "" {
		bad = append(bad, `missing "eventType"`)
	}
	return bad
}

func (e Event) schemaName() string {
	if e.Schema == SchemaCloudEvents {
		return "CloudEvents"
	}
	return "Event Grid"
}

func (e Event) idSuffix() string {
	if e.ID == "" {
		return ""
	}
	return fmt.Sprintf(" %q", e.ID)
}
