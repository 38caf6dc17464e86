package tenants

import (
	"encoding/json"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/ferry-ml/ferry/store"
)

// clockSkew is how far the API server's clock (a namespace's
// creationTimestamp) may be behind the control plane's (a tenant's
// CreatedAt) for a namespace still to count as made after its tenant.
const clockSkew = 2 * time.Second

// notProvablyOurs says why ns, a tenant's namespace without TenantIDLabel,
// is not provably the one an older ferry made for tenant t ("" when it is,
// and may be relabelled). Before the owner label existed ferry applied the
// namespace (server-side apply, field manager "ferry", labels
// ManagedByLabel=ferry and TenantLabel=<name>) right after writing the
// tenant's row. A namespace passes only when all of these hold:
//
//  1. the tenant predates the label (store.Tenant.UnlabelledNamespace: it
//     existed when migration 0031 ran); ferry creates every later tenant's
//     namespace with the label, so an unlabelled one is never that tenant's;
//  2. its labels say ferry made it for a tenant of this name;
//  3. its creationTimestamp, which the API server sets and no client can,
//     is not before the tenant was created: an older namespace was made for
//     someone else, a deleted tenant of the same name included;
//  4. ferry's field manager owns both labels by apply and no other manager
//     owns either: a namespace labelled by hand (kubectl label, another
//     tool) was not made by ferry.
//
// (4) is evidence, not proof (a client may name itself "ferry"); (1) and (3)
// are what no one but ferry and the API server could have arranged. What
// none of it can rule out: a namespace someone else made without labels in
// the moment between an older ferry writing the tenant and applying its
// namespace, which that ferry itself would have taken over then.
func notProvablyOurs(ns *corev1.Namespace, t store.Tenant) string {
	switch {
	case !t.UnlabelledNamespace:
		return "the tenant was made after the label existed, so ferry made its namespace with it"
	case ns.Labels[ManagedByLabel] != ManagedBy || ns.Labels[TenantLabel] != t.Name:
		return "its labels do not say ferry made it for this tenant"
	case ns.CreationTimestamp.Time.Before(t.CreatedAt.Truncate(time.Second).Add(-clockSkew)):
		return "it was created before the tenant (" + ns.CreationTimestamp.UTC().Format(time.RFC3339) + " < " + t.CreatedAt.UTC().Format(time.RFC3339) + ")"
	}
	ferry := 0
	for _, m := range ns.ManagedFields {
		owns := ownedLabels(m)
		if !owns[ManagedByLabel] && !owns[TenantLabel] {
			continue
		}
		if m.Manager != FieldManager || m.Operation != metav1.ManagedFieldsOperationApply {
			return "its ferry labels were set by " + m.Manager + " (" + string(m.Operation) + "), not by ferry's apply"
		}
		if owns[ManagedByLabel] && owns[TenantLabel] {
			ferry++
		}
	}
	if ferry == 0 {
		return "its ferry labels were not set by ferry's apply"
	}
	return ""
}

// ownedLabels is the set of label keys a managed-fields entry owns.
func ownedLabels(m metav1.ManagedFieldsEntry) map[string]bool {
	if m.FieldsV1 == nil {
		return nil
	}
	var f struct {
		Metadata struct {
			Labels map[string]json.RawMessage `json:"f:labels"`
		} `json:"f:metadata"`
	}
	if json.Unmarshal(m.FieldsV1.GetRawBytes(), &f) != nil {
		return nil
	}
	out := make(map[string]bool, len(f.Metadata.Labels))
	for k := range f.Metadata.Labels {
		if len(k) > 2 && k[:2] == "f:" {
			out[k[2:]] = true
		}
	}
	return out
}
