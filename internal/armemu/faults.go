package armemu

import (
	"encoding/json"
	"fmt"
	"hash/fnv"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Duration is a time.Duration that reads and writes JSON as "150ms".
type Duration time.Duration

func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		var n int64
		if err2 := json.Unmarshal(b, &n); err2 != nil {
			return fmt.Errorf("duration: want a string like \"150ms\" or nanoseconds: %w", err)
		}
		*d = Duration(n)
		return nil
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("duration %q: %w", s, err)
	}
	*d = Duration(v)
	return nil
}

// FaultRule injects faults into one REST operation ("*" = every operation
// without a rule of its own).
type FaultRule struct {
	Operation string   `json:"operation"`
	Latency   Duration `json:"latency,omitempty"`
	// Rate429, Rate500, Rate503 are probabilities (their sum ≤ 1).
	Rate429 float64 `json:"rate429,omitempty"`
	Rate500 float64 `json:"rate500,omitempty"`
	Rate503 float64 `json:"rate503,omitempty"`
	// RetryAfter (seconds) is sent with every 429 (ARM always sends it) and
	// with 503 when > 0.
	RetryAfter int `json:"retryAfter,omitempty"`
	// Script fixes the status of the first calls after SetFaults (0 = no
	// fault), e.g. [503, 503] fails the first two calls.
	Script []int `json:"script,omitempty"`
}

// Faults is the fault configuration. Decisions are a pure function of (Seed,
// operation, n-th call of that operation since SetFaults), so the same seed
// gives the same sequence whatever other operations interleave.
type Faults struct {
	Seed  uint64      `json:"seed"`
	Rules []FaultRule `json:"rules"`
}

// Validate checks rates and scripted statuses.
func (f Faults) Validate() error {
	for i, r := range f.Rules {
		if r.Operation == "" {
			return fmt.Errorf("fault rule %d: operation is required (an operationId or \"*\")", i)
		}
		for _, x := range []float64{r.Rate429, r.Rate500, r.Rate503} {
			if x < 0 || x > 1 {
				return fmt.Errorf("fault rule %d (%s): rate %v not in [0,1]", i, r.Operation, x)
			}
		}
		if r.Rate429+r.Rate500+r.Rate503 > 1+1e-9 {
			return fmt.Errorf("fault rule %d (%s): rates add up to more than 1", i, r.Operation)
		}
		for _, s := range r.Script {
			if s != 0 && (s < 400 || s > 599) {
				return fmt.Errorf("fault rule %d (%s): scripted status %d is not 0 or 4xx/5xx", i, r.Operation, s)
			}
		}
		if r.Latency < 0 || r.RetryAfter < 0 {
			return fmt.Errorf("fault rule %d (%s): negative latency or retryAfter", i, r.Operation)
		}
	}
	return nil
}

type faultInjector struct {
	mu    sync.Mutex
	cfg   Faults
	calls map[string]int
}

func newFaultInjector() *faultInjector { return &faultInjector{calls: map[string]int{}} }

func (f *faultInjector) set(cfg Faults) {
	f.mu.Lock()
	f.cfg = cfg
	f.calls = map[string]int{}
	f.mu.Unlock()
}

func (f *faultInjector) get() Faults {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.cfg
}

type faultDecision struct {
	latency    time.Duration
	status     int
	retryAfter int
}

func (f *faultInjector) decide(op string) *faultDecision {
	f.mu.Lock()
	defer f.mu.Unlock()
	var rule *FaultRule
	for i := range f.cfg.Rules {
		if strings.EqualFold(f.cfg.Rules[i].Operation, op) {
			rule = &f.cfg.Rules[i]
			break
		}
	}
	if rule == nil {
		for i := range f.cfg.Rules {
			if f.cfg.Rules[i].Operation == "*" {
				rule = &f.cfg.Rules[i]
				break
			}
		}
	}
	if rule == nil {
		return nil
	}
	n := f.calls[op]
	f.calls[op] = n + 1
	d := &faultDecision{latency: time.Duration(rule.Latency), retryAfter: rule.RetryAfter}
	if n < len(rule.Script) {
		d.status = rule.Script[n]
		return d
	}
	u := uniform(f.cfg.Seed, op, n)
	switch {
	case u < rule.Rate429:
		d.status = http.StatusTooManyRequests
	case u < rule.Rate429+rule.Rate500:
		d.status = http.StatusInternalServerError
	case u < rule.Rate429+rule.Rate500+rule.Rate503:
		d.status = http.StatusServiceUnavailable
	}
	return d
}

// uniform maps (seed, op, n) to [0,1) with splitmix64.
func uniform(seed uint64, op string, n int) float64 {
	h := fnv.New64a()
	_, _ = h.Write([]byte(strings.ToLower(op)))
	x := seed ^ h.Sum64() ^ (uint64(n)+1)*0x9E3779B97F4A7C15
	x ^= x >> 30
	x *= 0xBF58476D1CE4E5B9
	x ^= x >> 27
	x *= 0x94D049BB133111EB
	x ^= x >> 31
	return float64(x>>11) / (1 << 53)
}

func writeFault(w http.ResponseWriter, f *faultDecision, sub string, r *http.Request) {
	switch f.status {
	case http.StatusTooManyRequests:
		w.Header().Set("Retry-After", strconv.Itoa(f.retryAfter))
		kind := "read"
		if r.Method != http.MethodGet {
			kind = "write"
		}
		writeError(w, errf(f.status, CodeThrottled,
			"Number of '%s' requests for subscription '%s' exceeded the limit. Please try again after '%d' seconds after the additional tokens are available. Refer to https://aka.ms/arm-throttling for additional information.", kind, sub, f.retryAfter))
	case http.StatusServiceUnavailable:
		if f.retryAfter > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(f.retryAfter))
		}
		writeError(w, errf(f.status, CodeServiceUnavailable, "The service is temporarily unavailable. Please try again later."))
	case http.StatusInternalServerError:
		writeError(w, errf(f.status, CodeInternalServerError, "Encountered internal server error. Please try again later."))
	default:
		writeError(w, errf(f.status, strings.ReplaceAll(http.StatusText(f.status), " ", ""), "Injected fault %d.", f.status))
	}
}

// SetFaults replaces the fault configuration and restarts its call numbering.
func (e *Emulator) SetFaults(f Faults) error {
	if err := f.Validate(); err != nil {
		return fmt.Errorf("set faults: %w", err)
	}
	f.Rules = append([]FaultRule(nil), f.Rules...)
	e.faults.set(f)
	return nil
}

// GetFaults returns the fault configuration.
func (e *Emulator) GetFaults() Faults { return e.faults.get() }
