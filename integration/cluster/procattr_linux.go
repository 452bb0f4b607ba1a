package cluster

import "syscall"

// procAttr makes each server die with the process that started it (when
// that thread exits, which for a Go program is when it exits), so a test
// binary that panics or times out leaves no server behind. Its own process
// group keeps a Ctrl-C at the terminal from reaching the servers directly:
// the harness decides how they stop.
func procAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
}
