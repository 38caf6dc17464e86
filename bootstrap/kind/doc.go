// Package kind gets ferry a local Kubernetes cluster: it creates (or reuses) a
// kind cluster through sigs.k8s.io/kind/pkg/cluster with ferry's node image,
// waits until it can really run work (node Ready, CoreDNS answers, a PVC
// binds), and deletes it leaving nothing behind.
package kind
