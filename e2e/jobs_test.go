//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
)

// workloadImage builds (or finds) ferry's workload image and loads it into
// the cluster's nodes.
func workloadImage(t *testing.T, c *cluster) string {
	t.Helper()
	start := time.Now()
	out, err := exec.Command(ferryBin, "workload-image", "build").Output()
	if err != nil {
		t.Fatalf("workload-image build: %v", err)
	}
	tag := strings.TrimSpace(string(out))
	t.Logf("workload image %s ready in %s", tag, time.Since(start).Round(time.Second))
	if _, err := c.ferry(t, 10*time.Minute, "image", "load", "--name", c.name, tag); err != nil {
		t.Fatalf("load %s: %v", tag, err)
	}
	return tag
}

// as is a CLI logged in as another user of the same server.
func (c *cluster) as(t *testing.T, user string) []string {
	t.Helper()
	env, _, _ := c.login(t, user)
	return env
}

// login creates a user and logs a CLI in as it: the CLI's environment, the
// server's URL and the user's token.
func (c *cluster) login(t *testing.T, user string) (env []string, server, token string) {
	t.Helper()
	out, err := c.ferry(t, time.Minute, "user", "create", user, "-o", "json")
	if err != nil {
		t.Fatalf("user create %s: %v", user, err)
	}
	var u struct{ Token string }
	if err := json.Unmarshal([]byte(out[strings.Index(out, "{"):]), &u); err != nil || u.Token == "" {
		t.Fatalf("user create %s: no token in %q", user, out)
	}
	cfg, _ := os.ReadFile(c.config)
	m := regexp.MustCompile(`server: (\S+)`).FindSubmatch(cfg)
	if m == nil {
		t.Fatalf("no server in %s", c.config)
	}
	server = string(m[1])
	env = []string{"FERRY_CONFIG=" + filepath.Join(t.TempDir(), user+".yaml"), "KUBECONFIG=" + c.kubeconfig}
	if _, err := ferry(t, time.Minute, env, "login", "--server", server, "--token", u.Token); err != nil {
		t.Fatalf("login as %s: %v", user, err)
	}
	return env, server, u.Token
}

