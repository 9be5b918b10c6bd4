//go:build linux

package main

import (
	"os"
	"syscall"
)

// plsgate runs in its own process group (a terminal's Ctrl-C reaches the
// bench, which stops it in order) and gets SIGTERM if the bench dies first.
func childProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
}

func interrupt(p *os.Process) error { return p.Signal(os.Interrupt) }
