//go:build !unix

package demo

import (
	"os"
	"syscall"
)

func childProcAttr() *syscall.SysProcAttr { return nil }

// interrupt: no SIGINT here; plsgate loses only queued notifications.
func interrupt(p *os.Process) error { return p.Kill() }