// testJobs runs training jobs through the in-cluster control plane: a
// scikit-learn job whose log outlives its pods, a 2-rank PyTorch DDP job
// whose ranks agree on an all-reduce, a GPU job queued over its tenant's
// quota until the quota is raised, and the tenancy rules.
func testJobs(t *testing.T, c *cluster) {
	ctx := context.Background()
	img := workloadImage(t, c)
	if out, err := c.ferry(t, time.Minute, "tenant", "create", "ml", "--cpu", "6", "--memory", "8Gi", "--gpu", "1"); err != nil {
		t.Fatalf("tenant create ml: %v\n%s", err, out)
	}
	waitTenantObjects(t, c, "ml")
	alice, server, aliceToken := c.login(t, "alice")
	vic := c.as(t, "vic")
	eve, _, eveToken := c.login(t, "eve")
	for user, role := range map[string]string{"alice": "editor", "vic": "viewer"} {
		if _, err := c.ferry(t, time.Minute, "member", "add", "ml", user, "--role", role); err != nil {
			t.Fatal(err)
		}
	}
	job := func(env []string, args ...string) (string, error) {
		return ferry(t, 10*time.Minute, env, append([]string{"job", "--tenant", "ml"}, args...)...)
	}

	t.Run("a scikit-learn job completes and its log is readable after its pods are gone", func(t *testing.T) {
		start := time.Now()
		if out, err := job(alice, "submit", "digits", "--image", img, "--cpu", "500m", "--memory", "512Mi", "--wait", "5m", "--",
			"python3", "/opt/ferry/examples/sklearn_train.py", "--min-accuracy", "0.9", "--register-as", "digits"); err != nil {
			t.Fatalf("submit: %v\n%s", err, out)
		}
		t.Logf("FIGURE sklearn job submit → succeeded: %s", time.Since(start).Round(100*time.Millisecond))
		// Finished and logged: the controller removed the Job and its pods.
		err := wait.PollUntilContextTimeout(ctx, time.Second, time.Minute, true, func(ctx context.Context) (bool, error) {
			pods, err := c.cs.CoreV1().Pods("ferry-ml").List(ctx, metav1.ListOptions{LabelSelector: "ferry.io/job=digits"})
			_, jerr := c.cs.BatchV1().Jobs("ferry-ml").Get(ctx, "digits", metav1.GetOptions{})
			return err == nil && len(pods.Items) == 0 && jerr != nil, nil
		})
		if err != nil {
			t.Fatal("the finished job's Job and pods are still there")
		}
		out, err := job(vic, "logs", "digits")
		if err != nil || !regexp.MustCompile(`accuracy=0\.9[0-9]*`).MatchString(out) {
			t.Fatalf("logs after the pods are gone: %v\n%s", err, out)
		}
		uploaded := regexp.MustCompile(`model uploaded: model/model.joblib sha256=([0-9a-f]{64})`).FindStringSubmatch(out)
		if uploaded == nil {
			t.Fatalf("the job did not log its model to its run:\n%s", out)
		}
		testTrackedJob(t, c, trackedJob{server: server, token: aliceToken, other: eveToken, tenant: "ml", job: "digits", digest: uploaded[1], viewer: vic})
	})

	t.Run("the tracked job's model is served through the gateway: OIP infer, a 20% canary, an automatic rollback, scale to zero", func(t *testing.T) {
		testServing(t, c, servingEnv{tenant: "ml", token: aliceToken, other: eveToken, img: img, editor: alice})
	})

	t.Run("the Python SDK preinstalled in the workload image logs to the job's run with the pod's scoped token", func(t *testing.T) {
		if out, err := job(alice, "submit", "sdk", "--image", img, "--cpu", "200m", "--memory", "256Mi", "--wait", "3m", "--",
			"python3", "-c", `import ferry; ferry.log_param("from", "sdk"); ferry.log_metric("answer", 42.0, step=1)`); err != nil {
			t.Fatalf("submit: %v\n%s", err, out)
		}
		testSDKLogged(t, trackedJob{server: server, token: aliceToken, tenant: "ml", job: "sdk", viewer: vic})
	})

	t.Run("a 2-rank PyTorch DDP job (gloo) completes with both ranks agreeing", func(t *testing.T) {
		if out, err := job(alice, "submit", "ddp", "--image", img, "--replicas", "2", "--cpu", "300m", "--memory", "768Mi", "--wait", "6m", "--",
			"python3", "/opt/ferry/examples/ddp.py", "--steps", "20"); err != nil {
			l0, _ := job(alice, "logs", "ddp", "--replica", "0")
			l1, _ := job(alice, "logs", "ddp", "--replica", "1")
			t.Fatalf("submit: %v\n%s\nrank 0:\n%s\nrank 1:\n%s", err, out, l0, l1)
		}
		weights := map[string]bool{}
		for _, r := range []string{"0", "1"} {
			out, err := job(vic, "logs", "ddp", "--replica", r)
			if err != nil || !strings.Contains(out, "rank="+r+" allreduce=3") {
				t.Fatalf("rank %s log: %v\n%s", r, err, out)
			}
			if m := regexp.MustCompile(`weights=(\S+)`).FindStringSubmatch(out); m != nil {
				weights[m[1]] = true
			}
		}
		if len(weights) != 1 {
			t.Errorf("the ranks' weights differ after DDP training: %v", weights)
		}
	})

	t.Run("a job over the tenant's whole GPU quota is refused at submit; one that must wait stays queued with the reason, then runs", func(t *testing.T) {
		// More than the whole quota could never run: refused with the reason, nothing stored.
		out, err := job(alice, "submit", "two-gpus", "--image", img, "--gpu", "2", "--cpu", "200m", "--memory", "256Mi", "--",
			"python3", "-c", "print('got my gpus')")
		if err == nil || !strings.Contains(out, "body.resources.gpu") || !strings.Contains(out, "whole gpu quota (1)") {
			t.Fatalf("a job over the whole quota was not refused with the reason: %v\n%s", err, out)
		}
		if out, err := job(vic, "get", "two-gpus"); err == nil || !strings.Contains(out+err.Error(), "404") {
			t.Fatalf("a refused job was stored: %v\n%s", err, out)
		}
		if out, err := c.ferry(t, time.Minute, "tenant", "update", "ml", "--gpu", "2"); err != nil {
			t.Fatalf("raise the quota: %v\n%s", err, out)
		}
		// A job that fits the quota but not what is free now waits, queued with the reason.
		if out, err := job(alice, "submit", "holder", "--image", img, "--gpu", "1", "--cpu", "200m", "--memory", "256Mi", "--",
			"python3", "-c", "import time; time.sleep(30)"); err != nil {
			t.Fatalf("submit holder: %v\n%s", err, out)
		}
		err = wait.PollUntilContextTimeout(ctx, time.Second, 3*time.Minute, true, func(context.Context) (bool, error) {
			out, _ = job(vic, "get", "holder", "-o", "json")
			return strings.Contains(out, `"state": "running"`), nil
		})
		if err != nil {
			t.Fatalf("the holder job did not start:\n%s", out)
		}
		if out, err := job(alice, "submit", "two-gpus", "--image", img, "--gpu", "2", "--cpu", "200m", "--memory", "256Mi", "--",
			"python3", "-c", "print('got my gpus')"); err != nil {
			t.Fatalf("submit: %v\n%s", err, out)
		}
		err = wait.PollUntilContextTimeout(ctx, time.Second, 20*time.Second, true, func(context.Context) (bool, error) {
			out, _ = job(vic, "get", "two-gpus", "-o", "json")
			return strings.Contains(out, "tenant quota: needs 2 nvidia.com/gpu"), nil
		})
		if err != nil || !strings.Contains(out, `"state": "queued"`) {
			t.Fatalf("the job that must wait is not queued with the reason: %v\n%s", err, out)
		}
		err = wait.PollUntilContextTimeout(ctx, 2*time.Second, 4*time.Minute, true, func(context.Context) (bool, error) {
			out, _ = job(vic, "get", "two-gpus", "-o", "json")
			return strings.Contains(out, `"state": "succeeded"`), nil
		})
		if err != nil {
			t.Fatalf("the job did not run once the holder finished:\n%s", out)
		}
		if logs, _ := job(vic, "logs", "two-gpus"); !strings.Contains(logs, "got my gpus") {
			t.Errorf("log: %s", logs)
		}
	})

	t.Run("a viewer cannot submit, and a member of no tenant finds nothing", func(t *testing.T) {
		if _, err := job(vic, "submit", "nope", "--image", img, "--", "true"); err == nil {
			t.Error("a viewer submitted a job")
		}
		for _, args := range [][]string{{"list"}, {"get", "digits"}, {"logs", "digits"}, {"cancel", "ddp"}} {
			out, err := job(eve, args...)
			if err == nil || !strings.Contains(out+err.Error(), "404") {
				t.Errorf("eve %v: %v %s", args, err, out)
			}
		}
	})

	t.Run("a notebook opens through the proxy, runs 1+1 on a kernel, is culled when idle and keeps its workspace", func(t *testing.T) {
		testNotebooks(t, c, img, alice, vic, eve)
	})

	t.Run("submit to running: ferry's admission next to a bare pod of the same image", func(t *testing.T) {
		pod := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: "bare", Namespace: "ferry-ml"},
			Spec: corev1.PodSpec{RestartPolicy: corev1.RestartPolicyNever, Containers: []corev1.Container{{
				Name: "main", Image: img, ImagePullPolicy: corev1.PullIfNotPresent, Command: []string{"sleep", "30"},
				Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("200m"), corev1.ResourceMemory: resource.MustParse("256Mi")}},
			}}},
		}
		start := time.Now()
		if _, err := c.cs.CoreV1().Pods("ferry-ml").Create(ctx, pod, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		bare := untilRunning(t, c, "name=bare", func() bool {
			p, err := c.cs.CoreV1().Pods("ferry-ml").Get(ctx, "bare", metav1.GetOptions{})
			return err == nil && p.Status.Phase == corev1.PodRunning
		}, start)
		start = time.Now()
		if out, err := job(alice, "submit", "sleeper", "--image", img, "--cpu", "200m", "--memory", "256Mi", "--", "sleep", "30"); err != nil {
			t.Fatalf("submit: %v\n%s", err, out)
		}
		viaFerry := untilRunning(t, c, "ferry.io/job=sleeper", func() bool {
			pods, err := c.cs.CoreV1().Pods("ferry-ml").List(ctx, metav1.ListOptions{LabelSelector: "ferry.io/job=sleeper"})
			return err == nil && len(pods.Items) == 1 && pods.Items[0].Status.Phase == corev1.PodRunning
		}, start)
		t.Logf("FIGURE submit → pod Running: ferry job %s, bare pod %s (+%s)", viaFerry.Round(10*time.Millisecond), bare.Round(10*time.Millisecond), (viaFerry - bare).Round(10*time.Millisecond))
		_ = c.cs.CoreV1().Pods("ferry-ml").Delete(ctx, "bare", metav1.DeleteOptions{GracePeriodSeconds: new(int64)})
		if out, err := job(alice, "cancel", "sleeper"); err != nil || !strings.Contains(out, "cancelled") {
			t.Errorf("cancel: %v %s", err, out)
		}
	})
}

func untilRunning(t *testing.T, c *cluster, what string, ok func() bool, start time.Time) time.Duration {
	t.Helper()
	if err := wait.PollUntilContextTimeout(context.Background(), 50*time.Millisecond, 3*time.Minute, true, func(context.Context) (bool, error) { return ok(), nil }); err != nil {
		t.Fatalf("%s not Running", what)
	}
	return time.Since(start)
}
