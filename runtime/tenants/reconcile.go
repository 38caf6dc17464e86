package tenants

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"

	"github.com/ferry-ml/ferry/store"
)

// FieldManager owns the fields ferry applies.
const FieldManager = "ferry"

// tenantGetter is what the reconciler needs from the store.
type tenantGetter interface {
	Read(ctx context.Context, fn func(*store.Tx) error) error
}

// Reconciler converges a tenant's Kubernetes objects to the store.
type Reconciler struct {
	Store  tenantGetter
	Client kubernetes.Interface
}

// Reconcile is level-based and idempotent: it applies every object of an
// existing tenant (repairing drift) and deletes the namespace of a tenant
// that no longer exists. An error means: try again later.
func (r *Reconciler) Reconcile(ctx context.Context, name string) error {
	var t store.Tenant
	err := r.Store.Read(ctx, func(tx *store.Tx) error {
		var err error
		t, err = tx.Tenant(ctx, name)
		return err
	})
	if errors.Is(err, store.ErrNotFound) {
		return r.deleteNamespace(ctx, name)
	}
	if err != nil {
		return fmt.Errorf("read tenant %s: %w", name, err)
	}
	for _, obj := range Objects(t) {
		if err := apply(ctx, r.Client, obj); err != nil {
			return fmt.Errorf("tenant %s: %w", name, err)
		}
	}
	return nil
}

// deleteNamespace removes a deleted tenant's namespace, but only one ferry manages for that tenant.
func (r *Reconciler) deleteNamespace(ctx context.Context, name string) error {
	ns, err := r.Client.CoreV1().Namespaces().Get(ctx, Namespace(name), metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if ns.Labels[ManagedByLabel] != ManagedBy || ns.Labels[TenantLabel] != name {
		return nil
	}
	if ns.DeletionTimestamp != nil {
		return nil
	}
	err = r.Client.CoreV1().Namespaces().Delete(ctx, ns.Name, metav1.DeleteOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	return err
}

// apply server-side-applies one object with ferry's field manager.
func apply(ctx context.Context, cs kubernetes.Interface, obj runtime.Object) error {
	data, err := json.Marshal(obj)
	if err != nil {
		return err
	}
	opts := metav1.PatchOptions{FieldManager: FieldManager, Force: new(true)}
	pt := types.ApplyPatchType
	switch o := obj.(type) {
	case *corev1.Namespace:
		_, err = cs.CoreV1().Namespaces().Patch(ctx, o.Name, pt, data, opts)
	case *corev1.ResourceQuota:
		_, err = cs.CoreV1().ResourceQuotas(o.Namespace).Patch(ctx, o.Name, pt, data, opts)
	case *corev1.LimitRange:
		_, err = cs.CoreV1().LimitRanges(o.Namespace).Patch(ctx, o.Name, pt, data, opts)
	case *corev1.ServiceAccount:
		_, err = cs.CoreV1().ServiceAccounts(o.Namespace).Patch(ctx, o.Name, pt, data, opts)
	case *networkingv1.NetworkPolicy:
		_, err = cs.NetworkingV1().NetworkPolicies(o.Namespace).Patch(ctx, o.Name, pt, data, opts)
	case *rbacv1.Role:
		_, err = cs.RbacV1().Roles(o.Namespace).Patch(ctx, o.Name, pt, data, opts)
	case *rbacv1.RoleBinding:
		_, err = cs.RbacV1().RoleBindings(o.Namespace).Patch(ctx, o.Name, pt, data, opts)
	default:
		return fmt.Errorf("apply: unsupported object %T", obj)
	}
	if err != nil {
		return fmt.Errorf("apply %s: %w", describe(obj), err)
	}
	return nil
}

func describe(obj runtime.Object) string {
	m, _ := obj.(metav1.Object)
	gvk := obj.GetObjectKind().GroupVersionKind()
	if m == nil {
		return gvk.Kind
	}
	if m.GetNamespace() == "" {
		return gvk.Kind + " " + m.GetName()
	}
	return gvk.Kind + " " + m.GetNamespace() + "/" + m.GetName()
}
