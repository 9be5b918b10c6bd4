package main

import (
	"bufio"
	"os"
	"strconv"
	"strings"
)

// selfPeakRSS is this process's peak resident set size in bytes: VmHWM from
// /proc/self/status (Linux), else 0. Not getrusage: Linux carries the
// pre-exec high-water mark into ru_maxrss, and the child was started from
// the parent, which holds the emulated world and the store — its RSS would be
// reported instead of the scanner's.
func selfPeakRSS() int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			if err != nil {
				return 0
			}
			return kb * 1024
		}
	}
	return 0
}
