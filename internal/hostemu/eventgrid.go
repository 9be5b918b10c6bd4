package hostemu

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
)

// maxDeliveryBytes bounds a webhook delivery body (Event Grid batches are at most 1 MB;
// this leaves room for tests that push more).
const maxDeliveryBytes = 16 << 20

// DeliverEvents does what the Event Grid extension does with a Notification delivery: body
// is what Event Grid POSTs (an array of Event Grid schema events, or CloudEvents as one
// object or an array); each event is one invocation, all in parallel. It returns 202 when
// every invocation succeeded and 500 (with the failures joined in err) when any failed, in
// which case Event Grid retries the whole batch. 404 for an unknown function, 400 for a
// body that is not events.
func (h *Host) DeliverEvents(ctx context.Context, function string, body []byte) (int, error) {
	fn, err := h.function(function, "eventGridTrigger")
	if err != nil {
		return http.StatusNotFound, err
	}
	events, err := splitEvents(body)
	if err != nil {
		return http.StatusBadRequest, fmt.Errorf("deliver to %s: %w", function, err)
	}
	errs := make([]error, len(events))
	sem := make(chan struct{}, h.opts.MaxConcurrency)
	var wg sync.WaitGroup
	for i, ev := range events {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			errs[i] = h.invokeEvent(ctx, fn, ev)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return http.StatusInternalServerError, err
	}
	return http.StatusAccepted, nil
}

func (h *Host) invokeEvent(ctx context.Context, fn *function, ev json.RawMessage) error {
	var value json.RawMessage
	if strings.EqualFold(fn.trigger.DataType, "string") {
		// JToken → string uses Formatting.Indented; the string is then double-encoded.
		text, err := indented(ev)
		if err != nil {
			return err
		}
		value = csharpString(text)
	} else {
		var buf bytes.Buffer
		if err := json.Compact(&buf, ev); err != nil {
			return err
		}
		value = buf.Bytes()
	}
	meta := map[string]json.RawMessage{"sys": h.sysMetadata(fn)}
	// Binding data: {"data": event["data"]} (JToken indexer: exact key; absent → skipped).
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(ev, &fields); err != nil {
		return err
	}
	if d, ok := fields["data"]; ok {
		v, err := hostValue(d)
		if err != nil {
			return err
		}
		meta["data"] = v
	}
	inv, _ := h.invoke(ctx, fn, map[string]json.RawMessage{fn.trigger.Name: value}, meta)
	if inv.Err != nil {
		return fmt.Errorf("invocation %s of %s: %w", inv.ID, fn.name, inv.Err)
	}
	return nil
}

// splitEvents accepts a JSON array of objects or one object.
func splitEvents(body []byte) ([]json.RawMessage, error) {
	b := bytes.TrimSpace(body)
	if len(b) == 0 {
		return nil, errors.New("empty delivery body")
	}
	var events []json.RawMessage
	switch b[0] {
	case '[':
		if err := json.Unmarshal(b, &events); err != nil {
			return nil, fmt.Errorf("decode event array: %w", err)
		}
	case '{':
		if !json.Valid(b) {
			return nil, errors.New("delivery body is not valid JSON")
		}
		events = []json.RawMessage{b}
	default:
		return nil, errors.New("delivery body must be a JSON array or object")
	}
	for i, ev := range events {
		if e := bytes.TrimSpace(ev); len(e) == 0 || e[0] != '{' {
			return nil, fmt.Errorf("event %d is not a JSON object", i)
		}
	}
	return events, nil
}

// serveEventGrid is /runtime/webhooks/eventgrid?functionName=X as the extension serves it.
func (h *Host) serveEventGrid(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	name := q.Get("functionName")
	fn, ok := h.functions[name]
	if !ok || fn.trigger.Type != "eventGridTrigger" {
		http.Error(w, fmt.Sprintf("cannot find function: '%s'", name), http.StatusNotFound)
		return
	}
	if h.opts.EventGridKey != "" && !keyEqual(q.Get("code"), h.opts.EventGridKey) {
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	switch r.Method {
	case http.MethodOptions:
		// CloudEvents abuse protection: allow the origin Event Grid asks about.
		if origin := r.Header.Get("WebHook-Request-Origin"); origin != "" {
			w.Header().Set("WebHook-Allowed-Origin", origin)
			w.Header().Set("WebHook-Allowed-Rate", "*")
		}
		w.WriteHeader(http.StatusOK)
		return
	case http.MethodPost:
	default:
		w.Header().Set("Allow", "OPTIONS, POST")
		w.WriteHeader(http.StatusMethodNotAllowed)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxDeliveryBytes+1))
	if err != nil {
		http.Error(w, "read delivery: "+err.Error(), http.StatusBadRequest)
		return
	}
	if len(body) > maxDeliveryBytes {
		w.WriteHeader(http.StatusRequestEntityTooLarge)
		return
	}
	kind := r.Header.Get("aeg-event-type")
	if kind == "" && isValidationEvent(body) {
		// Real Event Grid always sends the header; be lenient, but never forward a
		// validation event to the handler.
		kind = "SubscriptionValidation"
	}
	switch strings.ToLower(kind) {
	case "subscriptionvalidation":
		code, err := validationCode(body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		b, _ := marshal(map[string]string{"validationResponse": code})
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		_, _ = w.Write(b)
	case "notification":
		status, err := h.DeliverEvents(r.Context(), name, body)
		if err != nil {
			http.Error(w, err.Error(), status)
			return
		}
		w.WriteHeader(status)
	case "unsubscribe":
		w.WriteHeader(http.StatusAccepted)
	default:
		http.Error(w, "aeg-event-type header must be Notification, SubscriptionValidation or Unsubscribe", http.StatusBadRequest)
	}
}

const validationEventType = "Microsoft.EventGrid.SubscriptionValidationEvent"

func isValidationEvent(body []byte) bool {
	events, err := splitEvents(body)
	if err != nil || len(events) == 0 {
		return false
	}
	var ev struct {
		EventType string `json:"eventType"`
		Type      string `json:"type"`
	}
	_ = json.Unmarshal(events[0], &ev)
	return ev.EventType == validationEventType || ev.Type == validationEventType
}

// validationCode reads data.validationCode of the first event; a CloudEvent carries its
// data double-encoded (a string holding the JSON object).
func validationCode(body []byte) (string, error) {
	events, err := splitEvents(body)
	if err != nil || len(events) == 0 {
		return "", fmt.Errorf("validation request carries no event: %v", err)
	}
	var ev map[string]json.RawMessage
	if err := json.Unmarshal(events[0], &ev); err != nil {
		return "", fmt.Errorf("decode validation event: %w", err)
	}
	data := bytes.TrimSpace(ev["data"])
	if len(data) > 0 && data[0] == '"' {
		var s string
		if err := json.Unmarshal(data, &s); err != nil {
			return "", fmt.Errorf("decode validation data: %w", err)
		}
		data = []byte(s)
	}
	var d map[string]json.RawMessage
	if err := json.Unmarshal(data, &d); err != nil {
		return "", fmt.Errorf("validation event data is not an object: %w", err)
	}
	var code string
	if err := json.Unmarshal(d["validationCode"], &code); err != nil || code == "" {
		return "", errors.New("validation event has no data.validationCode")
	}
	return code, nil
}
