package config

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Schedule is a parsed six-field NCRONTAB expression as the Functions timer
// trigger reads it: {second} {minute} {hour} {day} {month} {day-of-week}, each
// a list of values, ranges and steps (`*`, `5`, `1-5`, `*/10`, `0-30/5`, `1,15`),
// months and days of the week also by their English three-letter names.
// Source: azure-docs articles/azure-functions/functions-bindings-timer.md
// ("NCRONTAB expressions"; the fields and the supported forms).
type Schedule struct {
	sec, min, hour, dom, mon, dow []bool
	domStar, dowStar              bool
}

var cronFields = []struct {
	name     string
	lo, hi   int
	names    []string
	namesOff int
}{
	{"second", 0, 59, nil, 0},
	{"minute", 0, 59, nil, 0},
	{"hour", 0, 23, nil, 0},
	{"day", 1, 31, nil, 0},
	{"month", 1, 12, []string{"jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"}, 1},
	{"day of week", 0, 6, []string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}, 0},
}

// ParseSchedule reads a six-field NCRONTAB expression.
func ParseSchedule(expr string) (*Schedule, error) {
	f := strings.Fields(expr)
	if len(f) != 6 {
		return nil, fmt.Errorf("want six fields (seconds first), found %d", len(f))
	}
	sets := make([][]bool, 6)
	for i, field := range f {
		set, err := parseCronField(field, i)
		if err != nil {
			return nil, fmt.Errorf("%s field %q: %w", cronFields[i].name, field, err)
		}
		sets[i] = set
	}
	return &Schedule{sec: sets[0], min: sets[1], hour: sets[2], dom: sets[3], mon: sets[4], dow: sets[5],
		domStar: f[3] == "*", dowStar: f[5] == "*"}, nil
}

func parseCronField(field string, i int) ([]bool, error) {
	spec := cronFields[i]
	set := make([]bool, spec.hi+1)
	for _, part := range strings.Split(field, ",") {
		rng, step := part, 1
		if j := strings.IndexByte(part, '/'); j >= 0 {
			n, err := strconv.Atoi(part[j+1:])
			if err != nil || n < 1 {
				return nil, fmt.Errorf("step %q is not a positive number", part[j+1:])
			}
			rng, step = part[:j], n
		}
		lo, hi := spec.lo, spec.hi
		if rng != "*" {
			a, b, isRange := strings.Cut(rng, "-")
			var err error
			if lo, err = cronValue(a, i); err != nil {
				return nil, err
			}
			hi = lo
			if isRange {
				if hi, err = cronValue(b, i); err != nil {
					return nil, err
				}
			} else if step > 1 {
				hi = spec.hi // "5/10" means from 5 on
			}
			if hi < lo {
				return nil, fmt.Errorf("range %q runs backwards", rng)
			}
		}
		for v := lo; v <= hi; v += step {
			set[v] = true
		}
	}
	return set, nil
}

func cronValue(s string, i int) (int, error) {
	spec := cronFields[i]
	for k, n := range spec.names {
		if strings.EqualFold(s, n) {
			return k + spec.namesOff, nil
		}
	}
	v, err := strconv.Atoi(s)
	if err != nil || v < spec.lo || v > spec.hi {
		return 0, fmt.Errorf("%q is not a value from %d to %d", s, spec.lo, spec.hi)
	}
	return v, nil
}

// day reports whether the schedule runs on day d. As in cron, when both the
// day-of-month and the day-of-week fields are restricted, either may match.
func (s *Schedule) day(d time.Time) bool {
	if !s.mon[int(d.Month())] {
		return false
	}
	dom, dow := s.dom[d.Day()], s.dow[int(d.Weekday())]
	switch {
	case s.domStar && s.dowStar, s.dowStar:
		return dom
	case s.domStar:
		return dow
	default:
		return dom || dow
	}
}

// ShortestGap is the shortest time between two consecutive occurrences, or 0
// when the schedule never fires. Every day the schedule runs fires at the same
// times of day, so the gap is the smallest step within one day or from one
// running day's last time to the next running day's first; eight years of days
// cover leap days and every weekday/date combination.
func (s *Schedule) ShortestGap() time.Duration {
	var times []int // seconds of the day, ascending
	for h := 0; h < 24; h++ {
		for m := 0; m < 60; m++ {
			for sec := 0; sec < 60; sec++ {
				if s.hour[h] && s.min[m] && s.sec[sec] {
					times = append(times, h*3600+m*60+sec)
				}
			}
		}
	}
	if len(times) == 0 {
		return 0
	}
	best := -1
	for k := 1; k < len(times); k++ {
		if g := times[k] - times[k-1]; best < 0 || g < best {
			best = g
		}
	}
	start := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	prev := -1
	for d := 0; d < 8*366; d++ {
		if !s.day(start.AddDate(0, 0, d)) {
			continue
		}
		if prev >= 0 {
			if g := (d-prev)*86400 - times[len(times)-1] + times[0]; best < 0 || g < best {
				best = g
			}
		}
		prev = d
	}
	if best < 0 {
		if prev < 0 {
			return 0 // never runs (e.g. 30 February)
		}
		best = 8 * 366 * 86400 // one occurrence in eight years: no shorter gap
	}
	return time.Duration(best) * time.Second
}
