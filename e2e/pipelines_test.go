//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"

	v1 "github.com/ferry-ml/ferry/api/v1"
)

// pipelineSpec prepares the digits data set, trains a logistic regression
// over a fan-out of three C values, and picks the best score; its steps
// pass an artifact (the data) and parameters (the scores).
const pipelineSpec = `apiVersion: ferry.dev/v1
kind: Pipeline
parameters:
  - {name: cs, type: list, default: [0.01, 0.1, 1.0]}
steps:
  - name: prepare
    image: IMAGE
    resources: {cpu: 250m, memory: 384Mi}
    command: [python3, -c, "import numpy as np; from sklearn.datasets import load_digits; d = load_digits(); np.savez('/ferry/outputs/data', x=d.data, y=d.target); import os; os.rename('/ferry/outputs/data.npz', '/ferry/outputs/data'); print('prepared', len(d.target))"]
    outputs: {artifacts: [data]}
  - name: train
    image: IMAGE
    resources: {cpu: 250m, memory: 384Mi}
    command: [python3, -c, "import sys, numpy as np; from sklearn.linear_model import LogisticRegression; from sklearn.model_selection import train_test_split; d = np.load('/ferry/inputs/data'); xt, xv, yt, yv = train_test_split(d['x'], d['y'], random_state=0); c = float(sys.argv[1]); s = LogisticRegression(C=c, max_iter=2000).fit(xt, yt).score(xv, yv); open('/ferry/outputs/parameters/score', 'w').write(str(s)); open('/ferry/outputs/metrics/accuracy', 'w').write(str(s)); print('C', c, 'accuracy', s)"]
    args: ["{{item}}"]
    inputs: {artifacts: {data: "{{steps.prepare.outputs.artifacts.data}}"}}
    outputs: {parameters: [score], metrics: [accuracy]}
    parallelFor: {items: "{{params.cs}}", parallelism: 3}
  - name: pick
    image: IMAGE
    resources: {cpu: 250m, memory: 256Mi}
    command: [python3, -c, "import json; s = json.load(open('/ferry/inputs/parameters/scores')); b = max(range(len(s)), key=lambda i: s[i]); open('/ferry/outputs/parameters/best', 'w').write(str(b)); print('best', b, s[b])"]
    inputs: {parameters: {scores: "{{steps.train.outputs.parameters.score}}"}}
    outputs: {parameters: [best]}
`

// failingSpec has one step that fails every time, retried once with a backoff.
const failingSpec = `apiVersion: ferry.dev/v1
kind: Pipeline
steps:
  - name: flaky
    image: IMAGE
    resources: {cpu: 100m, memory: 64Mi}
    command: [sh, -c, "echo flaky-step-was-here; exit 3"]
    retries: {limit: 1, backoff: {initial: 2s}}
    cache: false
`

// pipelineImage is the workload image, loaded into the nodes only when the
// training-jobs subtest has not already done so (a load costs minutes).
func pipelineImage(t *testing.T, c *cluster) string {
	t.Helper()
	out, err := exec.Command(ferryBin, "workload-image", "build").Output()
	if err != nil {
		t.Fatalf("workload-image build: %v", err)
	}
	tag := strings.TrimSpace(string(out))
	nodes, err := c.cs.CoreV1().Nodes().List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatalf("list nodes: %v", err)
	}
	loaded := len(nodes.Items) > 0
	for _, n := range nodes.Items {
		has := false
		for _, img := range n.Status.Images {
			for _, name := range img.Names {
				has = has || name == tag || strings.HasSuffix(name, "/"+tag)
			}
		}
		loaded = loaded && has
	}
	if !loaded {
		return workloadImage(t, c)
	}
	return tag
}

