package server

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
)

// TestTheAuditKeyIsMadeOnceInItsSecretAndReadBack: the first start makes
// the Secret, a restart reads the same key, and a Secret holding something
// else is an error rather than a silently replaced key.
func TestTheAuditKeyIsMadeOnceInItsSecretAndReadBack(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	cs := fake.NewClientset()
	first, err := auditKeyFromSecret(ctx, cs, "ferry-system", "ferry-audit-key")
	if err != nil {
		t.Fatal(err)
	}
	again, err := auditKeyFromSecret(ctx, cs, "ferry-system", "ferry-audit-key")
	if err != nil || !first.Equal(again) {
		t.Fatalf("second start: %v, same key %v", err, first.Equal(again))
	}
	s, err := cs.CoreV1().Secrets("ferry-system").Get(ctx, "ferry-audit-key", metav1.GetOptions{})
	if err != nil || len(s.Data[AuditKeySecretKey]) == 0 {
		t.Fatalf("the Secret: %v %+v", err, s)
	}
	if _, err := cs.CoreV1().Secrets("ferry-system").Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "bad", Namespace: "ferry-system"},
		Data: map[string][]byte{AuditKeySecretKey: []byte("not a key")}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := auditKeyFromSecret(ctx, cs, "ferry-system", "bad"); err == nil {
		t.Fatal("a Secret without a valid key was accepted")
	}
}
