//go:build linux

package azurite

import "syscall"

// Own process group (killed as a whole) and SIGKILL if the process that started Azurite dies
// without stopping it (a crashed demo, a test binary killed by -timeout).
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
