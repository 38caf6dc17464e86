package serving

import (
	"fmt"
	"strconv"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	v1 "github.com/ferry-ml/ferry/api/v1"
	"github.com/ferry-ml/ferry/python"
	"github.com/ferry-ml/ferry/runtime/tenants"
	"github.com/ferry-ml/ferry/store"
)

// Labels and names of a revision's objects.
const (
	DeploymentLabel = "ferry.io/deployment"
	RevisionLabel   = "ferry.io/revision"
	// RuntimePort is where the built-in runtime listens.
	RuntimePort = 8080
	// KeySecretKey is the data key of the runtime's API key in its Secret.
	KeySecretKey = "key"
)

// Env of a revision's pods.
const (
	EnvArtifactURL    = "FERRY_ARTIFACT_URL"
	EnvArtifactDigest = "FERRY_ARTIFACT_DIGEST"
	EnvKey            = "FERRY_KEY"
	EnvModelName      = "FERRY_MODEL_NAME"
	EnvPort           = "FERRY_PORT"
)

// PodConfig is what every revision's pods get from the platform.
type PodConfig struct {
	// WorkloadImage runs the built-in sklearn runtime (Debian python3 +
	// scikit-learn, the runtime at python.ServingRuntimePath).
	WorkloadImage string
	// URL is the control plane's in-cluster base URL.
	URL string
}

// RevisionName is a revision's Deployment and Service name.
func RevisionName(d store.Deployment, r store.Revision) string {
	return d.Name + "-r" + strconv.FormatInt(r.Number, 10)
}

// KeySecretName is the Secret holding a deployment's runtime key.
func KeySecretName(d store.Deployment) string { return "ferry-serve-" + d.Name }

// ServiceURL is how the gateway reaches a revision in the cluster.
func ServiceURL(d store.Deployment, r store.Revision) string {
	return fmt.Sprintf("http://%s.%s.svc:80", RevisionName(d, r), tenants.Namespace(d.Tenant))
}

func labels(d store.Deployment, r store.Revision) map[string]string {
	return map[string]string{tenants.ManagedByLabel: tenants.ManagedBy, tenants.TenantLabel: d.Tenant,
		DeploymentLabel: d.Name, RevisionLabel: RevisionName(d, r)}
}

// Objects are a revision's Deployment (replicas as decided) and Service.
func Objects(cfg PodConfig, d store.Deployment, spec v1.DeploymentSpec, r store.Revision, replicas int32) (*appsv1.Deployment, *corev1.Service, error) {
	name, ns, l := RevisionName(d, r), tenants.Namespace(d.Tenant), labels(d, r)
	cpu, err := resource.ParseQuantity(spec.Resources.CPU)
	if err != nil {
		return nil, nil, fmt.Errorf("revision %s cpu: %w", name, err)
	}
	mem, err := resource.ParseQuantity(spec.Resources.Memory)
	if err != nil {
		return nil, nil, fmt.Errorf("revision %s memory: %w", name, err)
	}
	req := corev1.ResourceList{corev1.ResourceCPU: cpu, corev1.ResourceMemory: mem}
	port := spec.Port
	env := []corev1.EnvVar{
		{Name: EnvArtifactURL, Value: cfg.URL + fmt.Sprintf("/api/v1/tenants/%s/deployments/%s/revisions/%d/artifact", d.Tenant, d.Name, r.Number)},
		{Name: EnvArtifactDigest, Value: r.Digest},
		{Name: EnvModelName, Value: d.Name},
		{Name: EnvPort, Value: strconv.Itoa(int(port))},
		{Name: EnvKey, ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
			LocalObjectReference: corev1.LocalObjectReference{Name: KeySecretName(d)}, Key: KeySecretKey}}},
	}
	main := corev1.Container{Name: ModelContainer, Image: spec.Image, ImagePullPolicy: corev1.PullIfNotPresent, Env: env,
		Ports:     []corev1.ContainerPort{{Name: "http", ContainerPort: port}},
		Resources: corev1.ResourceRequirements{Requests: req, Limits: req}}
	probePath := ProbePath(spec)
	pod := corev1.PodSpec{ServiceAccountName: tenants.WorkloadServiceAccount, AutomountServiceAccountToken: new(false)}
	if spec.Runtime == v1.RuntimeSklearn {
		main.Image = cfg.WorkloadImage
		// One container, no init container: the runtime is in the image
		// (scale from zero waits for one container start, not two).
		main.Command = []string{"python3", python.ServingRuntimePath}
	}
	main.ReadinessProbe = &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: probePath, Port: intstr.FromInt32(port)}},
		PeriodSeconds: 1, FailureThreshold: 1}
	pod.Containers = []corev1.Container{main}
	dep := &appsv1.Deployment{
		TypeMeta:   metav1.TypeMeta{APIVersion: "apps/v1", Kind: "Deployment"},
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: l},
		Spec: appsv1.DeploymentSpec{Replicas: &replicas, Selector: &metav1.LabelSelector{MatchLabels: l},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: l}, Spec: pod}},
	}
	svc := &corev1.Service{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Service"},
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: l},
		Spec:       corev1.ServiceSpec{Selector: l, Ports: []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromInt32(port)}}},
	}
	return dep, svc, nil
}

// ProbePath is the path a revision's readiness probe asks (the kubelet's,
// and the gateway's while requests wait for a starting pod).
func ProbePath(spec v1.DeploymentSpec) string {
	if spec.Runtime == v1.RuntimeSklearn {
		return "/v2/health/ready"
	}
	return "/"
}

// KeySecret holds the deployment's runtime key (its pods fetch the artifact with it).
func KeySecret(d store.Deployment, key string) *corev1.Secret {
	return &corev1.Secret{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"},
		ObjectMeta: metav1.ObjectMeta{Name: KeySecretName(d), Namespace: tenants.Namespace(d.Tenant), Labels: map[string]string{tenants.ManagedByLabel: tenants.ManagedBy, DeploymentLabel: d.Name}},
		StringData: map[string]string{KeySecretKey: key},
	}
}
