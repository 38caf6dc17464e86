// Package tenants turns tenants in the store into Kubernetes objects: a
// namespace ferry-<tenant> with a ResourceQuota (cpu, memory, nvidia.com/gpu),
// a LimitRange, a default-deny NetworkPolicy plus a same-tenant allow, and a
// workload ServiceAccount with minimal RBAC. The reconciler is level-based and
// idempotent (server-side apply), repairs drift and deletes what a deleted
// tenant leaves behind.
package tenants
