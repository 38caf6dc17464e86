package server

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"

	v1 "github.com/ferry-ml/ferry/api/v1"
)

func TestAdminTokenIsPublishedToItsSecretAndAStaleOneIsReplaced(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, AdminTokenFile), []byte("ferry_first\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cs := fake.NewClientset()
	s := &Server{kube: cs, opts: Options{DataDir: dir, AdminTokenSecret: "ferry-admin-token", AdminTokenNamespace: "ferry-system",
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	read := func() string {
		t.Helper()
		sec, err := cs.CoreV1().Secrets("ferry-system").Get(ctx, "ferry-admin-token", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if sec.Labels["app.kubernetes.io/managed-by"] != "ferry" {
			t.Errorf("secret labels %v: want managed-by ferry so uninstall finds it", sec.Labels)
		}
		return string(sec.Data[v1.AdminTokenKey])
	}
	s.publishToken(ctx, AdminTokenFile, "ferry-admin-token")
	if got := read(); got != "ferry_first" {
		t.Fatalf("secret holds %q, want the token file's content", got)
	}
	// The data volume was replaced (new admin token): the Secret follows it.
	if err := os.WriteFile(filepath.Join(dir, AdminTokenFile), []byte("ferry_second\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s.publishToken(ctx, AdminTokenFile, "ferry-admin-token")
	if got := read(); got != "ferry_second" {
		t.Fatalf("stale secret kept %q", got)
	}
	if err := s.writeTokenSecret(ctx, AdminTokenFile, "ferry-admin-token"); err != nil {
		t.Fatalf("an up-to-date secret is not an error: %v", err)
	}
	secs, _ := cs.CoreV1().Secrets("ferry-system").List(ctx, metav1.ListOptions{})
	if len(secs.Items) != 1 || secs.Items[0].Type != corev1.SecretTypeOpaque {
		t.Fatalf("want exactly one Opaque secret, got %+v", secs.Items)
	}
}

func TestAdminTokenSecretNeedsANamespace(t *testing.T) {
	t.Setenv("POD_NAMESPACE", "")
	o := Options{DataDir: t.TempDir(), Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), AdminTokenSecret: "x"}
	if _, err := os.Stat("/var/run/secrets/kubernetes.io/serviceaccount/namespace"); err == nil {
		t.Skip("running in a pod: the namespace comes from the service account")
	}
	if err := o.Validate(); err == nil {
		t.Fatal("a secret with no namespace was accepted")
	}
	t.Setenv("POD_NAMESPACE", "ferry-system")
	o.AdminTokenNamespace = ""
	if err := o.Validate(); err != nil || o.AdminTokenNamespace != "ferry-system" {
		t.Fatalf("POD_NAMESPACE not used: %v %q", err, o.AdminTokenNamespace)
	}
}
