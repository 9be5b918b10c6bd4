package config

import (
	"testing"
	"time"
)

func TestScheduleShortestGap(t *testing.T) {
	for _, tc := range []struct {
		expr string
		want time.Duration
	}{
		{"0 */2 * * * *", 2 * time.Minute},
		{"0 */5 * * * *", 5 * time.Minute},
		{"*/10 * * * * *", 10 * time.Second},
		{"0 0 * * * *", time.Hour},
		{"0 0,50 * * * *", 10 * time.Minute},        // 00:50 → 01:00
		{"0 30 9 * * Mon-Fri", 24 * time.Hour},      // weekdays: Mon→Tue
		{"0 0 12 * * 1", 7 * 24 * time.Hour},        // weekly
		{"0 0 0 1 Jan,Jul *", 181 * 24 * time.Hour}, // 1 Jan → 1 Jul in a common year
		{"0 0 0 30 2 *", 0},                         // never fires
	} {
		s, err := ParseSchedule(tc.expr)
		if err != nil {
			t.Fatalf("%q: %v", tc.expr, err)
		}
		if got := s.ShortestGap(); got != tc.want {
			t.Errorf("%q: shortest gap %v, want %v", tc.expr, got, tc.want)
		}
	}
}

func TestScheduleRefusesBadFields(t *testing.T) {
	for _, expr := range []string{"0 */5 * * *", "61 * * * * *", "0 */0 * * * *", "0 5-1 * * * *", "0 * * * Foo *", "x * * * * *"} {
		if _, err := ParseSchedule(expr); err == nil {
			t.Errorf("%q: accepted", expr)
		}
	}
}
