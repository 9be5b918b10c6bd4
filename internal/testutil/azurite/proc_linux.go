//go:build linux

package azurite

import "syscall"

// Own process group (killed as a whole) and SIGKILL if the test binary dies without running Main's
// cleanup (go test -timeout panics, crashes).
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
