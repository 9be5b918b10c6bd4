//go:build !unix

package azurite

import (
	"os"
	"syscall"
)

func sysProcAttr() *syscall.SysProcAttr          { return nil }
func terminate(p *os.Process, _ int) error       { return p.Kill() }
func kill(p *os.Process, _ int) error            { return p.Kill() }
func lockFile(string) (unlock func(), err error) { return func() {}, nil }
