package controller

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
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
