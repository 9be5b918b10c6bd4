//go:build !linux

package policy

func threadCPU() (int64, bool) { return 0, false }
