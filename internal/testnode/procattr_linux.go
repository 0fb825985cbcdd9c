//go:build linux

package testnode

import "syscall"

// sysProcAttr makes the kernel kill a node whose test binary dies, so that
// an aborted test run leaves no process behind.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
