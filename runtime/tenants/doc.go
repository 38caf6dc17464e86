// Package tenants turns tenants in the store into Kubernetes objects: a
// namespace ferry-<tenant> with a ResourceQuota (cpu, memory, nvidia.com/gpu),
// a LimitRange, a default-deny NetworkPolicy plus a same-tenant allow, and a
// workload ServiceAccount with minimal RBAC. The reconciler is level-based and
// idempotent (server-side apply), repairs drift and deletes what a deleted
// tenant leaves behind. It adopts only the namespace it created for that very
// tenant (labelled ferry.io/tenant-id with the tenant's OwnerID): any other
// namespace of that name is a ConflictError, left alone, and the control
// plane's namespace is never written to or deleted.
package tenants
