package hostemu

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"
)

// timerState is the schedule monitor's record for one function, plus the singleton lock
// (the host runs one tick of a timer function at a time).
type timerState struct {
	mu     sync.Mutex
	status *scheduleStatus // nil until the first run
}

type scheduleStatus struct{ last, next, lastUpdated time.Time }

type timerInfo struct {
	Schedule struct {
		AdjustForDST bool `json:"AdjustForDST"`
	} `json:"Schedule"`
	ScheduleStatus *timerStatusJSON `json:"ScheduleStatus"`
	IsPastDue      bool             `json:"IsPastDue"`
}

type timerStatusJSON struct {
	Last        string `json:"Last"`
	Next        string `json:"Next"`
	LastUpdated string `json:"LastUpdated"`
}

// FireTimer runs one tick of a timerTrigger function, as the timer listener does. With
// useMonitor on, the first tick carries ScheduleStatus{Last: never, Next: now} and later
// ticks the status the previous tick recorded; with it off, ScheduleStatus is null.
func (h *Host) FireTimer(ctx context.Context, function string, pastDue bool) error {
	fn, err := h.function(function, "timerTrigger")
	if err != nil {
		return err
	}
	h.mu.Lock()
	st := h.timers[fn.name]
	if st == nil {
		st = &timerState{}
		h.timers[fn.name] = st
	}
	h.mu.Unlock()

	st.mu.Lock()
	defer st.mu.Unlock()
	now := h.opts.Now()
	period := fn.period
	if period == 0 {
		period = h.opts.TimerPeriod
	}
	useMonitor := fn.trigger.UseMonitor == nil || *fn.trigger.UseMonitor

	var info timerInfo
	info.Schedule.AdjustForDST = fn.period == 0 // cron schedules adjust; constant periods do not
	info.IsPastDue = pastDue
	if useMonitor {
		s := st.status
		if s == nil {
			s = &scheduleStatus{next: now}
		}
		info.ScheduleStatus = &timerStatusJSON{Last: dotnetTime(s.last), Next: dotnetTime(s.next), LastUpdated: dotnetTime(s.lastUpdated)}
	}
	value, err := marshal(info)
	if err != nil {
		return fmt.Errorf("encode timer info: %w", err)
	}
	inv, _ := h.invoke(ctx, fn, map[string]json.RawMessage{fn.trigger.Name: value}, map[string]json.RawMessage{"sys": h.sysMetadata(fn)})
	if useMonitor {
		// The monitor records the tick whether or not the function succeeded: timers do
		// not retry, the next tick is the retry.
		st.status = &scheduleStatus{last: now, next: now.Add(period), lastUpdated: now}
	}
	if inv.Err != nil {
		return fmt.Errorf("timer %s, invocation %s: %w", fn.name, inv.ID, inv.Err)
	}
	return nil
}
