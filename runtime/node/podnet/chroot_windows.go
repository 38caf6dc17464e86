package podnet

import "syscall"

// chrooted: Windows has no chroot; the node agent runs on Linux nodes
// only, and ferry's Windows build carries it only as a subcommand.
func chrooted(string) *syscall.SysProcAttr { return nil }
