package main

import (
	"bytes"
	"encoding/json"
	"math"
	"regexp"
	"sort"
	"strings"
	"time"
)

// eventGridRetrySchedule is Event Grid's delay before each redelivery
// (azure-docs articles/event-grid/delivery-and-retry.md, "Retry schedule":
// 10 s, 30 s, 1 min, 5 min, 10 min, 30 min, 1 h, 3 h, 6 h, then every 12 h);
// armemu waits the same, multiplied by RetryScale, after a failed attempt.
var eventGridRetrySchedule = []time.Duration{10 * time.Second, 30 * time.Second, time.Minute, 5 * time.Minute,
	10 * time.Minute, 30 * time.Minute, time.Hour, 3 * time.Hour, 6 * time.Hour}

func retryDelay(attempt int) time.Duration { // delay after failed attempt number attempt (0-based)
	if attempt < len(eventGridRetrySchedule) {
		return eventGridRetrySchedule[attempt]
	}
	return 12 * time.Hour
}

// stats summarises one metric over the approved requests (nearest-rank percentiles).
type stats struct {
	N    int     `json:"n"`
	P50  float64 `json:"p50"`
	P95  float64 `json:"p95"`
	P99  float64 `json:"p99"`
	Max  float64 `json:"max"`
	Mean float64 `json:"mean"`
}

