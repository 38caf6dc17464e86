//go:build !unix

package gateway

import "syscall"

// idleState: without a non-blocking peek (MSG_PEEK | MSG_DONTWAIT), an idle
// connection is taken as open and quiet; a closed one fails its request,
// which is sent again on a new connection when it may be (retryable).
func idleState(syscall.RawConn) (open, sent bool) { return true, false }
