package controller

import (
	"context"
	"encoding/json"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
)

// FieldManager owns every field ferry applies.
const FieldManager = "ferry"

// Object is a typed Kubernetes object with its apiVersion and kind set.
type Object interface {
	metav1.Object
	runtime.Object
}

// Patcher is the Patch method every typed client of client-go has
// (Client.CoreV1().Services(ns), Client.BatchV1().Jobs(ns), ...).
type Patcher[T any] interface {
	Patch(ctx context.Context, name string, pt types.PatchType, data []byte, opts metav1.PatchOptions, subresources ...string) (T, error)
}

// Apply writes obj the one way ferry writes objects: server-side apply with
// FieldManager, forced, so ferry's declared fields win over other managers'
// and the fields it stops declaring are removed. obj is the whole intent
// (apply it in full, never a part: a field left out is given up).
func Apply[T any](ctx context.Context, c Patcher[T], obj Object) (T, error) {
	var zero T
	gvk := obj.GetObjectKind().GroupVersionKind()
	if gvk.Kind == "" || gvk.Version == "" {
		return zero, fmt.Errorf("apply %T %s: apiVersion and kind must be set", obj, obj.GetName())
	}
	data, err := json.Marshal(obj)
	if err != nil {
		return zero, fmt.Errorf("apply %s %s: %w", gvk.Kind, describe(obj), err)
	}
	out, err := c.Patch(ctx, obj.GetName(), types.ApplyPatchType, data, metav1.PatchOptions{FieldManager: FieldManager, Force: new(true)})
	if err != nil {
		return zero, fmt.Errorf("apply %s %s: %w", gvk.Kind, describe(obj), err)
	}
	return out, nil
}

func describe(obj Object) string {
	if obj.GetNamespace() == "" {
		return obj.GetName()
	}
	return obj.GetNamespace() + "/" + obj.GetName()
}

// CreatorPatcher is a typed client with Create and Patch.
type CreatorPatcher[T Object] interface {
	Patcher[T]
	Create(ctx context.Context, obj T, opts metav1.CreateOptions) (T, error)
}

// CreateOrApply writes obj that is most likely new (a pod with a name
// made for one attempt): a plain create, which spares the API server the
// apply's read and merge, and Apply when obj exists already (a restarted
// server, a pass that raced its own create), so the result is Apply's.
func CreateOrApply[T Object](ctx context.Context, c CreatorPatcher[T], obj T) (T, error) {
	gvk := obj.GetObjectKind().GroupVersionKind()
	out, err := c.Create(ctx, obj, metav1.CreateOptions{FieldManager: FieldManager})
	if err == nil {
		return out, nil
	}
	if !apierrors.IsAlreadyExists(err) {
		var zero T
		return zero, fmt.Errorf("create %s %s: %w", gvk.Kind, describe(obj), err)
	}
	return Apply(ctx, c, obj)
}
