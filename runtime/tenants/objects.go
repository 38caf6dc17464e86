package tenants

import (
	"crypto/sha256"
	"encoding/hex"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"

	v1 "github.com/ferry-ml/ferry/api/v1"
	"github.com/ferry-ml/ferry/store"
)

// Labels ferry puts on every object it manages.
const (
	ManagedByLabel = v1.ManagedByLabel
	ManagedBy      = v1.ManagedByValue
	TenantLabel    = "ferry.io/tenant"
	// TenantIDLabel marks the namespace ferry created for one tenant with
	// that tenant's OwnerID: the only namespaces the reconciler adopts.
	TenantIDLabel = "ferry.io/tenant-id"
	// ControlPlaneNamespace is where ferry's control plane runs; tenant
	// policies let it in.
	ControlPlaneNamespace = v1.SystemNamespace
	// WorkloadServiceAccount runs a tenant's pods.
	WorkloadServiceAccount = "ferry-workload"
	// GPUResource is the extended resource GPUs are counted in.
	GPUResource = "nvidia.com/gpu"
	// QuotaName is the tenant's ResourceQuota in its namespace.
	QuotaName = "ferry-quota"
)

// Namespace is a tenant's namespace name.
func Namespace(tenant string) string { return v1.TenantNamespacePrefix + tenant }

// OwnerID tells one tenant from any other, a deleted one of the same name
// included: a hash of its name and creation time (the store has no other
// id for it). It is the value of TenantIDLabel on the tenant's namespace.
func OwnerID(t store.Tenant) string {
	sum := sha256.Sum256([]byte(t.Name + "\x00" + t.CreatedAt.UTC().Format(time.RFC3339Nano)))
	return hex.EncodeToString(sum[:10])
}

func labels(tenant string) map[string]string {
	return map[string]string{ManagedByLabel: ManagedBy, TenantLabel: tenant}
}

func meta(name, tenant string) metav1.ObjectMeta {
	return metav1.ObjectMeta{Name: name, Namespace: Namespace(tenant), Labels: labels(tenant)}
}

// Objects is every Kubernetes object a tenant owns, in apply order.
func Objects(t store.Tenant) []runtime.Object {
	ns := Namespace(t.Name)
	nsLabels := labels(t.Name)
	nsLabels[TenantIDLabel] = OwnerID(t)
	nsLabels["pod-security.kubernetes.io/enforce"] = "baseline"
	cpu, mem := resource.MustParse(t.Quota.CPU), resource.MustParse(t.Quota.Memory)
	gpu := *resource.NewQuantity(t.Quota.GPU, resource.DecimalSI)
	defLimitCPU, defLimitMem := minQ(resource.MustParse("1"), cpu), minQ(resource.MustParse("1Gi"), mem)
	defReqCPU, defReqMem := minQ(resource.MustParse("100m"), cpu), minQ(resource.MustParse("128Mi"), mem)
	tcp, udp := corev1.ProtocolTCP, corev1.ProtocolUDP
	dns := intstr.FromInt32(53)
	everyPod := metav1.LabelSelector{}
	nsSelector := func(name string) *metav1.LabelSelector {
		return &metav1.LabelSelector{MatchLabels: map[string]string{"kubernetes.io/metadata.name": name}}
	}
	return []runtime.Object{
		&corev1.Namespace{TypeMeta: typeMeta("v1", "Namespace"), ObjectMeta: metav1.ObjectMeta{Name: ns, Labels: nsLabels}},
		&corev1.ResourceQuota{TypeMeta: typeMeta("v1", "ResourceQuota"), ObjectMeta: meta(QuotaName, t.Name),
			Spec: corev1.ResourceQuotaSpec{Hard: corev1.ResourceList{
				corev1.ResourceRequestsCPU: cpu, corev1.ResourceLimitsCPU: cpu,
				corev1.ResourceRequestsMemory: mem, corev1.ResourceLimitsMemory: mem,
				corev1.ResourceName("requests." + GPUResource): gpu,
			}}},
		&corev1.LimitRange{TypeMeta: typeMeta("v1", "LimitRange"), ObjectMeta: meta("ferry-defaults", t.Name),
			Spec: corev1.LimitRangeSpec{Limits: []corev1.LimitRangeItem{{
				Type:           corev1.LimitTypeContainer,
				Default:        corev1.ResourceList{corev1.ResourceCPU: defLimitCPU, corev1.ResourceMemory: defLimitMem},
				DefaultRequest: corev1.ResourceList{corev1.ResourceCPU: defReqCPU, corev1.ResourceMemory: defReqMem},
				Max:            corev1.ResourceList{corev1.ResourceCPU: cpu, corev1.ResourceMemory: mem},
			}}}},
		&networkingv1.NetworkPolicy{TypeMeta: typeMeta("networking.k8s.io/v1", "NetworkPolicy"), ObjectMeta: meta("ferry-default-deny", t.Name),
			Spec: networkingv1.NetworkPolicySpec{PodSelector: everyPod,
				PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress, networkingv1.PolicyTypeEgress}}},
		&networkingv1.NetworkPolicy{TypeMeta: typeMeta("networking.k8s.io/v1", "NetworkPolicy"), ObjectMeta: meta("ferry-allow-same-tenant", t.Name),
			Spec: networkingv1.NetworkPolicySpec{
				PodSelector: everyPod,
				PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress, networkingv1.PolicyTypeEgress},
				Ingress: []networkingv1.NetworkPolicyIngressRule{{From: []networkingv1.NetworkPolicyPeer{
					{PodSelector: &metav1.LabelSelector{}},
					{NamespaceSelector: nsSelector(ControlPlaneNamespace)},
				}}},
				Egress: []networkingv1.NetworkPolicyEgressRule{
					{To: []networkingv1.NetworkPolicyPeer{{PodSelector: &metav1.LabelSelector{}}, {NamespaceSelector: nsSelector(ControlPlaneNamespace)}}},
					{To: []networkingv1.NetworkPolicyPeer{{NamespaceSelector: nsSelector("kube-system")}},
						Ports: []networkingv1.NetworkPolicyPort{{Protocol: &udp, Port: &dns}, {Protocol: &tcp, Port: &dns}}},
				},
			}},
		&corev1.ServiceAccount{TypeMeta: typeMeta("v1", "ServiceAccount"), ObjectMeta: meta(WorkloadServiceAccount, t.Name),
			AutomountServiceAccountToken: new(false)},
		&rbacv1.Role{TypeMeta: typeMeta("rbac.authorization.k8s.io/v1", "Role"), ObjectMeta: meta(WorkloadServiceAccount, t.Name),
			// Distributed jobs discover their peers; nothing else.
			Rules: []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"pods", "services", "endpoints"}, Verbs: []string{"get", "list", "watch"}}}},
		&rbacv1.RoleBinding{TypeMeta: typeMeta("rbac.authorization.k8s.io/v1", "RoleBinding"), ObjectMeta: meta(WorkloadServiceAccount, t.Name),
			RoleRef:  rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: WorkloadServiceAccount},
			Subjects: []rbacv1.Subject{{Kind: "ServiceAccount", Name: WorkloadServiceAccount, Namespace: ns}}},
	}
}

func typeMeta(apiVersion, kind string) metav1.TypeMeta {
	return metav1.TypeMeta{APIVersion: apiVersion, Kind: kind}
}

func minQ(a, b resource.Quantity) resource.Quantity {
	if a.Cmp(b) <= 0 {
		return a
	}
	return b
}