func summarize(xs []float64) stats {
	if len(xs) == 0 {
		return stats{}
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	sum := 0.0
	for _, x := range s {
		sum += x
	}
	return stats{N: len(s), P50: percentile(s, 50), P95: percentile(s, 95), P99: percentile(s, 99), Max: s[len(s)-1], Mean: sum / float64(len(s))}
}

// percentile of sorted s by nearest rank: the smallest value with at least p% at or below it.
func percentile(s []float64, p float64) float64 {
	if len(s) == 0 {
		return 0
	}
	i := int(math.Ceil(p/100*float64(len(s)))) - 1
	return s[min(max(i, 0), len(s)-1)]
}

// metric is one named distribution of a mode.
type metric struct {
	Name  string `json:"name"`
	Unit  string `json:"unit"` // ms | periods
	Stats stats  `json:"stats"`
}

// breakdown is where a request's time went (sequential mode: one request in flight).
type breakdown struct {
	Window      string             `json:"window"`
	TotalMS     stats              `json:"totalMs"`
	ARMMS       stats              `json:"armMs"`   // wall time with at least one ARM call of plsgate in flight
	TableMS     stats              `json:"tableMs"` // wall time with at least one Table call in flight
	RestMS      stats              `json:"restMs"`  // neither: plsgate's own work, the host emulator, local HTTP
	ARMCalls    map[string]float64 `json:"armCallsPerRequest"`
	TableCalls  map[string]float64 `json:"tableCallsPerRequest"`
	PlsgateCPU  float64            `json:"plsgateCpuMsPerRequest"` // whole phase (cleanup included) / requests
	AzuriteCPU  float64            `json:"azuriteCpuMsPerRequest"`
	WallPerReq  float64            `json:"wallMsPerRequest"` // phase wall time / requests (cleanup and settling included)
	TickSeconds *stats             `json:"tickSeconds,omitempty"`
}

type modeResult struct {
	Mode      string      `json:"mode"`
	Requests  int         `json:"requests"`
	Approved  int         `json:"approved"`
	Never     int         `json:"neverApproved"` // not approved within the per-request timeout
	Aborted   string      `json:"aborted,omitempty"`
	Metrics   []metric    `json:"metrics"`
	Attempts  map[int]int `json:"approvingAttempt,omitempty"` // Event Grid attempt (0 = first delivery) that approved → requests
	NoHandoff int         `json:"approvedWithoutHandoff,omitempty"`
	Unsettled int         `json:"unsettled,omitempty"`
	// Deliveries plsgate failed during the phase (Event Grid redelivers them), by reason.
	FailedDeliveries map[string]int `json:"failedDeliveries,omitempty"`
	Breakdown        *breakdown     `json:"breakdown,omitempty"`
}

type phase struct {
	reqs                 []*request
	start, end           time.Time
	cpuPlsgate, cpuAzure time.Duration
	unsettled            int
	aborted              string
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// analyze turns one phase's requests and the recorder's logs into a result.
func analyze(mode string, ph phase, rec *recorder, sc scenario, o options, withBreakdown bool, failures map[string]string) modeResult {
	arm, table, ticks, hs := rec.snapshot()
	sortSpans(arm)
	sortSpans(table)
	sortSpans(ticks)
	sort.Slice(hs, func(i, j int) bool { return hs[i].Start.Before(hs[j].Start) })

	r := modeResult{Mode: mode, Requests: len(ph.reqs), Aborted: ph.aborted, Unsettled: ph.unsettled}
	for _, h := range hs {
		if h.Status/100 != 2 && !h.Start.Before(ph.start) && h.Start.Before(ph.end) {
			if r.FailedDeliveries == nil {
				r.FailedDeliveries = map[string]int{}
			}
			r.FailedDeliveries[failReason(h.Error, failures)]++
		}
	}
	scale := 1.0
	if sc.scaled {
		scale = o.retryScale
	}
	var primary, created, compressed, periods, tickToApproved, realEstimate []float64
	var bd breakdown
	var winTotal, winARM, winTable, winRest []float64
	armCalls, tableCalls := map[string]int{}, map[string]int{}
	for _, req := range ph.reqs {
		if req.Approved.IsZero() {
			r.Never++
			continue
		}
		r.Approved++
		created = append(created, ms(req.Approved.Sub(req.Created)))
		var from time.Time // breakdown window start
		if sc.timer {
			i := sort.Search(len(ticks), func(i int) bool { return ticks[i].Start.After(req.Approved) }) - 1
			if i < 0 {
				continue
			}
			p := float64(o.timerPeriod)
			periods = append(periods, float64(req.Approved.Sub(req.Created))/p)
			wait := ticks[i].Start.Sub(req.Created)
			scan := req.Approved.Sub(ticks[i].Start)
			tickToApproved = append(tickToApproved, ms(scan))
			// Real time: the wait for the tick scales with the period, the scan
			// does not; a tick already running when the request came picked it up
			// as it would at any period.
			if wait < 0 {
				realEstimate = append(realEstimate, ms(req.Approved.Sub(req.Created)))
			} else {
				realEstimate = append(realEstimate, ms(time.Duration(float64(wait)/p*float64(o.realPeriod))+scan))
			}
			from = ticks[i].Start
		} else {
			mine := attributed(hs, req)
			if len(mine) == 0 {
				r.NoHandoff++
				continue
			}
			first, last := mine[0], mine[len(mine)-1]
			if r.Attempts == nil {
				r.Attempts = map[int]int{}
			}
			r.Attempts[last.Attempt]++
			measured := req.Approved.Sub(first.Start)
			if scale == 1 {
				primary = append(primary, ms(measured))
			} else {
				compressed = append(compressed, ms(measured))
				primary = append(primary, ms(realTime(mine, req.Approved)))
			}
			from = first.Start
			if last.Attempt > 0 {
				from = last.Start // the approving redelivery; the wait before it is Event Grid's
			}
		}
		if withBreakdown {
			a := union(arm, from, req.Approved)
			t := union(table, from, req.Approved)
			both := union(mergeSpans(arm, table), from, req.Approved)
			total := req.Approved.Sub(from)
			winTotal = append(winTotal, ms(total))
			winARM = append(winARM, ms(a))
			winTable = append(winTable, ms(t))
			winRest = append(winRest, ms(total-both))
			countIn(arm, from, req.Approved, armCalls)
			countIn(table, from, req.Approved, tableCalls)
		}
	}
	switch {
	case sc.timer:
		r.Metrics = append(r.Metrics,
			metric{Name: "created → ARM Approved", Unit: "periods", Stats: summarize(periods)},
			metric{Name: "same, at a " + o.realPeriod.String() + " period (wait × period + tick→Approved)", Unit: "ms", Stats: summarize(realEstimate)},
			metric{Name: "tick start → ARM Approved", Unit: "ms", Stats: summarize(tickToApproved)})
	case scale != 1:
		r.Metrics = append(r.Metrics,
			metric{Name: "event hand-off → ARM Approved, real time (retry waits at Event Grid's schedule)", Unit: "ms", Stats: summarize(primary)},
			metric{Name: "same, as measured at retry scale " + trimFloat(scale), Unit: "ms", Stats: summarize(compressed)},
			metric{Name: "created → ARM Approved, as measured", Unit: "ms", Stats: summarize(created)})
	default:
		r.Metrics = append(r.Metrics,
			metric{Name: "event hand-off → ARM Approved", Unit: "ms", Stats: summarize(primary)},
			metric{Name: "created → ARM Approved", Unit: "ms", Stats: summarize(created)})
	}
	if withBreakdown && len(winTotal) > 0 {
		n := float64(len(winTotal))
		bd.Window = "first event hand-off (or the approving redelivery) → ARM Approved"
		if sc.timer {
			bd.Window = "start of the approving tick → ARM Approved"
			ts := make([]float64, 0, len(ticks))
			for _, t := range ticks {
				if !t.Start.Before(ph.start) && t.End.Before(ph.end) {
					ts = append(ts, t.End.Sub(t.Start).Seconds())
				}
			}
			st := summarize(ts)
			bd.TickSeconds = &st
		}
		bd.TotalMS, bd.ARMMS, bd.TableMS, bd.RestMS = summarize(winTotal), summarize(winARM), summarize(winTable), summarize(winRest)
		bd.ARMCalls, bd.TableCalls = perRequest(armCalls, n), perRequest(tableCalls, n)
		if len(ph.reqs) > 0 {
			k := float64(len(ph.reqs))
			bd.PlsgateCPU, bd.AzuriteCPU = ms(ph.cpuPlsgate)/k, ms(ph.cpuAzure)/k
			bd.WallPerReq = ms(ph.end.Sub(ph.start)) / k
		}
		r.Breakdown = &bd
	}
	return r
}

// attributed is the request's event hand-offs before its approval, oldest
// first: events about its own private endpoint or shared private link
// resource, or about its PLS, raised at or after its creation.
func attributed(hs []handoff, req *request) []handoff {
	var out []handoff
	tok := strings.ToLower(req.Token)
	for _, h := range hs {
		if h.Start.Before(req.Created) || !h.Start.Before(req.Approved) || h.EventTime.Before(req.Created.Truncate(time.Microsecond)) {
			continue
		}
		if h.Token == tok || (h.Token == "" && h.PLS == req.PLS) {
			out = append(out, h)
		}
	}
	return out
}

// realTime scales a measurement made at a compressed retry schedule back to
// Event Grid's: each wait between the approving event's attempts becomes its
// nominal delay; the processing times stay as measured.
func realTime(mine []handoff, approved time.Time) time.Duration {
	last := mine[len(mine)-1]
	var attempts []handoff // the approving event's, by attempt
	for _, h := range mine {
		if h.EventID == last.EventID {
			attempts = append(attempts, h)
		}
	}
	d := attempts[0].Start.Sub(mine[0].Start) // before its first attempt: other events' processing
	for i, h := range attempts {
		if i == len(attempts)-1 {
			d += approved.Sub(h.Start)
			break
		}
		d += h.End.Sub(h.Start) + retryDelay(h.Attempt)
	}
	return d
}

func sortSpans(s []span) { sort.Slice(s, func(i, j int) bool { return s[i].Start.Before(s[j].Start) }) }

func mergeSpans(a, b []span) []span {
	out := append(append(make([]span, 0, len(a)+len(b)), a...), b...)
	sortSpans(out)
	return out
}

// union is the wall time within [from, to] covered by at least one span
// (spans sorted by start).
func union(spans []span, from, to time.Time) time.Duration {
	var total time.Duration
	var curS, curE time.Time
	open := false
	for _, s := range spans {
		if !s.Start.Before(to) {
			break
		}
		st, en := s.Start, s.End
		if st.Before(from) {
			st = from
		}
		if en.After(to) {
			en = to
		}
		if !en.After(st) {
			continue
		}
		if open && !st.After(curE) {
			if en.After(curE) {
				curE = en
			}
			continue
		}
		if open {
			total += curE.Sub(curS)
		}
		curS, curE, open = st, en, true
	}
	if open {
		total += curE.Sub(curS)
	}
	return total
}

// countIn counts the spans starting within [from, to] by label.
func countIn(spans []span, from, to time.Time, into map[string]int) {
	for _, s := range spans {
		if s.Start.Before(from) {
			continue
		}
		if s.Start.After(to) {
			break
		}
		into[s.Label]++
	}
}

func perRequest(m map[string]int, n float64) map[string]float64 {
	out := make(map[string]float64, len(m))
	for k, v := range m {
		out[k] = float64(v) / n
	}
	return out
}

// failReason names why plsgate failed an invocation, by category. The host
// answers Event Grid with "invocation ID of ResourceEvents: handler answered
// 500 …" and a clipped snippet; plsgate's log has the error of that
// invocation (failures: invocation ID → error).
func failReason(hostAnswer string, failures map[string]string) string {
	msg := hostAnswer
	if m := invocationRE.FindStringSubmatch(hostAnswer); m != nil && failures[m[1]] != "" {
		msg = failures[m[1]]
	}
	switch {
	case strings.Contains(msg, "another invocation holds the claim"):
		return "claim held by a concurrent invocation"
	case strings.Contains(msg, "not yet Succeeded"):
		return "shared private link resource not yet Succeeded"
	case strings.Contains(msg, "is not on") && strings.Contains(msg, "yet"):
		return "connection not on the PLS yet"
	case msg == "":
		return "(no message)"
	}
	return clip(msg, 160)
}

var invocationRE = regexp.MustCompile(`invocation ([0-9a-fA-F-]{36})`)

// invocationFailures reads plsgate's JSON log: invocation ID → error of
// each failed invocation.
func invocationFailures(log []byte) map[string]string {
	out := map[string]string{}
	for _, line := range bytes.Split(log, []byte("\n")) {
		if !bytes.Contains(line, []byte(`"invocation failed"`)) {
			continue
		}
		var e struct {
			InvocationID string `json:"invocationId"`
			Error        string `json:"error"`
		}
		if json.Unmarshal(line, &e) == nil && e.InvocationID != "" {
			out[e.InvocationID] = e.Error
		}
	}
	return out
}
