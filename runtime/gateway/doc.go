// Package gateway is the `ferry gateway` role: a stateless HTTP front for
// model deployments that never opens the database. It asks the control
// plane for its routing table (GET /api/v1/serving/routes through the typed
// client), routes /serve/<tenant>/<deployment>/... to the deployment's
// revisions by weight (stable and canary), authenticates callers by a
// deployment-scoped API key (compared against the table's hashes, so it
// keeps working while the control plane restarts) or a tenant token
// (checked with the control plane, cached), measures each revision
// (Prometheus counters and histograms on /metrics, and a report pushed to
// the control plane every second), and holds requests for a revision at
// zero replicas in a bounded queue until it is ready or a timeout passes.
package gateway
