//go:build unix

package azurite

import (
	"os"
	"syscall"
)

// terminate and kill signal the whole process group (Setpgid in sysProcAttr), so no node process is
// orphaned. Azurite saves its database only on SIGINT (SIGTERM exits at once and loses up to 5 s of
// writes), and a restart on the same data directory must find it again.
func terminate(_ *os.Process, pid int) error { return syscall.Kill(-pid, syscall.SIGINT) }
func kill(_ *os.Process, pid int) error      { return syscall.Kill(-pid, syscall.SIGKILL) }

// lockFile takes an exclusive advisory lock, blocking until it is free.
func lockFile(path string) (unlock func(), err error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, err
	}
	return func() {
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}
