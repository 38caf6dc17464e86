package tenants

import (
	"context"
	"errors"
	"fmt"
	"sync"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"

	"github.com/ferry-ml/ferry/runtime/controller"
	"github.com/ferry-ml/ferry/store"
)

// FieldManager owns the fields ferry applies.
const FieldManager = controller.FieldManager

// ErrNamespaceConflict is what a ConflictError is: the tenant's namespace
// name is taken by a namespace that is not ferry's for that tenant.
var ErrNamespaceConflict = errors.New("namespace taken")

// ConflictError says why a tenant's namespace is not adopted. Nothing is
// written to or into such a namespace, and it is never deleted.
type ConflictError struct {
	Tenant, Namespace, Reason string
}

func (e *ConflictError) Error() string {
	return fmt.Sprintf("tenant %s: namespace %s %s: not adopted", e.Tenant, e.Namespace, e.Reason)
}

func (e *ConflictError) Unwrap() error { return ErrNamespaceConflict }

// tenantGetter is what the reconciler needs from the store.
type tenantGetter interface {
	Read(ctx context.Context, fn func(*store.Tx) error) error
	Write(ctx context.Context, fn func(*store.Tx) error) error
}

// Reconciler converges a tenant's Kubernetes objects to the store.
type Reconciler struct {
	Store  tenantGetter
	Client kubernetes.Interface

	conflicts sync.Map // tenant name → *ConflictError
}

// Conflict is the namespace conflict the last reconcile of tenant found
// (a *ConflictError), or nil.
func (r *Reconciler) Conflict(tenant string) error {
	if e, ok := r.conflicts.Load(tenant); ok {
		return e.(*ConflictError)
	}
	return nil
}

// Reconcile is level-based and idempotent: it applies every object of an
// existing tenant (repairing drift) and deletes the namespace of a tenant
// that no longer exists. It adopts only the namespace it created for that
// very tenant (TenantIDLabel = OwnerID), or, once, one an older ferry made
// for it before that label existed (see notProvablyOurs); any other
// namespace of that name is a *ConflictError, left as it is. An error means: try again later.
func (r *Reconciler) Reconcile(ctx context.Context, name string) error {
	var t store.Tenant
	err := r.Store.Read(ctx, func(tx *store.Tx) error {
		var err error
		t, err = tx.Tenant(ctx, name)
		return err
	})
	if errors.Is(err, store.ErrNotFound) {
		r.conflicts.Delete(name)
		return r.deleteNamespace(ctx, name)
	}
	if err != nil {
		return fmt.Errorf("read tenant %s: %w", name, err)
	}
	if err := r.claim(ctx, t); err != nil {
		var conflict *ConflictError
		if errors.As(err, &conflict) {
			r.conflicts.Store(name, conflict)
		}
		return err
	}
	r.conflicts.Delete(name)
	for _, obj := range Objects(t) {
		if err := apply(ctx, r.Client, obj); err != nil {
			return fmt.Errorf("tenant %s: %w", name, err)
		}
	}
	if err := r.labelled(ctx, t); err != nil {
		return fmt.Errorf("tenant %s: %w", name, err)
	}
	return nil
}

// claim makes sure the tenant's namespace is ferry's for this tenant,
// creating it if there is none.
func (r *Reconciler) claim(ctx context.Context, t store.Tenant) error {
	name := Namespace(t.Name)
	if name == ControlPlaneNamespace {
		return &ConflictError{Tenant: t.Name, Namespace: name, Reason: "is the control plane's"}
	}
	nss := r.Client.CoreV1().Namespaces()
	ns, err := nss.Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		// Created, not applied: an apply would take over a namespace made
		// by someone else since the Get. Only the owner labels; the apply
		// that follows declares the rest.
		own := labels(t.Name)
		own[TenantIDLabel] = OwnerID(t)
		ns, err = nss.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: own}}, metav1.CreateOptions{FieldManager: FieldManager})
		if apierrors.IsAlreadyExists(err) {
			ns, err = nss.Get(ctx, name, metav1.GetOptions{})
		}
	}
	if err != nil {
		return fmt.Errorf("tenant %s: namespace %s: %w", t.Name, name, err)
	}
	if ns.DeletionTimestamp != nil {
		return fmt.Errorf("tenant %s: namespace %s is being deleted", t.Name, name)
	}
	if ns.Labels[TenantIDLabel] == "" {
		if why := notProvablyOurs(ns, t); why != "" {
			return &ConflictError{Tenant: t.Name, Namespace: name, Reason: "exists without the " + TenantIDLabel + " label (not relabelled: " + why +
				"; if it is this tenant's: kubectl label namespace " + name + " " + TenantIDLabel + "=" + OwnerID(t) + ")"}
		}
		// Made by an older ferry for this very tenant: the apply that
		// follows adds the label.
		return nil
	}
	if c := ownerConflict(ns, t); c != nil {
		return c
	}
	return nil
}

// labelled clears a tenant's UnlabelledNamespace flag once its namespace
// carries the owner label: an unlabelled namespace is relabelled at most
// once, on the first reconcile after the upgrade.
func (r *Reconciler) labelled(ctx context.Context, t store.Tenant) error {
	if !t.UnlabelledNamespace {
		return nil
	}
	return r.Store.Write(ctx, func(tx *store.Tx) error { return tx.SetNamespaceLabelled(ctx, t.Name) })
}

// deleteNamespace removes a deleted tenant's namespace: only one ferry
// created for a tenant of that name, and never the control plane's.
func (r *Reconciler) deleteNamespace(ctx context.Context, name string) error {
	if Namespace(name) == ControlPlaneNamespace {
		return nil
	}
	ns, err := r.Client.CoreV1().Namespaces().Get(ctx, Namespace(name), metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if ns.Labels[ManagedByLabel] != ManagedBy || ns.Labels[TenantLabel] != name || ns.Labels[TenantIDLabel] == "" {
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

// apply server-side-applies one of a tenant's objects.
func apply(ctx context.Context, cs kubernetes.Interface, obj runtime.Object) error {
	var err error
	switch o := obj.(type) {
	case *corev1.Namespace:
		_, err = controller.Apply(ctx, cs.CoreV1().Namespaces(), o)
	case *corev1.ResourceQuota:
		_, err = controller.Apply(ctx, cs.CoreV1().ResourceQuotas(o.Namespace), o)
	case *corev1.LimitRange:
		_, err = controller.Apply(ctx, cs.CoreV1().LimitRanges(o.Namespace), o)
	case *corev1.ServiceAccount:
		_, err = controller.Apply(ctx, cs.CoreV1().ServiceAccounts(o.Namespace), o)
	case *networkingv1.NetworkPolicy:
		_, err = controller.Apply(ctx, cs.NetworkingV1().NetworkPolicies(o.Namespace), o)
	case *rbacv1.Role:
		_, err = controller.Apply(ctx, cs.RbacV1().Roles(o.Namespace), o)
	case *rbacv1.RoleBinding:
		_, err = controller.Apply(ctx, cs.RbacV1().RoleBindings(o.Namespace), o)
	default:
		return fmt.Errorf("apply: unsupported object %T", obj)
	}
	return err
}
