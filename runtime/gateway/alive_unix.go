//go:build unix

package gateway

import (
	"errors"
	"syscall"
)

// idleState looks at an idle connection without blocking or taking any
// byte (MSG_PEEK | MSG_DONTWAIT): open says the backend has not closed it,
// sent whether bytes arrived that no request asked for.
func idleState(rc syscall.RawConn) (open, sent bool) {
	var n int
	var rerr error
	buf := make([]byte, 1)
	if err := rc.Read(func(fd uintptr) bool {
		n, _, rerr = syscall.Recvfrom(int(fd), buf, syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		return true // never wait for readiness
	}); err != nil {
		return false, false
	}
	switch {
	case errors.Is(rerr, syscall.EAGAIN) || errors.Is(rerr, syscall.EWOULDBLOCK):
		return true, false
	case rerr != nil || n == 0: // a reset, or the backend's FIN
		return false, false
	default:
		return true, true
	}
}
