package pipelines

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	v1 "github.com/ferry-ml/ferry/api/v1"
	"github.com/ferry-ml/ferry/runtime/jobs"
	"github.com/ferry-ml/ferry/runtime/tenants"
	"github.com/ferry-ml/ferry/store"
)

// Labels of a step's pod and Secret.
const (
	RunLabel  = "ferry.io/pipeline-run"
	StepLabel = "ferry.io/pipeline-step"
)

// The wrapper's contract: where the ferry binary lands in a step's pod and
// the environment it reads.
const (
	BinDir          = "/ferry/bin"
	StepBinary      = BinDir + "/ferry"
	EnvURL          = v1.StepEnvURL
	EnvTenant       = v1.StepEnvTenant
	EnvStepRun      = v1.StepEnvRun
	EnvToken        = v1.StepEnvToken
	EnvInputs       = v1.StepEnvInputs
	EnvInputParams  = v1.StepEnvInputParams
	EnvOutputs      = v1.StepEnvOutputs
	TokenSecretKey  = "token"
	volumeName      = "ferry"
	volumeMountPath = "/ferry"
	initMountPath   = "/ferry-step"
)

// PodConfig is what every step pod shares.
type PodConfig struct {
	// Image is the platform image, whose ferry binary the init container copies.
	Image string
	// URL is the control plane's in-cluster base URL.
	URL string
	// Gateway is the serving gateway's in-cluster base URL, given to every
	// step's pod as FERRY_GATEWAY, as to notebooks and jobs ("": none).
	Gateway string
}

// StepPodInput is one attempt of one step, its references resolved.
type StepPodInput struct {
	Tenant   string
	RunID    string
	Row      string
	Attempt  int32
	Step     v1.Step
	Args     []string
	Env      map[string]string
	Params   map[string]string
	Inputs   map[string]string
	ChildRun string
	ExpID    int64
}

// PodName is the deterministic name of a step attempt's pod: a restarted
// server finds (adopts) it instead of starting it again.
func PodName(runID, row string, attempt int32) string {
	r := strings.NewReplacer("[", "-", "]", "")
	id := runID
	if len(id) > 10 {
		id = id[:10]
	}
	n := fmt.Sprintf("fp-%s-%s-%d", id, r.Replace(row), attempt)
	if len(n) > 63 {
		n = n[:63]
	}
	return strings.TrimRight(n, "-")
}

// StepPod is the pod of a step attempt and the Secret with its step token.
func StepPod(cfg PodConfig, in StepPodInput, token string) (*corev1.Pod, *corev1.Secret, error) {
	res := StepResources(in.Step)
	req, err := jobs.Requests(store.Resources{CPU: res.CPU, Memory: res.Memory, GPU: res.GPU})
	if err != nil {
		return nil, nil, err
	}
	name, ns := PodName(in.RunID, in.Row, in.Attempt), tenants.Namespace(in.Tenant)
	labels := map[string]string{tenants.ManagedByLabel: tenants.ManagedBy, tenants.TenantLabel: in.Tenant, RunLabel: in.RunID, StepLabel: strings.NewReplacer("[", "-", "]", "").Replace(in.Row)}
	inputs, _ := json.Marshal(orEmpty(in.Inputs))
	params, _ := json.Marshal(orEmpty(in.Params))
	outputs, _ := json.Marshal(in.Step.Outputs)
	secretEnv := func(n string) corev1.EnvVar {
		return corev1.EnvVar{Name: n, ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
			LocalObjectReference: corev1.LocalObjectReference{Name: name}, Key: TokenSecretKey}}}
	}
	env := []corev1.EnvVar{
		{Name: EnvURL, Value: cfg.URL},
		{Name: EnvTenant, Value: in.Tenant},
		{Name: EnvStepRun, Value: in.ChildRun},
		secretEnv(EnvToken),
		{Name: EnvInputs, Value: string(inputs)},
		{Name: EnvInputParams, Value: string(params)},
		{Name: EnvOutputs, Value: string(outputs)},
		{Name: v1.EnvTrackingURI, Value: cfg.URL + v1.MLflowPrefix + in.Tenant},
		{Name: v1.EnvExperimentID, Value: fmt.Sprint(in.ExpID)},
		{Name: v1.EnvRunID, Value: in.ChildRun},
		secretEnv(v1.EnvTrackingToken),
	}
	if cfg.Gateway != "" {
		env = append(env, corev1.EnvVar{Name: v1.EnvGateway, Value: cfg.Gateway})
	}
	keys := make([]string, 0, len(in.Env))
	for k := range in.Env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		env = append(env, corev1.EnvVar{Name: k, Value: in.Env[k]})
	}
	var deadline *int64
	if in.Step.Timeout != "" {
		if d, err := time.ParseDuration(in.Step.Timeout); err == nil {
			s := int64(d.Seconds())
			deadline = &s
		}
	}
	mount := []corev1.VolumeMount{{Name: volumeName, MountPath: volumeMountPath}}
	pod := &corev1.Pod{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: labels, Annotations: map[string]string{"ferry.io/pipeline-step-name": in.Row}},
		Spec: corev1.PodSpec{
			RestartPolicy:                corev1.RestartPolicyNever,
			ServiceAccountName:           tenants.WorkloadServiceAccount,
			AutomountServiceAccountToken: new(false),
			ActiveDeadlineSeconds:        deadline,
			Volumes:                      []corev1.Volume{{Name: volumeName, VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}},
			InitContainers: []corev1.Container{{
				Name:            "ferry",
				Image:           cfg.Image,
				ImagePullPolicy: corev1.PullIfNotPresent,
				// The platform image's binary is /ferry itself: the volume goes elsewhere.
				Command:      []string{"/ferry", "step", "install", initMountPath + "/bin"},
				VolumeMounts: []corev1.VolumeMount{{Name: volumeName, MountPath: initMountPath}},
				Resources:    corev1.ResourceRequirements{Requests: req, Limits: req},
			}},
			Containers: []corev1.Container{{
				Name:            "main",
				Image:           in.Step.Image,
				ImagePullPolicy: corev1.PullIfNotPresent,
				Command:         append([]string{StepBinary, "step", "--"}, in.Step.Command...),
				Args:            in.Args,
				Env:             env,
				VolumeMounts:    mount,
				Resources:       corev1.ResourceRequirements{Requests: req, Limits: req},
			}},
		},
	}
	secret := &corev1.Secret{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"},
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: labels},
		Type:       corev1.SecretTypeOpaque,
		StringData: map[string]string{TokenSecretKey: token},
	}
	return pod, secret, nil
}

func orEmpty(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}
