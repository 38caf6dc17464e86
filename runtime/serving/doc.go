// Package serving runs model deployments on the cluster: each revision (a
// model version served) becomes a Deployment and a Service in the tenant's
// namespace, under its quota, running as the tenant's workload account.
// The controller takes the gateways' measurements (pushed to the control
// plane, see Stats), decides each revision's replicas (Autoscale) and each
// canary's fate (Decide: advance, hold, promote, roll back) and records
// every decision as an event and an audit row.
package serving
