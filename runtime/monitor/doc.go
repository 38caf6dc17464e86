// Package monitor measures what every ferry workload uses and says why it
// fails. The Sampler asks the kubelet of each node that runs ferry pods
// for its Summary API through the API server's node proxy (no
// metrics-server), maps the pods to ferry objects by their labels (job,
// notebook, pipeline step, serving revision), and writes per-object
// series of CPU, memory working set and, where the node exposes them,
// accelerators, downsampled into minute and quarter-hour buckets with a
// retention (store/usage.go). Package reason turns pod states and Warning
// events into plain-word reasons; the sampler's informers feed it.
// Quota arithmetic (QuotaUse) and the platform's Prometheus metrics
// (Metrics) live here too.
package monitor
