//go:build unix && !linux

package cluster

import "syscall"

// procAttr puts each server in its own process group. Without Linux's
// parent-death signal, only Close and the signal handler of Shared stop the
// servers; a crashed test binary can leave them running.
func procAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