// testPipelines runs pipelines on the cluster with the workload image: a
// fan-out DAG whose second run is answered from the cache with no pod, and
// a failing step that is retried and then fails the run with its log kept.
func testPipelines(t *testing.T, c *cluster, img string) {
	ctx := context.Background()
	if out, err := c.ferry(t, time.Minute, "tenant", "create", "pipes", "--cpu", "4", "--memory", "6Gi"); err != nil {
		t.Fatalf("tenant create pipes: %v\n%s", err, out)
	}
	waitTenantObjects(t, c, "pipes")
	dir := t.TempDir()
	write := func(name, spec string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(strings.ReplaceAll(spec, "IMAGE", img)), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	pf := func(timeout time.Duration, args ...string) (string, error) {
		return c.ferry(t, timeout, append(args, "--tenant", "pipes")...)
	}
	getRun := func(t *testing.T, id string) v1.PipelineRun {
		t.Helper()
		out, err := pf(time.Minute, "run", "get", id, "-o", "json")
		var r v1.PipelineRun
		if err != nil || json.Unmarshal([]byte(out[strings.Index(out, "{"):]), &r) != nil {
			t.Fatalf("run get %s: %v\n%s", id, err, out)
		}
		return r
	}
	submit := func(t *testing.T, pipeline string, wait time.Duration, args ...string) (v1.PipelineRun, error) {
		t.Helper()
		out, err := pf(wait+time.Minute, append([]string{"run", "submit", pipeline, "--wait", wait.String(), "-o", "json"}, args...)...)
		var r v1.PipelineRun
		// The run's JSON, then (when it failed) the CLI's "Error: ..." line:
		// decode the first JSON value and leave what follows it.
		if i := strings.Index(out, "{"); i < 0 || json.NewDecoder(strings.NewReader(out[i:])).Decode(&r) != nil || r.ID == "" {
			t.Fatalf("run submit %s: %v\n%s", pipeline, err, out)
		}
		return r, err
	}
	stepPods := func(run string) int {
		pods, err := c.cs.CoreV1().Pods("ferry-pipes").List(ctx, metav1.ListOptions{LabelSelector: "ferry.io/pipeline-run=" + run})
		if err != nil {
			t.Fatalf("list pods: %v", err)
		}
		return len(pods.Items)
	}

	t.Run("a fan-out pipeline runs one pod per step, and its second run is all cached with no pod", func(t *testing.T) {
		if out, err := pf(time.Minute, "pipeline", "create", "digits", "-f", write("digits.yaml", pipelineSpec)); err != nil {
			t.Fatalf("pipeline create: %v\n%s", err, out)
		}
		start := time.Now()
		r, err := submit(t, "digits", 4*time.Minute)
		if err != nil || r.State != v1.PipelineRunSucceeded {
			logs, _ := pf(time.Minute, "run", "get", r.ID)
			t.Fatalf("first run %s: %v\n%s", r.State, err, logs)
		}
		t.Logf("FIGURE 5-step pipeline (prepare, 3× train, pick) submit → succeeded: %s", time.Since(start).Round(100*time.Millisecond))
		r = getRun(t, r.ID)
		byName := map[string]v1.StepRun{}
		for _, s := range r.Steps {
			byName[s.Name] = s
		}
		if len(r.Steps) != 5 || byName["pick"].Outputs["best"] == "" || !strings.HasPrefix(byName["prepare"].Outputs["data"], "sha256:") {
			t.Fatalf("first run's steps: %+v", r.Steps)
		}
		for _, s := range r.Steps {
			if s.State != v1.PipelineRunSucceeded || s.Pod == "" || s.RunID == "" {
				t.Errorf("step %s: %s, pod %q, run %q", s.Name, s.State, s.Pod, s.RunID)
			}
		}
		if out, err := pf(time.Minute, "run", "logs", r.ID, "train[1]"); err != nil || !strings.Contains(out, "accuracy") {
			t.Errorf("train[1]'s log: %v\n%s", err, out)
		}
		// Ended step pods are deleted once their logs are kept.
		if err := wait.PollUntilContextTimeout(ctx, time.Second, time.Minute, true, func(context.Context) (bool, error) {
			return stepPods(r.ID) == 0, nil
		}); err != nil {
			t.Errorf("%d step pods of the finished run are left", stepPods(r.ID))
		}

		start = time.Now()
		r2, err := submit(t, "digits", 2*time.Minute)
		if err != nil || r2.State != v1.PipelineRunSucceeded {
			t.Fatalf("second run %s: %v", r2.State, err)
		}
		t.Logf("FIGURE fully cached 5-step run submit → succeeded (CLI polls each second): %s", time.Since(start).Round(100*time.Millisecond))
		r2 = getRun(t, r2.ID)
		for _, s := range r2.Steps {
			if s.State != v1.StepCached || s.Pod != "" || s.CachedFrom != r.ID {
				t.Errorf("second run's step %s: %s, pod %q, cached from %q (want cached from %s, no pod)", s.Name, s.State, s.Pod, s.CachedFrom, r.ID)
			}
		}
		if n := stepPods(r2.ID); n != 0 {
			t.Errorf("the cached run has %d pods", n)
		}
		table, err := pf(time.Minute, "run", "get", r2.ID)
		if err != nil || !strings.Contains(table, "hit (run "+r.ID+")") {
			t.Errorf("run get does not name the producing run:\n%s", table)
		}
	})

	t.Run("a failing step is retried with backoff, then fails the run, and its log stays readable", func(t *testing.T) {
		if out, err := pf(time.Minute, "pipeline", "create", "flaky", "-f", write("flaky.yaml", failingSpec)); err != nil {
			t.Fatalf("pipeline create: %v\n%s", err, out)
		}
		r, err := submit(t, "flaky", 2*time.Minute)
		if err == nil || r.State != v1.PipelineRunFailed {
			t.Fatalf("the failing run ended %s (%v)", r.State, err)
		}
		r = getRun(t, r.ID)
		if len(r.Steps) != 1 || r.Steps[0].Attempt != 1 || !strings.Contains(r.Steps[0].Reason, "exit code 3") {
			t.Fatalf("flaky step: %+v", r.Steps)
		}
		if err := wait.PollUntilContextTimeout(ctx, time.Second, time.Minute, true, func(context.Context) (bool, error) {
			return stepPods(r.ID) == 0, nil
		}); err != nil {
			t.Fatalf("the failed step's pods are still there")
		}
		out, err := pf(time.Minute, "run", "logs", r.ID, "flaky")
		if err != nil || !strings.Contains(out, "flaky-step-was-here") {
			t.Fatalf("the failed step's log after its pods are gone: %v\n%s", err, out)
		}
		fmt.Fprintln(os.Stderr, "pipelines: failing step retried once and its log kept")
	})
}
