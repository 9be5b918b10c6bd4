package handler

import (
	"encoding/json"
	"fmt"
	"time"
)

// InvokeRequest is the body the host POSTs to /{FunctionName}. Values stay raw: their shape
// depends on the binding, and plain strings arrive double-encoded (see DecodeString).
type InvokeRequest struct {
	Data     map[string]json.RawMessage `json:"Data"`
	Metadata map[string]json.RawMessage `json:"Metadata"`
}

// InvokeResponse is the body answered to the host. Outputs keys must equal the output
// binding names in function.json; each Logs line becomes one Information log of the
// invocation.
type InvokeResponse struct {
	Outputs     map[string]json.RawMessage `json:"Outputs"`
	Logs        []string                   `json:"Logs"`
	ReturnValue json.RawMessage            `json:"ReturnValue"`
	// Error is set only on a failed invocation (HTTP 500). The host ignores the body of a
	// failed invocation; it is there for people and tests reading the exchange.
	Error *ErrorDetail `json:"error,omitempty"`
}

// ErrorDetail is the {"code","message"} object of every JSON error plsgate answers.
type ErrorDetail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// Sys is Metadata.sys, added by the host to every invocation.
type Sys struct {
	MethodName string    `json:"MethodName"`
	UtcNow     time.Time `json:"UtcNow"`
	RandGuid   string    `json:"RandGuid"`
}

// UnmarshalJSON accepts the .NET time shapes the host writes (7 fractional digits, "Z",
// "+00:00", or no zone at all). sys is a plain object of strings (JObject.FromObject), so
// one pass decodes it.
func (s *Sys) UnmarshalJSON(b []byte) error {
	var aux struct {
		MethodName string `json:"MethodName"`
		UtcNow     string `json:"UtcNow"`
		RandGuid   string `json:"RandGuid"`
	}
	if err := json.Unmarshal(b, &aux); err != nil {
		return fmt.Errorf("decode sys: %w", err)
	}
	s.MethodName, s.RandGuid, s.UtcNow = aux.MethodName, aux.RandGuid, time.Time{}
	if aux.UtcNow != "" {
		t, err := parseHostTime(aux.UtcNow)
		if err != nil {
			return fmt.Errorf("decode sys.UtcNow: %w", err)
		}
		s.UtcNow = t
	}
	return nil
}

// TimerInfo is Data.<binding> of a timerTrigger invocation.
type TimerInfo struct {
	Schedule Schedule `json:"Schedule"`
	// ScheduleStatus is nil when the schedule monitor is off (useMonitor false) or has not
	// stored anything yet.
	ScheduleStatus *ScheduleStatus `json:"ScheduleStatus"`
	IsPastDue      bool            `json:"IsPastDue"`
}

// Schedule is the part of the timer schedule the host serializes.
type Schedule struct {
	AdjustForDST bool `json:"AdjustForDST"`
}

// ScheduleStatus is what the schedule monitor recorded. A zero Last means "never ran".
type ScheduleStatus struct {
	Last        time.Time `json:"Last"`
	Next        time.Time `json:"Next"`
	LastUpdated time.Time `json:"LastUpdated"`
}

// UnmarshalJSON accepts .NET times, including "0001-01-01T00:00:00" (no zone) for "never".
func (s *ScheduleStatus) UnmarshalJSON(b []byte) error {
	var aux struct {
		Last        json.RawMessage `json:"Last"`
		Next        json.RawMessage `json:"Next"`
		LastUpdated json.RawMessage `json:"LastUpdated"`
	}
	if err := json.Unmarshal(b, &aux); err != nil {
		return fmt.Errorf("decode ScheduleStatus: %w", err)
	}
	var err error
	if s.Last, err = optTime(aux.Last); err != nil {
		return fmt.Errorf("decode ScheduleStatus.Last: %w", err)
	}
	if s.Next, err = optTime(aux.Next); err != nil {
		return fmt.Errorf("decode ScheduleStatus.Next: %w", err)
	}
	if s.LastUpdated, err = optTime(aux.LastUpdated); err != nil {
		return fmt.Errorf("decode ScheduleStatus.LastUpdated: %w", err)
	}
	return nil
}

// HTTPRequest is Data.<binding> of a non-proxied httpTrigger invocation, as the host builds
// it from the incoming request. The decoder normalizes it: Query, Headers and Params are
// never nil; a Query sent as the string "{}" becomes an object; header values sent as a
// single string become one-element lists.
type HTTPRequest struct {
	// URL is the full public URL, query string included (it may carry ?code=<function key>).
	URL    string `json:"Url"`
	Method string `json:"Method"`
	// Query holds one string per key; repeated keys arrive joined with ",".
	Query   map[string]string   `json:"Query"`
	Headers map[string][]string `json:"Headers"`
	// Params holds the route parameters, e.g. {"path": "status"} for route v1/{*path}.
	Params map[string]string `json:"Params"`
	// Identities is the host's ClaimsIdentity list (function-key identity, Easy Auth), raw.
	Identities json.RawMessage `json:"Identities,omitempty"`
	// Body is absent for an empty body; base64 for application/octet-stream and multipart/*.
	Body string `json:"Body,omitempty"`
}

// HTTPResponse is the value of the http output binding.
type HTTPResponse struct {
	StatusCode string            `json:"statusCode"`
	Status     string            `json:"status"`
	Body       string            `json:"body"`
	Headers    map[string]string `json:"headers"`
}

// hostTimeLayouts are tried in order; Go accepts any fractional seconds when parsing.
var hostTimeLayouts = [...]string{time.RFC3339Nano, "2006-01-02T15:04:05"}

// parseHostTime reads a .NET DateTime as JSON.NET writes it. A time without a zone
// (DateTimeKind.Unspecified, e.g. default(DateTime)) is taken as UTC.
func parseHostTime(s string) (time.Time, error) {
	var firstErr error
	for _, layout := range hostTimeLayouts {
		t, err := time.Parse(layout, s)
		if err == nil {
			return t, nil
		}
		if firstErr == nil {
			firstErr = err
		}
	}
	return time.Time{}, firstErr
}

// optTime decodes an optional time: absent or null is the zero time.
func optTime(raw json.RawMessage) (time.Time, error) {
	s, err := optString(raw)
	if err != nil || s == "" {
		return time.Time{}, err
	}
	return parseHostTime(s)
}

// optString decodes an optional, possibly double-encoded string: absent or null is "".
func optString(raw json.RawMessage) (string, error) {
	if len(raw) == 0 {
		return "", nil
	}
	return DecodeString(raw)
}
