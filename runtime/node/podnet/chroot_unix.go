//go:build unix

package podnet

import "syscall"

// chrooted runs a command chrooted into root (the node agent runs on
// Linux nodes).
func chrooted(root string) *syscall.SysProcAttr { return &syscall.SysProcAttr{Chroot: root} }
