//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"

	v1 "github.com/ferry-ml/ferry/api/v1"
	"github.com/ferry-ml/ferry/runtime/jobs"
	"github.com/ferry-ml/ferry/runtime/monitor"
	"github.com/ferry-ml/ferry/runtime/tenants"
)

// testMonitoring checks issue 21 on the real cluster, in a tenant of its
// own: a job that allocates more memory than its limit fails with an
// OOMKilled reason naming the limit; a job whose image does not exist
// shows the pull error; ferry top lists a running notebook with non-zero
// CPU and memory and notebook get shows its use against its request; the
// tenant's quota use matches what its ResourceQuota counts for its pods.
func testMonitoring(t *testing.T, c *cluster) {
	ctx := context.Background()
	img := pipelineImage(t, c)
	if out, err := c.ferry(t, time.Minute, "tenant", "create", "mon", "--cpu", "4", "--memory", "6Gi"); err != nil {
		t.Fatalf("tenant create mon: %v\n%s", err, out)
	}
	waitTenantObjects(t, c, "mon")
	job := func(args ...string) (string, error) {
		return c.ferry(t, 5*time.Minute, append([]string{"job", "--tenant", "mon"}, args...)...)
	}
	getJob := func(name string) v1.Job {
		t.Helper()
		out, err := job("get", name, "-o", "json")
		var j v1.Job
		if err == nil {
			_ = json.Unmarshal([]byte(out[strings.Index(out, "{"):]), &j)
		}
		return j
	}

	t.Run("a job allocating more memory than its limit fails with an OOMKilled reason naming the limit", func(t *testing.T) {
		// 256 MiB written (not just reserved) against a 64Mi limit.
		if out, err := job("submit", "oom", "--image", img, "--cpu", "200m", "--memory", "64Mi", "--",
			"python3", "-c", `import time; b = b"\x01" * (256 << 20); time.sleep(30)`); err != nil {
			t.Fatalf("submit: %v\n%s", err, out)
		}
		var j v1.Job
		err := wait.PollUntilContextTimeout(ctx, 2*time.Second, 4*time.Minute, true, func(context.Context) (bool, error) {
			j = getJob("oom")
			return j.State == v1.JobFailed, nil
		})
		if err != nil {
			t.Fatalf("the job did not fail: %+v", j)
		}
		if !strings.Contains(j.Reason, "OOMKilled") || !strings.Contains(j.Reason, "memory limit of 64Mi") {
			t.Fatalf("reason does not name the OOM kill and the limit: %q", j.Reason)
		}
		t.Logf("reason: %s", j.Reason)
	})

	t.Run("a job with an image that does not exist shows the pull error", func(t *testing.T) {
		const missing = "ferry.local/does-not-exist:1"
		if out, err := job("submit", "nopull", "--image", missing, "--cpu", "100m", "--memory", "64Mi", "--", "true"); err != nil {
			t.Fatalf("submit: %v\n%s", err, out)
		}
		var j v1.Job
		err := wait.PollUntilContextTimeout(ctx, 2*time.Second, 3*time.Minute, true, func(context.Context) (bool, error) {
			j = getJob("nopull")
			return strings.Contains(j.Reason, `cannot pull the image "`+missing+`"`), nil
		})
		if err != nil {
			t.Fatalf("no pull error in the reason: %+v", j)
		}
		if !strings.Contains(j.Reason, "ErrImagePull") && !strings.Contains(j.Reason, "ImagePullBackOff") {
			t.Errorf("reason names neither ErrImagePull nor ImagePullBackOff: %q", j.Reason)
		}
		t.Logf("reason: %s", j.Reason)
		// The table shows it too.
		if out, err := job("get", "nopull"); err != nil || !strings.Contains(out, "cannot pull the image") {
			t.Errorf("job get: %v\n%s", err, out)
		}
	})

	t.Run("ferry top lists a running notebook with non-zero CPU and memory", func(t *testing.T) {
		if out, err := c.ferry(t, time.Minute, "notebook", "--tenant", "mon", "create", "top", "--image", img, "--cpu", "500m", "--memory", "1Gi", "--workspace", "64Mi"); err != nil {
			t.Fatalf("notebook create: %v\n%s", err, out)
		}
		var top v1.Top
		var nb *v1.WorkloadUsage
		err := wait.PollUntilContextTimeout(ctx, 3*time.Second, 5*time.Minute, true, func(context.Context) (bool, error) {
			out, err := c.ferry(t, time.Minute, "top", "--tenant", "mon", "-o", "json")
			if err != nil || json.Unmarshal([]byte(out[strings.Index(out, "{"):]), &top) != nil {
				return false, nil
			}
			nb = nil
			for i, u := range top.Items {
				if u.Kind == v1.WorkloadNotebook && u.Name == "top" {
					nb = &top.Items[i]
				}
			}
			return nb != nil && nb.Current != nil && nb.Current.CPUMillicores > 0 && nb.Current.MemoryBytes > 0, nil
		})
		if err != nil {
			t.Fatalf("ferry top has no notebook with non-zero CPU and memory: %+v", top)
		}
		if nb.Request.CPUMillicores != 500 || nb.Request.MemoryBytes != 1<<30 || top.Stale {
			t.Errorf("notebook in top: %+v (stale %v)", nb, top.Stale)
		}
		t.Logf("FIGURE ferry top: notebook uses %dm CPU, %d MiB (requests 500m, 1Gi)", nb.Current.CPUMillicores, nb.Current.MemoryBytes>>20)
		if out, err := c.ferry(t, time.Minute, "top", "--tenant", "mon"); err != nil || !strings.Contains(out, "notebook") || !strings.Contains(out, "500m") {
			t.Errorf("top table: %v\n%s", err, out)
		}
		if out, err := c.ferry(t, time.Minute, "notebook", "--tenant", "mon", "get", "top"); err != nil || !strings.Contains(out, "PEAK/REQUEST") {
			t.Errorf("notebook get shows no use against the request: %v\n%s", err, out)
		}
	})

	t.Run("the tenant's quota use matches its running pods", func(t *testing.T) {
		var q v1.QuotaUse
		var rq *corev1.ResourceQuota
		err := wait.PollUntilContextTimeout(ctx, 3*time.Second, 2*time.Minute, true, func(ctx context.Context) (bool, error) {
			out, err := c.ferry(t, time.Minute, "tenant", "quota", "mon", "-o", "json")
			if err != nil || json.Unmarshal([]byte(out[strings.Index(out, "{"):]), &q) != nil {
				return false, nil
			}
			if rq, err = c.cs.CoreV1().ResourceQuotas("ferry-mon").Get(ctx, "ferry-quota", metav1.GetOptions{}); err != nil {
				return false, nil
			}
			cpu, mem := rq.Status.Used[corev1.ResourceRequestsCPU], rq.Status.Used[corev1.ResourceRequestsMemory]
			return q.Requested.CPUMillicores > 0 && q.Requested.CPUMillicores == cpu.MilliValue() && q.Requested.MemoryBytes == mem.Value(), nil
		})
		if err != nil {
			t.Fatalf("quota use %+v does not match the ResourceQuota's used %v", q.Requested, rq.Status.Used)
		}
		// The notebook (500m) and the job waiting for its image (100m) hold quota.
		if q.Requested.CPUMillicores != 600 || q.Limit.CPUMillicores != 4000 || q.Free.CPUMillicores != 3400 || q.Used.MemoryBytes <= 0 {
			t.Errorf("quota use: %+v", q)
		}
		if out, err := c.ferry(t, time.Minute, "tenant", "get", "mon"); err != nil || !strings.Contains(out, "REQUESTED") || !strings.Contains(out, "600m") {
			t.Errorf("tenant get shows no quota use: %v\n%s", err, out)
		}
	})

	t.Run("reads of the tenant's logs are listed for its owners", func(t *testing.T) {
		if _, err := job("logs", "oom"); err != nil {
			t.Fatalf("logs: %v", err)
		}
		out, err := c.ferry(t, time.Minute, "audit", "reads", "--tenant", "mon", "--kind", "log")
		if err != nil || !strings.Contains(out, "job/oom replica 0") {
			t.Fatalf("audit reads: %v\n%s", err, out)
		}
	})

	t.Run("FIGURE the control plane's CPU and memory with 200 more ferry pods sampled", func(t *testing.T) {
		controlPlaneFigure(t, c, "mon", 200)
	})

	// Clean-up: nopull may have ended by itself (then there is nothing to cancel).
	if out, err := job("cancel", "nopull"); err != nil && !strings.Contains(out, "already") {
		t.Errorf("cancel nopull: %v\n%s", err, out)
	}
	if out, err := c.ferry(t, time.Minute, "notebook", "--tenant", "mon", "delete", "top"); err != nil {
		t.Errorf("notebook delete: %v\n%s", err, out)
	}
}

