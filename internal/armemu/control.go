package armemu

import (
	"context"
	"io"
	"net/http"
	"time"
)

// Control endpoints (no auth, not counted):
//
//	GET  /_emulator/counters          {"calls":{op:n}, "faults":{op:n}}
//	POST /_emulator/reset             zero counters and the event/delivery logs
//	GET  /_emulator/state             the World
//	POST /_emulator/seed              body: a World (replaces the state)
//	GET  /_emulator/faults            the Faults
//	POST /_emulator/faults            body: Faults
//	GET  /_emulator/events            {"stats", "deliveries", "events"}
//	POST /_emulator/events            body: EventOptions (sink, schema, modes…)
//	POST /_emulator/wait-idle?timeout=10s   204 once deliveries drained, 504 on timeout
//	POST /_emulator/connection-status body: {"connectionId","status","description"} (portal action)
func (e *Emulator) serveControl(w http.ResponseWriter, r *http.Request) {
	route := r.Method + " " + r.URL.Path
	switch route {
	case "GET /_emulator/counters":
		writeJSON(w, http.StatusOK, map[string]map[string]int{"calls": e.Counters(), "faults": e.FaultCounters()})
	case "POST /_emulator/reset":
		e.ResetCounters()
		e.ResetEvents()
		w.WriteHeader(http.StatusNoContent)
	case "GET /_emulator/state":
		writeJSON(w, http.StatusOK, e.World())
	case "POST /_emulator/seed":
		data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 256<<20))
		if err != nil {
			writeError(w, errf(http.StatusBadRequest, CodeInvalidRequestContent, "read world: %v", err))
			return
		}
		world, err := DecodeWorld(data)
		if err == nil {
			err = e.Seed(world)
		}
		if err != nil {
			writeError(w, errf(http.StatusBadRequest, CodeInvalidRequestContent, "%v", err))
			return
		}
		w.WriteHeader(http.StatusNoContent)
	case "GET /_emulator/faults":
		writeJSON(w, http.StatusOK, e.GetFaults())
	case "POST /_emulator/faults":
		var f Faults
		if err := decodeBody(r, &f); err != nil {
			writeError(w, err)
			return
		}
		if err := e.SetFaults(f); err != nil {
			writeError(w, errf(http.StatusBadRequest, CodeInvalidRequestContent, "%v", err))
			return
		}
		w.WriteHeader(http.StatusNoContent)
	case "GET /_emulator/events":
		evs, recs, st := e.bus.snapshot()
		writeJSON(w, http.StatusOK, struct {
			Options    eventOptionsJSON `json:"options"`
			Stats      DeliveryStats    `json:"stats"`
			Deliveries []Delivery       `json:"deliveries"`
			Events     []Event          `json:"events"`
		}{toJSONOptions(e.bus.opts()), st, orEmptySlice(recs), orEmptySlice(evs)})
	case "POST /_emulator/events":
		cur := e.bus.opts()
		j := toJSONOptions(cur)
		if err := decodeBody(r, &j); err != nil {
			writeError(w, err)
			return
		}
		if err := e.SetEventOptions(j.options(cur)); err != nil {
			writeError(w, errf(http.StatusBadRequest, CodeInvalidRequestContent, "%v", err))
			return
		}
		w.WriteHeader(http.StatusNoContent)
	case "POST /_emulator/wait-idle":
		timeout := 30 * time.Second
		if s := r.URL.Query().Get("timeout"); s != "" {
			d, err := time.ParseDuration(s)
			if err != nil {
				writeError(w, errf(http.StatusBadRequest, CodeBadRequest, "timeout %q: %v", s, err))
				return
			}
			timeout = d
		}
		ctx, cancel := context.WithTimeout(r.Context(), timeout)
		defer cancel()
		if err := e.WaitIdle(ctx); err != nil {
			writeError(w, errf(http.StatusGatewayTimeout, "Timeout", "%v", err))
			return
		}
		w.WriteHeader(http.StatusNoContent)
	case "POST /_emulator/connection-status":
		var b struct {
			ConnectionID string `json:"connectionId"`
			Status       string `json:"status"`
			Description  string `json:"description"`
		}
		if err := decodeBody(r, &b); err != nil {
			writeError(w, err)
			return
		}
		r, perr := parseResourceID(b.ConnectionID)
		if perr != nil || r.ChildType == "" {
			writeError(w, errf(http.StatusBadRequest, CodeLinkedInvalidPropertyID, "connectionId %q is not a private endpoint connection ID", b.ConnectionID))
			return
		}
		if err := e.SetConnectionStatus(plsIDOf(r.Sub, r.RG, r.Name), r.ChildName, b.Status, b.Description); err != nil {
			if ae, ok := err.(*Error); ok {
				writeError(w, ae)
				return
			}
			writeError(w, errf(http.StatusBadRequest, CodeBadRequest, "%v", err))
			return
		}
		w.WriteHeader(http.StatusNoContent)
	default:
		writeError(w, errf(http.StatusNotFound, CodeNotImplementedByEmulator, "no control endpoint %s", route))
	}
}

func orEmptySlice[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// eventOptionsJSON is the control-endpoint spelling of EventOptions. A POST
// overlays the fields it names on the current options.
type eventOptionsJSON struct {
	SinkURL                      string   `json:"sinkUrl"`
	Schema                       string   `json:"schema"`
	Subscriptions                []string `json:"subscriptions"`
	CrossSubscription            string   `json:"crossSubscription"`
	SharedLinkWriteAt            string   `json:"sharedLinkWriteAt"`
	DisableWriteSuccess          bool     `json:"disableWriteSuccess"`
	DisableResourceNotifications bool     `json:"disableResourceNotifications"`
	MaxEventsPerBatch            int      `json:"maxEventsPerBatch"`
	Duplicate                    float64  `json:"duplicate"`
	Shuffle                      bool     `json:"shuffle"`
	RetryScale                   float64  `json:"retryScale"`
	MaxAttempts                  int      `json:"maxAttempts"`
	TimeToLive                   Duration `json:"timeToLive"`
	Timeout                      Duration `json:"timeout"`
}

func toJSONOptions(o EventOptions) eventOptionsJSON {
	return eventOptionsJSON{o.SinkURL, o.Schema, o.Subscriptions, o.CrossSubscription, o.SharedLinkWriteAt, o.DisableWriteSuccess,
		o.DisableResourceNotifications, o.MaxEventsPerBatch, o.Duplicate, o.Shuffle, o.RetryScale, o.MaxAttempts,
		Duration(o.TimeToLive), Duration(o.Timeout)}
}

func (j eventOptionsJSON) options(cur EventOptions) EventOptions {
	cur.SinkURL, cur.Schema, cur.Subscriptions, cur.CrossSubscription = j.SinkURL, j.Schema, j.Subscriptions, j.CrossSubscription
	if j.SharedLinkWriteAt != "" {
		cur.SharedLinkWriteAt = j.SharedLinkWriteAt
	}
	cur.DisableWriteSuccess, cur.DisableResourceNotifications = j.DisableWriteSuccess, j.DisableResourceNotifications
	cur.MaxEventsPerBatch, cur.Duplicate, cur.Shuffle, cur.RetryScale, cur.MaxAttempts = j.MaxEventsPerBatch, j.Duplicate, j.Shuffle, j.RetryScale, j.MaxAttempts
	cur.TimeToLive, cur.Timeout = time.Duration(j.TimeToLive), time.Duration(j.Timeout)
	return cur
}
