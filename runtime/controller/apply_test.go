package controller

import (
	"errors"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
)

func configMap(data map[string]string) *corev1.ConfigMap {
	return &corev1.ConfigMap{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"},
		ObjectMeta: metav1.ObjectMeta{Name: "c", Namespace: "ns"}, Data: data}
}

func TestApplyCreatesUpdatesAndOwnsTheFieldsAsFerry(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	cs := fake.NewClientset()
	cms := cs.CoreV1().ConfigMaps("ns")
	if _, err := Apply(ctx, cms, configMap(map[string]string{"a": "1", "b": "2"})); err != nil {
		t.Fatal(err)
	}
	// Someone else changes a field ferry declares: the next apply wins it back.
	cm, _ := cms.Get(ctx, "c", metav1.GetOptions{})
	cm.Data["a"] = "changed"
	if _, err := cms.Update(ctx, cm, metav1.UpdateOptions{FieldManager: "kubectl"}); err != nil {
		t.Fatal(err)
	}
	// A field ferry no longer declares goes.
	got, err := Apply(ctx, cms, configMap(map[string]string{"a": "1"}))
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Data) != 1 || got.Data["a"] != "1" {
		t.Errorf("data after the second apply = %v, want a=1 only", got.Data)
	}
	applied := false
	for _, m := range got.ManagedFields {
		applied = applied || (m.Manager == FieldManager && m.Operation == metav1.ManagedFieldsOperationApply)
	}
	if !applied {
		t.Errorf("managed fields %+v: no Apply entry of %q", got.ManagedFields, FieldManager)
	}
}

func TestApplyRefusesAnObjectWithoutItsKind(t *testing.T) {
	t.Parallel()
	cm := configMap(nil)
	cm.TypeMeta = metav1.TypeMeta{}
	if _, err := Apply(t.Context(), fake.NewClientset().CoreV1().ConfigMaps("ns"), cm); err == nil {
		t.Error("applied an object without apiVersion and kind")
	}
}

// TestCreateOrApplyCreatesOnceAndAppliesWhatExists: a new object is made
// with one create and no patch; one that exists is applied (its fields
// become ferry's intent), and other errors are returned, named.
func TestCreateOrApplyCreatesOnceAndAppliesWhatExists(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	cs := fake.NewClientset()
	verbs := map[string]int{}
	cs.PrependReactor("*", "configmaps", func(a k8stesting.Action) (bool, runtime.Object, error) {
		verbs[a.GetVerb()]++
		return false, nil, nil
	})
	cms := cs.CoreV1().ConfigMaps("ns")
	if _, err := CreateOrApply(ctx, cms, configMap(map[string]string{"a": "1"})); err != nil {
		t.Fatal(err)
	}
	if verbs["create"] != 1 || verbs["patch"] != 0 {
		t.Fatalf("a new object: %v, want one create and no patch", verbs)
	}
	got, err := CreateOrApply(ctx, cms, configMap(map[string]string{"a": "2"}))
	if err != nil {
		t.Fatal(err)
	}
	if verbs["create"] != 2 || verbs["patch"] != 1 || got.Data["a"] != "2" {
		t.Fatalf("an existing object: %v, data %v; want the create refused, then one patch to a=2", verbs, got.Data)
	}
	cs.PrependReactor("create", "configmaps", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewForbidden(schema.GroupResource{Resource: "configmaps"}, "c", errors.New("exceeded quota"))
	})
	cm := configMap(nil)
	cm.Name = "d"
	if _, err := CreateOrApply(ctx, cms, cm); !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), "ConfigMap ns/d") {
		t.Fatalf("a refused create: %v, want the Forbidden error naming ConfigMap ns/d", err)
	}
}
