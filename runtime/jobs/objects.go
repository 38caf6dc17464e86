// Package jobs runs training jobs: a submitted job becomes one Indexed
// batch/v1 Job (created suspended) and a headless Service for its replicas
// to find each other; admission starts queued jobs all or nothing, in
// submission order within a tenant, when the tenant's quota and the
// cluster's free capacity hold every replica; the Job's state comes back
// into the store.
package jobs

import (
	"fmt"
	"slices"
	"strconv"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	v1 "github.com/ferry-ml/ferry/api/v1"
	"github.com/ferry-ml/ferry/runtime/tenants"
	"github.com/ferry-ml/ferry/store"
)

// Labels on a job's objects and pods.
const (
	JobLabel = "ferry.io/job"
	// MasterPort is where rank 0 listens for the others (PyTorch's default).
	MasterPort = 29500
)

// Labels are the labels of every object of a job.
func Labels(j store.Job) map[string]string {
	return map[string]string{tenants.ManagedByLabel: tenants.ManagedBy, tenants.TenantLabel: j.Tenant, JobLabel: j.Name}
}

// ObjectName is the name of a job's Job and Service in its namespace.
func ObjectName(j store.Job) string { return j.Name }

// TokenSecretName is the Secret holding a tracked job's run token (key
// TokenSecretKey); it lives as long as the job runs.
func TokenSecretName(j store.Job) string { return "ferry-run-token-" + j.Name }

// TokenSecretKey is the data key of the run token in its Secret.
const TokenSecretKey = "token"

// Tracking is how a job's pods reach the control plane's MLflow API and
// the serving gateway.
type Tracking struct {
	// URL is the control plane's in-cluster base URL ("": jobs get no
	// MLFLOW_* environment).
	URL string
	// Gateway is the serving gateway's in-cluster base URL, given to every
	// job's pods as FERRY_GATEWAY, as to notebooks ("": none).
	Gateway string
}

// tracked says whether a job's pods get the MLFLOW_* environment.
func (t Tracking) tracked(j store.Job) bool { return t.URL != "" && j.RunID != "" }

// TokenSecret is the Secret with a job's run token.
func TokenSecret(j store.Job, token string) *corev1.Secret {
	return &corev1.Secret{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"},
		ObjectMeta: metav1.ObjectMeta{Name: TokenSecretName(j), Namespace: tenants.Namespace(j.Tenant), Labels: Labels(j)},
		Type:       corev1.SecretTypeOpaque,
		StringData: map[string]string{TokenSecretKey: token},
	}
}

// Requests is one replica's resource requests (equal to its limits).
func Requests(r store.Resources) (corev1.ResourceList, error) {
	out := corev1.ResourceList{}
	for name, v := range map[corev1.ResourceName]string{corev1.ResourceCPU: r.CPU, corev1.ResourceMemory: r.Memory} {
		q, err := resource.ParseQuantity(v)
		if err != nil {
			return nil, fmt.Errorf("%s %q: %w", name, v, err)
		}
		out[name] = q
	}
	if r.GPU > 0 {
		out[tenants.GPUResource] = *resource.NewQuantity(r.GPU, resource.DecimalSI)
	}
	return out, nil
}

// Objects are the Kubernetes objects of a job: the headless Service first,
// then the Indexed Job, suspended unless the job was admitted. A tracked
// job's pods get the MLFLOW_* environment, the token from TokenSecret; with
// a gateway, every job's pods get FERRY_GATEWAY.
func Objects(j store.Job, admitted bool, tr Tracking) (*corev1.Service, *batchv1.Job, error) {
	req, err := Requests(j.Spec.Resources)
	if err != nil {
		return nil, nil, err
	}
	ns, name, labels := tenants.Namespace(j.Tenant), ObjectName(j), Labels(j)
	svc := &corev1.Service{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Service"},
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: labels},
		Spec: corev1.ServiceSpec{
			ClusterIP:                corev1.ClusterIPNone,
			Selector:                 map[string]string{JobLabel: j.Name},
			PublishNotReadyAddresses: true, // ranks find rank 0 before it is "ready"
			Ports:                    []corev1.ServicePort{{Name: "master", Port: MasterPort}},
		},
	}
	env := []corev1.EnvVar{
		{Name: "WORLD_SIZE", Value: strconv.Itoa(int(j.Spec.Replicas))},
		{Name: "RANK", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.annotations['batch.kubernetes.io/job-completion-index']"}}},
		{Name: "MASTER_ADDR", Value: fmt.Sprintf("%s-0.%s", name, name)},
		{Name: "MASTER_PORT", Value: strconv.Itoa(MasterPort)},
		{Name: "FERRY_TENANT", Value: j.Tenant},
		{Name: "FERRY_JOB", Value: j.Name},
	}
	if tr.tracked(j) {
		env = append(env,
			corev1.EnvVar{Name: v1.EnvTrackingURI, Value: tr.URL + "/mlflow/" + j.Tenant},
			corev1.EnvVar{Name: v1.EnvExperimentID, Value: strconv.FormatInt(j.ExperimentID, 10)},
			corev1.EnvVar{Name: v1.EnvRunID, Value: j.RunID},
			corev1.EnvVar{Name: v1.EnvTrackingToken, ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
				LocalObjectReference: corev1.LocalObjectReference{Name: TokenSecretName(j)}, Key: TokenSecretKey}}})
	}
	if tr.Gateway != "" {
		env = append(env, corev1.EnvVar{Name: v1.EnvGateway, Value: tr.Gateway})
	}
	keys := make([]string, 0, len(j.Spec.Env))
	for k := range j.Spec.Env {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		env = append(env, corev1.EnvVar{Name: k, Value: j.Spec.Env[k]})
	}
	podLabels := map[string]string{}
	for k, v := range labels {
		podLabels[k] = v
	}
	indexed := batchv1.IndexedCompletion
	replicas, retries := j.Spec.Replicas, j.Spec.MaxRetries
	suspend := !admitted
	job := &batchv1.Job{
		TypeMeta:   metav1.TypeMeta{APIVersion: "batch/v1", Kind: "Job"},
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: labels, Annotations: map[string]string{"ferry.io/job-id": strconv.FormatInt(j.ID, 10)}},
		Spec: batchv1.JobSpec{
			CompletionMode: &indexed,
			Completions:    &replicas,
			Parallelism:    &replicas,
			BackoffLimit:   &retries,
			Suspend:        &suspend,
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: podLabels},
				Spec: corev1.PodSpec{
					RestartPolicy:                corev1.RestartPolicyNever,
					Subdomain:                    name,
					ServiceAccountName:           tenants.WorkloadServiceAccount,
					AutomountServiceAccountToken: new(false),
					Containers: []corev1.Container{{
						Name:            "main",
						Image:           j.Spec.Image,
						ImagePullPolicy: corev1.PullIfNotPresent,
						Command:         j.Spec.Command,
						Args:            j.Spec.Args,
						Env:             env,
						Ports:           []corev1.ContainerPort{{Name: "master", ContainerPort: MasterPort}},
						Resources:       corev1.ResourceRequirements{Requests: req, Limits: req},
					}},
				},
			},
		},
	}
	return svc, job, nil
}
