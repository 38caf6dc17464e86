// Package pipelines is the control plane's pipeline engine: it parses and
// validates pipeline specs, builds their DAG, computes step cache keys,
// builds step pods and drives runs toward completion (a level-based
// controller with its state in SQLite). It runs in `ferry server`.
package pipelines
