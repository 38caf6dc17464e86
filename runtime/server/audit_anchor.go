package server

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"path/filepath"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	v1 "github.com/ferry-ml/ferry/api/v1"
	"github.com/ferry-ml/ferry/runtime/auditanchor"
	"github.com/ferry-ml/ferry/runtime/jobs"
	"github.com/ferry-ml/ferry/store"
)

// AuditKeyFile is the default audit checkpoint key, beside (not inside) the
// data directory: a copy of the data directory does not carry it.
const AuditKeyFile = "audit.key"

func (o *Options) auditKeyPath() string {
	if o.AuditKeyFile != "" {
		return o.AuditKeyFile
	}
	return filepath.Join(filepath.Dir(filepath.Clean(o.DataDir)), AuditKeyFile)
}

func (o *Options) blobURL() string {
	if o.BlobURL != "" {
		return o.BlobURL
	}
	return "file://" + filepath.Join(o.DataDir, "blobs") + "?create_dir=true"
}

// openAnchor sets up the audit checkpoints in the blob bucket and makes the
// store's verification check against them. Without a usable key at the
// default path the server runs unanchored (and says so); an explicit
// --audit-key-file that cannot be used is an error.
//
// With --audit-key-secret and Kubernetes access the key lives in that
// Secret of the server's namespace (made on first start), not on the data
// volume: a copy of the volume cannot forge checkpoints.
func openAnchor(ctx context.Context, db *store.DB, kube kubernetes.Interface, o Options) (*auditanchor.Anchor, error) {
	var key ed25519.PrivateKey
	var err error
	if o.AuditKeySecret != "" && kube != nil {
		if key, err = auditKeyFromSecret(ctx, kube, o.AdminTokenNamespace, o.AuditKeySecret); err != nil {
			return nil, fmt.Errorf("audit key Secret %s/%s: %w", o.AdminTokenNamespace, o.AuditKeySecret, err)
		}
	} else if key, err = auditanchor.LoadOrCreateKey(o.auditKeyPath()); err != nil {
		if o.AuditKeyFile != "" {
			return nil, err
		}
		o.Logger.Warn("audit log not anchored: no checkpoint key; set --audit-key-file or --audit-key-secret", "err", err)
		return nil, nil
	}
	b, err := jobs.OpenLogs(ctx, o.blobURL())
	if err != nil {
		return nil, err
	}
	a, err := auditanchor.New(auditanchor.Config{DB: db, Bucket: b.Bucket, Key: key, Interval: o.AuditCheckpointInterval, Logger: o.Logger.With("component", "audit-anchor")})
	if err != nil {
		return nil, err
	}
	db.SetAuditAnchor(a)
	return a, nil
}

// AuditKeySecretKey is the data key of the audit key in its Secret.
const AuditKeySecretKey = "ed25519-seed"

// auditKeyFromSecret reads the audit key from a Secret, creating it with a
// new key when missing (two servers racing both end up with the first one).
func auditKeyFromSecret(ctx context.Context, kube kubernetes.Interface, ns, name string) (ed25519.PrivateKey, error) {
	secrets := kube.CoreV1().Secrets(ns)
	s, err := secrets.Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		text, kerr := auditanchor.NewKeyText()
		if kerr != nil {
			return nil, kerr
		}
		s, err = secrets.Create(ctx, &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: map[string]string{v1.ManagedByLabel: v1.ManagedByValue}},
			Type:       corev1.SecretTypeOpaque,
			Data:       map[string][]byte{AuditKeySecretKey: text},
		}, metav1.CreateOptions{})
		if apierrors.IsAlreadyExists(err) {
			s, err = secrets.Get(ctx, name, metav1.GetOptions{})
		}
	}
	if err != nil {
		return nil, err
	}
	return auditanchor.ParseKey(s.Data[AuditKeySecretKey])
}
