//go:build !linux

package testnode

import "syscall"

func sysProcAttr() *syscall.SysProcAttr { return nil }
