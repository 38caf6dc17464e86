// Package controller holds what every ferry controller shares: the loop that
// runs a level-based sync (Loop: woken by Poke, coalesced, resynced
// periodically, backed off exponentially after errors, stopped by its
// context), a per-key work queue on the same terms (Queue), and the one way
// objects are written to Kubernetes (Apply: server-side apply with field
// manager "ferry").
package controller
