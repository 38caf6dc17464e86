package serving

import (
	"strings"
	"testing"

	v1 "github.com/ferry-ml/ferry/api/v1"
	"github.com/ferry-ml/ferry/python"
	"github.com/ferry-ml/ferry/runtime/tenants"
	"github.com/ferry-ml/ferry/store"
)

func TestSklearnRevisionRunsTheRuntimeAsTheWorkloadAccountInTheTenantNamespace(t *testing.T) {
	d := store.Deployment{Tenant: "a", Name: "iris"}
	r := store.Revision{Number: 3, Digest: "abc"}
	spec := v1.DeploymentSpec{Runtime: v1.RuntimeSklearn, Port: RuntimePort, Resources: v1.Resources{CPU: "500m", Memory: "512Mi"}}
	dep, svc, err := Objects(PodConfig{WorkloadImage: "ferry.local/workload:1", URL: "http://ferry.ferry-system.svc"}, d, spec, r, 0)
	if err != nil {
		t.Fatal(err)
	}
	if dep.Name != "iris-r3" || dep.Namespace != "ferry-a" || svc.Name != "iris-r3" || *dep.Spec.Replicas != 0 {
		t.Errorf("deployment %s/%s replicas %d, service %s", dep.Namespace, dep.Name, *dep.Spec.Replicas, svc.Name)
	}
	p := dep.Spec.Template.Spec
	if p.ServiceAccountName != tenants.WorkloadServiceAccount || len(p.InitContainers) != 0 || p.Containers[0].Image != "ferry.local/workload:1" {
		t.Errorf("pod spec: %+v", p)
	}
	if cmd := p.Containers[0].Command; len(cmd) != 2 || cmd[0] != "python3" || cmd[1] != python.ServingRuntimePath {
		t.Errorf("command %q, want python3 %s (the runtime the workload image holds)", cmd, python.ServingRuntimePath)
	}
	env := map[string]string{}
	for _, e := range p.Containers[0].Env {
		env[e.Name] = e.Value
	}
	if env[EnvArtifactDigest] != "abc" || !strings.HasSuffix(env[EnvArtifactURL], "/deployments/iris/revisions/3/artifact") {
		t.Errorf("env = %v", env)
	}
	if p.Containers[0].ReadinessProbe.HTTPGet.Path != "/v2/health/ready" {
		t.Errorf("readiness on %s, want the OIP ready endpoint", p.Containers[0].ReadinessProbe.HTTPGet.Path)
	}
	if ServiceURL(d, r) != "http://iris-r3.ferry-a.svc:80" {
		t.Errorf("service URL %s", ServiceURL(d, r))
	}
}
