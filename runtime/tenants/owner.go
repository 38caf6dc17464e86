package tenants

import (
	"context"
	"errors"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/ferry-ml/ferry/store"
)

// ErrNamespaceMissing is what CheckNamespace says of a tenant whose
// namespace does not exist (yet: the tenants reconciler makes it).
var ErrNamespaceMissing = errors.New("namespace does not exist yet")

// NamespaceObject is the namespace as ferry creates it for t, owner label
// included (tests put it into fake clusters).
func NamespaceObject(t store.Tenant) *corev1.Namespace {
	return Objects(t)[0].(*corev1.Namespace)
}

// ownerConflict says why ns is not the namespace ferry made for t (nil
// when it is). It reads labels only.
func ownerConflict(ns *corev1.Namespace, t store.Tenant) *ConflictError {
	name := Namespace(t.Name)
	switch id := ns.Labels[TenantIDLabel]; {
	case name == ControlPlaneNamespace:
		return &ConflictError{Tenant: t.Name, Namespace: name, Reason: "is the control plane's"}
	case id == "":
		return &ConflictError{Tenant: t.Name, Namespace: name, Reason: "exists without the " + TenantIDLabel + " label"}
	case id != OwnerID(t):
		return &ConflictError{Tenant: t.Name, Namespace: name, Reason: "belongs to another tenant (" + TenantIDLabel + "=" + id + ")"}
	}
	return nil
}

// CheckNamespace reads tenant t's namespace and says whether ferry may
// write into it. Every controller that creates objects in a tenant's
// namespace asks first: nil when it is the namespace ferry made for t (its
// TenantIDLabel is OwnerID(t)); an error wrapping ErrNamespaceMissing when
// there is none yet; a *ConflictError (ErrNamespaceConflict) when it is not
// t's, missing label or another tenant's id; an error wrapping neither when
// the API server could not answer or the namespace is being deleted.
func CheckNamespace(ctx context.Context, c kubernetes.Interface, t store.Tenant) error {
	name := Namespace(t.Name)
	if name == ControlPlaneNamespace {
		return &ConflictError{Tenant: t.Name, Namespace: name, Reason: "is the control plane's"}
	}
	ns, err := c.CoreV1().Namespaces().Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return fmt.Errorf("namespace %s: %w", name, ErrNamespaceMissing)
	}
	if err != nil {
		return fmt.Errorf("namespace %s: %w", name, err)
	}
	if c := ownerConflict(ns, t); c != nil {
		return c
	}
	if ns.DeletionTimestamp != nil {
		return fmt.Errorf("namespace %s is being deleted", name)
	}
	return nil
}

// NamespaceReason is the reason a controller writes on a job or notebook
// it creates nothing for because CheckNamespace said err.
func NamespaceReason(err error) string {
	var conflict *ConflictError
	switch {
	case errors.As(err, &conflict):
		return "refused: namespace " + conflict.Namespace + " " + conflict.Reason +
			": it is not ferry's namespace for tenant " + conflict.Tenant + ", so nothing is created in it (an admin resolves the conflict; this goes on by itself once it is)"
	case errors.Is(err, ErrNamespaceMissing):
		return "waiting: " + err.Error() + " (the tenant's namespace is being made)"
	default:
		return "waiting: " + err.Error()
	}
}
