//go:build linux

package demo

import (
	"os"
	"syscall"
)

// plsgate runs in its own process group (a terminal's Ctrl-C reaches the demo,
// which stops the pieces in order) and gets SIGTERM if the demo dies first.
func childProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
}

func interrupt(p *os.Process) error { return p.Signal(os.Interrupt) }
