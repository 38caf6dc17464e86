// Package e2e drives the built ferry binary against real kind clusters made
// from ferry's own node image. Run with `make e2e` (build tag e2e).
// FERRY_E2E_KEEP=1 keeps the cluster after a failure; logs are exported to
// e2e/artifacts either way when a test fails.
package e2e
