//go:build !unix

package main

import (
	"os"
	"syscall"
)

func childProcAttr() *syscall.SysProcAttr { return nil }

func interrupt(p *os.Process) error { return p.Kill() }
