//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"

	v1 "github.com/ferry-ml/ferry/api/v1"
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

	if _, err := job("cancel", "nopull"); err != nil {
		t.Errorf("cancel nopull: %v", err)
	}
	if _, err := c.ferry(t, time.Minute, "notebook", "--tenant", "mon", "delete", "top"); err != nil {
		t.Errorf("notebook delete: %v", err)
	}
}
