package notebooks

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	v1 "github.com/ferry-ml/ferry/api/v1"
	"github.com/ferry-ml/ferry/runtime/controller"
	"github.com/ferry-ml/ferry/runtime/tenants"
	"github.com/ferry-ml/ferry/store"
)

// A running notebook's pod reaches the control plane as the notebook's
// creator, within its tenant only: the controller mints a token scoped to
// the notebook (store.NotebookScope; auth.TenantRole keeps it to its tenant
// and at most editor there), writes it to the Secret TokenSecretName in the
// tenant's namespace, and gives the pod FERRY_SERVER, FERRY_TOKEN,
// FERRY_TENANT, MLFLOW_TRACKING_URI and MLFLOW_TRACKING_TOKEN (and
// FERRY_GATEWAY, the serving gateway, when the server knows it). Stopping the
// notebook revokes the token (in the same transaction) and the next pass
// deletes the Secret; deleting it revokes the token with its row.

// TokenTTL bounds a notebook token's life: a notebook that runs longer gets
// a new token, and its pod restarts to read it (the workspace is kept).
const TokenTTL = 7 * 24 * time.Hour

// TokenSecretKey is the data key of the token in its Secret.
const TokenSecretKey = "token"

// TokenAnnotation on the pod template names the token in the pod's
// environment: a new token rolls the pod, which reads it only at start.
const TokenAnnotation = "ferry.io/notebook-token-id"

// TokenSecretName is the Secret holding a notebook's token.
func TokenSecretName(name string) string { return "ferry-notebook-token-" + name }

// Access is how a notebook's pod reaches the control plane.
type Access struct {
	// URL is the control plane's in-cluster base URL ("": the pod gets no
	// credentials).
	URL string
	// TokenID is the token in the notebook's Secret.
	TokenID string
	// Gateway is the serving gateway's in-cluster base URL ("": the pod
	// gets no FERRY_GATEWAY).
	Gateway string
}

// accessEnv is the environment of a notebook's pod with access.
func accessEnv(s Spec) []corev1.EnvVar {
	if s.Access.URL == "" {
		return nil
	}
	fromSecret := &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
		LocalObjectReference: corev1.LocalObjectReference{Name: TokenSecretName(s.Name)}, Key: TokenSecretKey}}
	env := []corev1.EnvVar{
		{Name: v1.EnvServer, Value: s.Access.URL},
		{Name: v1.EnvToken, ValueFrom: fromSecret},
		{Name: v1.EnvTenant, Value: s.Tenant},
		{Name: v1.EnvNotebook, Value: s.Name},
		{Name: v1.EnvTrackingURI, Value: s.Access.URL + "/mlflow/" + s.Tenant},
		{Name: v1.EnvTrackingToken, ValueFrom: fromSecret},
	}
	if s.Access.Gateway != "" {
		env = append(env, corev1.EnvVar{Name: v1.EnvGateway, Value: s.Access.Gateway})
	}
	return env
}

// tokenSecret is the Secret with a notebook's token, labelled as its other objects.
func tokenSecret(tenant, name, token string) *corev1.Secret {
	return &corev1.Secret{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"},
		ObjectMeta: metav1.ObjectMeta{Name: TokenSecretName(name), Namespace: tenants.Namespace(tenant), Labels: Labels(tenant, name)},
		Type:       corev1.SecretTypeOpaque,
		StringData: map[string]string{TokenSecretKey: token},
	}
}

// access makes sure a running notebook has a live token in its Secret and
// says which; a stopped one (or any, without an internal URL) has none: its
// Secret is deleted and its token revoked. The Secret cannot be read back
// (the control plane may write Secrets, never read them), so a token minted
// but not known to be written, say before a restart, is replaced.
func (c *Controller) access(ctx context.Context, n store.Notebook) (Access, error) {
	var t store.NotebookToken
	err := c.DB.Read(ctx, func(tx *store.Tx) (err error) { t, err = tx.NotebookToken(ctx, n.Tenant, n.Name); return err })
	if err != nil {
		return Access{}, err
	}
	if c.InternalURL == "" || n.State != store.NotebookRunning {
		if t.ID == "" {
			return Access{}, nil
		}
		err := c.Client.CoreV1().Secrets(tenants.Namespace(n.Tenant)).Delete(ctx, TokenSecretName(n.Name), metav1.DeleteOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			return Access{}, fmt.Errorf("delete token secret: %w", err)
		}
		return Access{}, c.DB.Write(ctx, func(tx *store.Tx) error { return tx.EndNotebookToken(ctx, n.Tenant, n.Name) })
	}
	if t.Live && t.Written {
		return Access{URL: c.InternalURL, TokenID: t.ID, Gateway: c.GatewayURL}, nil
	}
	var tok store.Token
	var secret string
	err = c.DB.Write(ctx, func(tx *store.Tx) (err error) {
		tok, secret, err = tx.MintNotebookToken(ctx, n.Tenant, n.Name, TokenTTL)
		return err
	})
	if err != nil {
		return Access{}, fmt.Errorf("mint token: %w", err)
	}
	if _, err := controller.Apply(ctx, c.Client.CoreV1().Secrets(tenants.Namespace(n.Tenant)), tokenSecret(n.Tenant, n.Name, secret)); err != nil {
		return Access{}, err
	}
	if err := c.DB.Write(ctx, func(tx *store.Tx) error { return tx.NotebookTokenWritten(ctx, n.Tenant, n.Name, tok.ID) }); err != nil {
		return Access{}, err
	}
	c.Log.Info("notebook token minted", "tenant", n.Tenant, "notebook", n.Name, "token", tok.ID, "replaced", t.ID)
	return Access{URL: c.InternalURL, TokenID: tok.ID, Gateway: c.GatewayURL}, nil
}

// accessAnnotations name the pod's token (nil without access).
func accessAnnotations(s Spec) map[string]string {
	if s.Access.URL == "" {
		return nil
	}
	return map[string]string{TokenAnnotation: s.Access.TokenID}
}