// pauseImage is the sandbox image every node of ferry's node image holds
// (bootstrap/nodeimage/versions.go).
const pauseImage = "registry.k8s.io/pause:3.10.2"

// controlPlaneFigure measures the control plane's CPU and memory (from its
// node's kubelet summary through the API server, as the sampler reads
// use) before and while n more pause pods, labelled as the pods of n ferry
// jobs, run in tenant's namespace across the nodes: the sampler sums and
// stores each of them every pass. It prints the figures and checks only
// sane bounds, then deletes the pods.
func controlPlaneFigure(t *testing.T, c *cluster, tenant string, n int) {
	ctx := context.Background()
	ns := tenants.Namespace(tenant)
	const figureLabel = "ferry.io/e2e-figure"
	cps, err := c.cs.CoreV1().Pods(platformNS).List(ctx, metav1.ListOptions{LabelSelector: "app.kubernetes.io/component=control-plane"})
	if err != nil || len(cps.Items) != 1 || cps.Items[0].Spec.NodeName == "" {
		t.Fatalf("control-plane pod: %v (%d)", err, len(cps.Items))
	}
	cp := cps.Items[0]
	read := func() (cpuMilli, memMiB float64, ok bool) {
		raw, err := c.cs.CoreV1().RESTClient().Get().AbsPath("/api/v1/nodes", cp.Spec.NodeName, "proxy/stats/summary").DoRaw(ctx)
		if err != nil {
			t.Logf("summary of %s: %v", cp.Spec.NodeName, err)
			return 0, 0, false
		}
		pods, err := monitor.ParseSummary(strings.NewReader(string(raw)))
		if err != nil {
			t.Logf("summary of %s: %v", cp.Spec.NodeName, err)
			return 0, 0, false
		}
		for _, p := range pods {
			if p.Namespace == cp.Namespace && p.Name == cp.Name {
				return float64(p.CPU) / 1e6, float64(p.Memory) / (1 << 20), true
			}
		}
		return 0, 0, false
	}
	// measure reads every 15 s (the sampling interval) for d: mean and
	// peak CPU, peak memory.
	measure := func(d time.Duration) (meanCPU, peakCPU, peakMem float64) {
		k := 0
		for end := time.Now().Add(d); ; {
			if cpu, mem, ok := read(); ok {
				k++
				meanCPU += cpu
				peakCPU, peakMem = max(peakCPU, cpu), max(peakMem, mem)
			}
			if time.Now().After(end) {
				break
			}
			time.Sleep(15 * time.Second)
		}
		if k == 0 {
			t.Fatalf("no reading of the control plane's use from its kubelet")
		}
		return meanCPU / float64(k), peakCPU, peakMem
	}
	baseCPU, basePeak, baseMem := measure(30 * time.Second)

	nodes, err := c.cs.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil || len(nodes.Items) == 0 {
		t.Fatalf("nodes: %v", err)
	}
	small := corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("5m"), corev1.ResourceMemory: resource.MustParse("8Mi")}
	t.Cleanup(func() {
		_ = c.cs.CoreV1().Pods(ns).DeleteCollection(context.Background(), metav1.DeleteOptions{GracePeriodSeconds: new(int64)},
			metav1.ListOptions{LabelSelector: figureLabel})
	})
	for i := range n {
		name := fmt.Sprintf("figure-%03d", i)
		pod := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: map[string]string{
				tenants.ManagedByLabel: tenants.ManagedBy, tenants.TenantLabel: tenant, jobs.JobLabel: name, figureLabel: "1"}},
			Spec: corev1.PodSpec{
				NodeName:                      nodes.Items[i%len(nodes.Items)].Name,
				Tolerations:                   []corev1.Toleration{{Operator: corev1.TolerationOpExists}},
				AutomountServiceAccountToken:  new(false),
				TerminationGracePeriodSeconds: new(int64),
				Containers: []corev1.Container{{Name: "main", Image: pauseImage, ImagePullPolicy: corev1.PullNever,
					Resources: corev1.ResourceRequirements{Requests: small, Limits: small}}},
			},
		}
		if _, err := c.cs.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{}); err != nil {
			t.Fatalf("pod %s: %v", name, err)
		}
	}
	err = wait.PollUntilContextTimeout(ctx, 3*time.Second, 4*time.Minute, true, func(ctx context.Context) (bool, error) {
		l, err := c.cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: figureLabel, FieldSelector: "status.phase=Running"})
		return err == nil && len(l.Items) == n, nil
	})
	if err != nil {
		t.Fatalf("the %d pause pods are not all running: %v", n, err)
	}
	// The sampler sees them (every 15 s): wait for one pass with them all.
	err = wait.PollUntilContextTimeout(ctx, 5*time.Second, 2*time.Minute, true, func(context.Context) (bool, error) {
		out, err := c.ferry(t, time.Minute, "top", "--tenant", tenant, "--limit", "1000", "-o", "json")
		var top v1.Top
		if err != nil || json.Unmarshal([]byte(out[strings.Index(out, "{"):]), &top) != nil {
			return false, nil
		}
		seen := 0
		for _, u := range top.Items {
			if u.Kind == v1.WorkloadJob && strings.HasPrefix(u.Name, "figure-") {
				seen++
			}
		}
		return seen == n, nil
	})
	if err != nil {
		t.Fatalf("ferry top does not list the %d pause pods' jobs", n)
	}
	all, _ := c.cs.CoreV1().Pods("").List(ctx, metav1.ListOptions{LabelSelector: tenants.ManagedByLabel + "=" + tenants.ManagedBy})
	loadCPU, loadPeak, loadMem := measure(60 * time.Second)
	t.Logf("FIGURE control plane before: CPU mean %.0fm (peak %.0fm), memory peak %.0f MiB", baseCPU, basePeak, baseMem)
	t.Logf("FIGURE control plane with %d more pause pods (%d ferry pods in all), sampled every 15 s for 60 s: CPU mean %.0fm (peak %.0fm), memory peak %.0f MiB; extra: CPU %+.0fm, memory %+.0f MiB",
		n, len(all.Items), loadCPU, loadPeak, loadMem, loadCPU-baseCPU, loadMem-baseMem)
	if loadMem <= 0 || loadMem >= 512 {
		t.Errorf("control plane memory %.0f MiB, want within (0, 512)", loadMem)
	}
	if loadCPU >= 1000 {
		t.Errorf("control plane CPU %.0fm on average, want under one core", loadCPU)
	}
	// One DeleteCollection of 100 pods can outlast the API server's
	// request (a reset HTTP/2 stream on a loaded machine): delete again
	// until none is left, and name the last error if some stay.
	var delErr error
	err = wait.PollUntilContextTimeout(ctx, 3*time.Second, 3*time.Minute, true, func(ctx context.Context) (bool, error) {
		l, err := c.cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: figureLabel})
		if err != nil || len(l.Items) > 0 {
			delErr = c.cs.CoreV1().Pods(ns).DeleteCollection(ctx, metav1.DeleteOptions{GracePeriodSeconds: new(int64)}, metav1.ListOptions{LabelSelector: figureLabel})
			return false, nil
		}
		return true, nil
	})
	if err != nil {
		t.Errorf("the pause pods are not gone: %v (last delete: %v)", err, delErr)
	}
}
