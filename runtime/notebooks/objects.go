// Package notebooks runs Jupyter notebooks for tenants: a StatefulSet of
// one with a workspace volume and a Service, reached only through the
// control plane's authenticated reverse proxy at
// /t/{tenant}/notebooks/{name}/. Idle notebooks are stopped (the workspace
// is kept) and started again on demand.
package notebooks

import (
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	v1 "github.com/ferry-ml/ferry/api/v1"
	"github.com/ferry-ml/ferry/runtime/tenants"
)

// Port is where Jupyter listens in the pod.
const Port = 8888

// NotebookLabel names a notebook's objects and pod.
const NotebookLabel = "ferry.io/notebook"

// Spec is what a notebook runs with.
type Spec struct {
	Tenant    string
	Name      string
	Image     string
	CPU       string
	Memory    string
	GPU       int64
	Workspace string // PVC size
	// Access gives the pod its credentials (see access); zero: none.
	Access Access
}

// Labels are the labels of a notebook's objects and pod.
func Labels(tenant, name string) map[string]string {
	return map[string]string{tenants.ManagedByLabel: tenants.ManagedBy, tenants.TenantLabel: tenant, NotebookLabel: name}
}

// BasePath is the proxy path a notebook is served under; Jupyter is told
// it, so that its links and WebSocket URLs go through the proxy.
func BasePath(tenant, name string) string { return v1.NotebookPath(tenant, name) }

// Objects are a notebook's Service and StatefulSet; running says whether
// the StatefulSet has its one replica (stopped: zero, the volume stays).
func Objects(s Spec, running bool) (*corev1.Service, *appsv1.StatefulSet, error) {
	req := corev1.ResourceList{}
	for name, v := range map[corev1.ResourceName]string{corev1.ResourceCPU: s.CPU, corev1.ResourceMemory: s.Memory} {
		q, err := resource.ParseQuantity(v)
		if err != nil {
			return nil, nil, fmt.Errorf("%s %q: %w", name, v, err)
		}
		req[name] = q
	}
	if s.GPU > 0 {
		req[tenants.GPUResource] = *resource.NewQuantity(s.GPU, resource.DecimalSI)
	}
	size, err := resource.ParseQuantity(s.Workspace)
	if err != nil {
		return nil, nil, fmt.Errorf("workspace %q: %w", s.Workspace, err)
	}
	ns := tenants.Namespace(s.Tenant)
	labels := Labels(s.Tenant, s.Name)
	selector := map[string]string{NotebookLabel: s.Name}
	svc := &corev1.Service{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Service"},
		ObjectMeta: metav1.ObjectMeta{Name: "nb-" + s.Name, Namespace: ns, Labels: labels},
		Spec: corev1.ServiceSpec{
			Selector: selector,
			Ports:    []corev1.ServicePort{{Name: "http", Port: Port, TargetPort: intstr.FromString("http")}},
		},
	}
	replicas := int32(0)
	if running {
		replicas = 1
	}
	uid := int64(1000)
	sts := &appsv1.StatefulSet{
		TypeMeta:   metav1.TypeMeta{APIVersion: "apps/v1", Kind: "StatefulSet"},
		ObjectMeta: metav1.ObjectMeta{Name: "nb-" + s.Name, Namespace: ns, Labels: labels},
		Spec: appsv1.StatefulSetSpec{
			Replicas:    &replicas,
			ServiceName: "nb-" + s.Name,
			Selector:    &metav1.LabelSelector{MatchLabels: selector},
			PersistentVolumeClaimRetentionPolicy: &appsv1.StatefulSetPersistentVolumeClaimRetentionPolicy{
				WhenScaled: appsv1.RetainPersistentVolumeClaimRetentionPolicyType, WhenDeleted: appsv1.DeletePersistentVolumeClaimRetentionPolicyType,
			},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels, Annotations: accessAnnotations(s)},
				Spec: corev1.PodSpec{
					ServiceAccountName:           tenants.WorkloadServiceAccount,
					AutomountServiceAccountToken: new(false),
					SecurityContext:              &corev1.PodSecurityContext{RunAsUser: &uid, RunAsGroup: &uid, FSGroup: &uid},
					Containers: []corev1.Container{{
						Name:  "jupyter",
						Image: s.Image,
						// No token of Jupyter's own: only the control plane's
						// proxy reaches it (tenant NetworkPolicy), and it
						// authenticates every request.
						Command: []string{"python3", "-m", "notebook", "--ip=0.0.0.0", fmt.Sprintf("--port=%d", Port), "--no-browser",
							"--NotebookApp.token=", "--NotebookApp.password=", "--NotebookApp.allow_origin=*", "--NotebookApp.disable_check_xsrf=True",
							"--NotebookApp.base_url=" + BasePath(s.Tenant, s.Name), "--notebook-dir=/home/ferry/work"},
						Env:            accessEnv(s),
						Ports:          []corev1.ContainerPort{{Name: "http", ContainerPort: Port}},
						Resources:      corev1.ResourceRequirements{Requests: req, Limits: req},
						VolumeMounts:   []corev1.VolumeMount{{Name: "workspace", MountPath: "/home/ferry/work"}},
						ReadinessProbe: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: BasePath(s.Tenant, s.Name) + "api", Port: intstr.FromString("http")}}, PeriodSeconds: 2},
					}},
				},
			},
			VolumeClaimTemplates: []corev1.PersistentVolumeClaim{{
				ObjectMeta: metav1.ObjectMeta{Name: "workspace", Labels: labels},
				Spec: corev1.PersistentVolumeClaimSpec{
					AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
					Resources:   corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: size}},
				},
			}},
		},
	}
	return svc, sts, nil
}
