//go:build linux

package policy

import "syscall"

// threadCPU returns the CPU time the calling OS thread has used, in nanoseconds, so
// benchmarks on a shared machine can report time on CPU beside wall time.
func threadCPU() (int64, bool) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(1 /* RUSAGE_THREAD */, &ru); err != nil {
		return 0, false
	}
	return ru.Utime.Nano() + ru.Stime.Nano(), true
}
