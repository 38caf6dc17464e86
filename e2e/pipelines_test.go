//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/apimachinery/pkg/watch"

	v1 "github.com/ferry-ml/ferry/api/v1"
	"github.com/ferry-ml/ferry/client"
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

// registerSpec is pipelineSpec whose pick step also writes the best C as a
// model file and registers it (ferry SDK, with the step's own run token) as
// a version of digits-best.
var registerSpec = strings.Replace(pipelineSpec,
	`print('best', b, s[b])"]`,
	`print('best', b, s[b]); import ferry; open('/tmp/best.json', 'w').write(json.dumps({'index': b, 'accuracy': s[b]})); ferry.log_artifact('/tmp/best.json', 'model/best.json'); print('registered version', ferry.register_model('digits-best', 'model'))"]`, 1)

// slowSpec's one step outlasts a minute, so a schedule ticking every
// minute finds its previous run still running.
const slowSpec = `apiVersion: ferry.dev/v1
kind: Pipeline
steps:
  - name: slow
    image: IMAGE
    resources: {cpu: 100m, memory: 64Mi}
    command: [sh, -c, "echo slow-start; sleep 80; echo slow-end"]
    cache: false
`

// resumeSpec runs a quick step, a 60 s one after it and a quick one after
// that: the control plane is killed while the middle one runs.
const resumeSpec = `apiVersion: ferry.dev/v1
kind: Pipeline
steps:
  - name: first
    image: IMAGE
    resources: {cpu: 100m, memory: 64Mi}
    command: [sh, -c, "echo first"]
    cache: false
  - name: middle
    image: IMAGE
    resources: {cpu: 100m, memory: 64Mi}
    command: [sh, -c, "echo middle-start; sleep 60; echo middle-end"]
    dependsOn: [first]
    cache: false
  - name: last
    image: IMAGE
    resources: {cpu: 100m, memory: 64Mi}
    command: [sh, -c, "echo last"]
    dependsOn: [middle]
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

// stepPodLog counts the step pods created in a namespace (distinct UIDs
// under each name, per pipeline run) from a watch that outlives the
// control plane; pods deleted once their step ended are still counted.
type stepPodLog struct {
	mu    sync.Mutex
	byRun map[string]map[string]map[types.UID]bool
}

func watchStepPods(t *testing.T, c *cluster, ns string) *stepPodLog {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	l := &stepPodLog{byRun: map[string]map[string]map[types.UID]bool{}}
	started := make(chan struct{})
	go func() {
		rv, once := "", sync.Once{}
		for ctx.Err() == nil {
			w, err := c.cs.CoreV1().Pods(ns).Watch(ctx, metav1.ListOptions{LabelSelector: "ferry.io/pipeline-run", ResourceVersion: rv})
			if err != nil {
				rv = ""
				time.Sleep(time.Second)
				continue
			}
			once.Do(func() { close(started) })
			for ev := range w.ResultChan() {
				if ev.Type == watch.Error {
					rv = ""
					break
				}
				pod, ok := ev.Object.(*corev1.Pod)
				if !ok {
					continue
				}
				rv = pod.ResourceVersion
				run := pod.Labels["ferry.io/pipeline-run"]
				l.mu.Lock()
				if l.byRun[run] == nil {
					l.byRun[run] = map[string]map[types.UID]bool{}
				}
				if l.byRun[run][pod.Name] == nil {
					l.byRun[run][pod.Name] = map[types.UID]bool{}
				}
				l.byRun[run][pod.Name][pod.UID] = true
				l.mu.Unlock()
			}
			w.Stop()
		}
	}()
	select {
	case <-started:
	case <-time.After(time.Minute):
		t.Fatal("could not watch the step pods")
	}
	return l
}

// created maps each pod name of run to the number of pods made under it.
func (l *stepPodLog) created(run string) map[string]int {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := map[string]int{}
	for name, uids := range l.byRun[run] {
		out[name] = len(uids)
	}
	return out
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

	t.Run("a one-step pipeline runs within 1.2× of a bare pod running the same command", func(t *testing.T) {
		const script = "import sklearn; print('one step done')"
		one := strings.ReplaceAll("apiVersion: ferry.dev/v1\nkind: Pipeline\nsteps:\n  - name: only\n    image: IMAGE\n    resources: {cpu: 250m, memory: 256Mi}\n    cache: false\n    command: [python3, -c, \""+script+"\"]\n", "IMAGE", img)
		if out, err := pf(time.Minute, "pipeline", "create", "one", "-f", write("one.yaml", one)); err != nil {
			t.Fatalf("pipeline create: %v\n%s", err, out)
		}
		// The bare pod first, so that neither finds the image's pages
		// warmer than the other did (both have it on the node already).
		small := corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("250m"), corev1.ResourceMemory: resource.MustParse("256Mi")}
		pod := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: "bare-one", Namespace: "ferry-pipes"},
			Spec: corev1.PodSpec{RestartPolicy: corev1.RestartPolicyNever, Containers: []corev1.Container{{
				Name: "main", Image: img, ImagePullPolicy: corev1.PullIfNotPresent, Command: []string{"python3", "-c", script},
				Resources: corev1.ResourceRequirements{Requests: small, Limits: small},
			}}},
		}
		start := time.Now()
		if _, err := c.cs.CoreV1().Pods("ferry-pipes").Create(ctx, pod, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 3*time.Minute, true, func(ctx context.Context) (bool, error) {
			p, err := c.cs.CoreV1().Pods("ferry-pipes").Get(ctx, "bare-one", metav1.GetOptions{})
			if err == nil && p.Status.Phase == corev1.PodFailed {
				return false, fmt.Errorf("bare pod failed")
			}
			return err == nil && p.Status.Phase == corev1.PodSucceeded, nil
		})
		bare := time.Since(start)
		_ = c.cs.CoreV1().Pods("ferry-pipes").Delete(ctx, "bare-one", metav1.DeleteOptions{GracePeriodSeconds: new(int64)})
		if err != nil {
			t.Fatalf("bare pod: %v", err)
		}
		pods := watchStepPods(t, c, "ferry-pipes") // a step's pod is gone once it succeeded
		start = time.Now()
		r, err := submit(t, "one", 3*time.Minute)
		viaFerry := time.Since(start)
		if err != nil || r.State != v1.PipelineRunSucceeded {
			t.Fatalf("one-step run %s: %v", r.State, err)
		}
		if got := pods.created(r.ID); len(got) != 1 || got[slices.Collect(maps.Keys(got))[0]] != 1 {
			t.Errorf("the one-step run made pods %v, want one", got)
		}
		// The CLI's --wait polls each second: up to 1 s of the figure is the poll.
		t.Logf("FIGURE one-step pipeline submit → succeeded %s, bare pod create → succeeded %s: %.2f× (goal ≤ 1.2×, the CLI polls each second)",
			viaFerry.Round(100*time.Millisecond), bare.Round(100*time.Millisecond), float64(viaFerry)/float64(bare))
	})

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
	steps := func(r v1.PipelineRun) map[string]v1.StepRun {
		m := map[string]v1.StepRun{}
		for _, s := range r.Steps {
			m[s.Name] = s
		}
		return m
	}
	decode := func(t *testing.T, out string, v any) {
		t.Helper()
		i := strings.Index(out, "{")
		if i < 0 || json.NewDecoder(strings.NewReader(out[i:])).Decode(v) != nil {
			t.Fatalf("not JSON: %s", out)
		}
	}
	// tryRun reads a run, false while the control plane does not answer.
	tryRun := func(id string) (v1.PipelineRun, bool) {
		out, err := pf(time.Minute, "run", "get", id, "-o", "json")
		var r v1.PipelineRun
		i := strings.Index(out, "{")
		if err != nil || i < 0 || json.Unmarshal([]byte(out[i:]), &r) != nil {
			return r, false
		}
		return r, true
	}

	t.Run("the fan-out pipeline's pick step registers the best model, shown with its lineage to the train steps", func(t *testing.T) {
		if out, err := pf(time.Minute, "pipeline", "create", "digits-reg", "-f", write("digits-reg.yaml", registerSpec)); err != nil {
			t.Fatalf("pipeline create: %v\n%s", err, out)
		}
		r, err := submit(t, "digits-reg", 5*time.Minute)
		if err != nil || r.State != v1.PipelineRunSucceeded {
			table, _ := pf(time.Minute, "run", "get", r.ID)
			logs, _ := pf(time.Minute, "run", "logs", r.ID, "pick")
			t.Fatalf("run %s: %v\n%s\n%s", r.State, err, table, logs)
		}
		byName := steps(getRun(t, r.ID))
		pick, data := byName["pick"], byName["prepare"].Outputs["data"]
		if pick.State != v1.PipelineRunSucceeded || pick.RunID == "" || !strings.HasPrefix(data, "sha256:") {
			t.Fatalf("pick %+v, data %q", pick, data)
		}
		out, err := pf(time.Minute, "model", "get", "digits-best")
		if err != nil || !strings.Contains(out, pick.RunID) || !strings.Contains(out, "pick (pipeline run "+r.ID+")") {
			t.Fatalf("model get does not show the version made by step pick of run %s (its run %s): %v\n%s", r.ID, pick.RunID, err, out)
		}
		out, err = pf(time.Minute, "lineage", "model", "digits-best/1", "-o", "json")
		if err != nil {
			t.Fatalf("lineage model: %v\n%s", err, out)
		}
		var l v1.ModelVersionLineage
		decode(t, out, &l)
		if l.MadeBy.Step != "pick" || l.MadeBy.PipelineRun != r.ID || l.MadeBy.RunID != pick.RunID {
			t.Fatalf("made by %+v", l.MadeBy)
		}
		trains := map[string]bool{}
		for _, s := range l.Steps {
			if s.PipelineRun == r.ID && s.Depth == 1 && strings.HasPrefix(s.Step, "train[") {
				trains[s.Step] = true
			}
		}
		if len(trains) != 3 || !slices.Contains(l.Artifacts, data) {
			t.Fatalf("the lineage reaches train steps %v (want train[0..2] at depth 1) and artifacts %v (want the data %s):\n%s", trains, l.Artifacts, data, out)
		}
		if table, err := pf(time.Minute, "lineage", "model", "digits-best/1"); err != nil || !strings.Contains(table, "made by run "+pick.RunID+" of step pick") || !strings.Contains(table, "train[2]") {
			t.Errorf("lineage model table: %v\n%s", err, table)
		}
		// The other way: the data was produced by a prepare step and consumed by train steps.
		out, err = pf(time.Minute, "lineage", "artifact", data, "-o", "json")
		var a v1.ArtifactLineage
		decode(t, out, &a)
		produced := slices.ContainsFunc(a.ProducedBy, func(r v1.LineageRun) bool { return r.Step == "prepare" && r.Path == "outputs/data" })
		consumed := slices.ContainsFunc(a.ConsumedBy, func(r v1.LineageRun) bool { return strings.HasPrefix(r.Step, "train[") && r.Path == "inputs/data" })
		if err != nil || !produced || !consumed {
			t.Errorf("lineage artifact %s: %v\n%s", data, err, out)
		}
	})

	t.Run("the same pipeline written with the Python DSL runs from a data scientist's laptop: one pod per step, the best model registered, then all cached", func(t *testing.T) {
		env, server, token := c.login(t, "pipes-dsl")
		if out, err := c.ferry(t, time.Minute, "member", "add", "pipes", "pipes-dsl", "--role", "editor"); err != nil {
			t.Fatalf("member add: %v\n%s", err, out)
		}
		pods := watchStepPods(t, c, "ferry-pipes")
		model := fmt.Sprintf("digits-dsl-%d", time.Now().UnixNano())
		sdk, err := filepath.Abs("../python")
		if err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command("python3", "dsl_digits.py", model, "0.01", "0.1", "1.0")
		cmd.Env = append(os.Environ(), append(env, "PYTHONPATH="+sdk, "FERRY_TENANT=pipes", "FERRY_E2E_IMAGE="+img)...)
		var stderr strings.Builder
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("python3 dsl_digits.py: %v\n%s\n%s", err, out, stderr.String())
		}
		var res struct {
			Runs []struct {
				Run     json.RawMessage
				Seconds float64
			}
			YAML string
		}
		if err := json.Unmarshal(out, &res); err != nil || len(res.Runs) != 2 {
			t.Fatalf("the script's answer: %v\n%s", err, out)
		}
		// The runs as the Python SDK decoded and re-encoded them: they must
		// read as the contract's type.
		var runs [2]v1.PipelineRun
		for i := range runs {
			if err := json.Unmarshal(res.Runs[i].Run, &runs[i]); err != nil {
				t.Fatalf("run %d as v1.PipelineRun: %v\n%s", i, err, res.Runs[i].Run)
			}
		}
		first, second := runs[0], runs[1]
		if first.State != v1.PipelineRunSucceeded || first.Pipeline != "digits-dsl" {
			table, _ := pf(time.Minute, "run", "get", first.ID)
			logs, _ := pf(time.Minute, "run", "logs", first.ID, "pick")
			t.Fatalf("the DSL pipeline's first run %s (%s):\n%s\n%s", first.ID, first.State, table, logs)
		}
		t.Logf("FIGURE DSL pipeline (prepare, 3× train, pick + register) submit → succeeded from the SDK: %.1f s; the same again, all cached: %.1f s", res.Runs[0].Seconds, res.Runs[1].Seconds)
		byName := steps(first)
		want := map[string]int{}
		for _, name := range []string{"prepare", "train[0]", "train[1]", "train[2]", "pick"} {
			s := byName[name]
			if s.State != v1.PipelineRunSucceeded || s.Pod == "" || s.RunID == "" {
				t.Errorf("first run's step %s: %s, pod %q, run %q", name, s.State, s.Pod, s.RunID)
			}
			want[s.Pod] = 1
		}
		if len(first.Steps) != 5 || !strings.HasPrefix(byName["prepare"].Outputs["data"], "sha256:") || byName["prepare"].Outputs["output"] != "1797" {
			t.Fatalf("first run's steps (want prepare's data artifact and its 1797 samples): %+v", first.Steps)
		}
		if got := pods.created(first.ID); !maps.Equal(got, want) {
			t.Errorf("pods created for the first run: %v, want one per step: %v", got, want)
		}
		// Each train step's function logged its accuracy with ferry.log_metric
		// into its own run; pick registered the best as version 1.
		api := client.New(server, client.WithToken(token))
		best := 0.0
		for i := range 3 {
			r, err := api.GetRun(ctx, "pipes", byName[fmt.Sprintf("train[%d]", i)].RunID)
			if err != nil {
				t.Fatal(err)
			}
			acc := -1.0
			for _, m := range r.Metrics {
				if v, ok := m.Value.(float64); ok && m.Key == "accuracy" {
					acc = v
				}
			}
			if acc < 0.8 || acc > 1 || r.Params["C"] == "" {
				t.Errorf("train[%d]'s run: accuracy %v, C %q (metrics %v)", i, acc, r.Params["C"], r.Metrics)
			}
			best = max(best, acc)
		}
		pick := byName["pick"]
		versions, err := api.ListModelVersions(ctx, "pipes", model, v1.ListOptions{})
		if err != nil || len(versions.Items) != 1 || versions.Items[0].RunID != pick.RunID || pick.Outputs["output"] != "1" {
			t.Fatalf("model %s: %+v %v, want version 1 from pick's run %s (pick returned %q)", model, versions.Items, err, pick.RunID, pick.Outputs["output"])
		}
		arts, err := api.ListRunArtifacts(ctx, "pipes", pick.RunID, "model")
		if err != nil || len(arts.Items) != 1 || arts.Items[0].Path != "model/best.json" {
			t.Fatalf("pick's model directory: %+v %v", arts.Items, err)
		}
		// The second run: the same parameters, every step answered from the
		// first run's outputs, no pod at all.
		if second.State != v1.PipelineRunSucceeded {
			t.Fatalf("second run %s: %s", second.ID, second.State)
		}
		for _, s := range second.Steps {
			if s.State != v1.StepCached || s.Pod != "" || s.CachedFrom != first.ID {
				t.Errorf("second run's step %s: %s, pod %q, cached from %q (want cached from %s, no pod)", s.Name, s.State, s.Pod, s.CachedFrom, first.ID)
			}
		}
		if got := pods.created(second.ID); len(got) != 0 {
			t.Errorf("the all-cached run created pods: %v", got)
		}
		if versions, err := api.ListModelVersions(ctx, "pipes", model, v1.ListOptions{}); err != nil || len(versions.Items) != 1 {
			t.Errorf("the cached run registered again: %+v %v", versions.Items, err)
		}
		if !strings.Contains(res.YAML, "ferry.runstep") || !strings.Contains(res.YAML, "parallelFor") {
			t.Errorf("the compiled YAML does not run the functions with ferry.runstep over a fan-out:\n%s", res.YAML)
		}
		t.Logf("DSL pipeline: best accuracy %.4f registered as %s/1", best, model)
	})

	t.Run("changing one parameter re-runs only the steps downstream of it", func(t *testing.T) {
		pods := watchStepPods(t, c, "ferry-pipes")
		if out, err := pf(time.Minute, "pipeline", "create", "digits", "-f", write("digits.yaml", pipelineSpec)); err != nil {
			t.Fatalf("pipeline create: %v\n%s", err, out)
		}
		// The defaults once more (cached when the first subtest ran), then one C changed.
		if r, err := submit(t, "digits", 4*time.Minute); err != nil || r.State != v1.PipelineRunSucceeded {
			t.Fatalf("run with the defaults: %s %v", r.State, err)
		}
		// C = 0.0001 regularises so hard that train[2]'s score differs
		// from C = 1's, so pick's input changes too. (The cluster run with
		// C = 0.5 scored the same as C = 1, and pick was, rightly, a cache
		// hit: the key is on input values.)
		r, err := submit(t, "digits", 4*time.Minute, "-p", "cs=[0.01,0.1,0.0001]")
		if err != nil || r.State != v1.PipelineRunSucceeded {
			t.Fatalf("run with cs=[0.01,0.1,0.0001]: %s %v", r.State, err)
		}
		byName := steps(getRun(t, r.ID))
		for _, name := range []string{"prepare", "train[0]", "train[1]"} {
			if s := byName[name]; s.State != v1.StepCached || s.Pod != "" {
				t.Errorf("step %s upstream of the change or beside it: %s, pod %q (want cached, no pod)", name, s.State, s.Pod)
			}
		}
		want := map[string]int{}
		for _, name := range []string{"train[2]", "pick"} {
			s := byName[name]
			if s.State != v1.PipelineRunSucceeded || s.Pod == "" || s.CachedFrom != "" {
				t.Errorf("step %s downstream of the change: %s, pod %q, cached from %q (want run again)", name, s.State, s.Pod, s.CachedFrom)
			}
			want[s.Pod] = 1
		}
		if got := pods.created(r.ID); !maps.Equal(got, want) {
			t.Errorf("pods created for the run: %v, want one each of %v", got, want)
		}
		t.Logf("FIGURE one changed fan-out item: %d of %d steps ran a pod", len(pods.created(r.ID)), len(byName))
	})

	t.Run("a schedule every minute with Forbid whose run outlasts a minute starts runs and never two at once", func(t *testing.T) {
		_, server, token := c.login(t, "pipes-watcher")
		if out, err := c.ferry(t, time.Minute, "member", "add", "pipes", "pipes-watcher", "--role", "viewer"); err != nil {
			t.Fatalf("member add: %v\n%s", err, out)
		}
		api := client.New(server, client.WithToken(token))
		if out, err := pf(time.Minute, "pipeline", "create", "slow", "-f", write("slow.yaml", slowSpec)); err != nil {
			t.Fatalf("pipeline create: %v\n%s", err, out)
		}
		if out, err := pf(time.Minute, "schedule", "create", "slow-minutely", "--pipeline", "slow", "--cron", "* * * * *", "--policy", "Forbid"); err != nil {
			t.Fatalf("schedule create: %v\n%s", err, out)
		}
		runs := func() []v1.PipelineRun {
			all, err := client.Collect(ctx, func(ctx context.Context, o v1.ListOptions) (v1.List[v1.PipelineRun], error) {
				return api.ListPipelineRuns(ctx, "pipes", v1.PipelineRunListOptions{Pipeline: "slow", ListOptions: o})
			})
			if err != nil {
				t.Logf("list runs: %v", err)
			}
			return all
		}
		t.Cleanup(func() {
			_, _ = pf(time.Minute, "schedule", "delete", "slow-minutely")
			for _, r := range runs() {
				if !r.State.Done() {
					_, _ = pf(time.Minute, "run", "cancel", r.ID)
				}
			}
		})
		maxActive := 0
		for end := time.Now().Add(150 * time.Second); time.Now().Before(end); time.Sleep(3 * time.Second) {
			var active []string
			for _, r := range runs() {
				if !r.State.Done() {
					active = append(active, r.ID)
				}
			}
			maxActive = max(maxActive, len(active))
			if len(active) > 1 {
				t.Errorf("%s: %d runs of the Forbid schedule at once: %v", time.Now().Format(time.TimeOnly), len(active), active)
			}
		}
		all := runs()
		sort.Slice(all, func(i, j int) bool { return all[i].CreatedAt.Before(all[j].CreatedAt) })
		for i, r := range all {
			if r.Schedule != "slow-minutely" {
				t.Errorf("run %s was not started by the schedule: %q", r.ID, r.Schedule)
			}
			if i > 0 && (all[i-1].FinishedAt == nil || r.CreatedAt.Before(*all[i-1].FinishedAt)) {
				t.Errorf("run %s was started at %s before run %s ended (%v)", r.ID, r.CreatedAt, all[i-1].ID, all[i-1].FinishedAt)
			}
		}
		// Three ticks in 150 s: the one during the first 80 s run is skipped.
		if len(all) < 1 || len(all) > 2 || maxActive != 1 {
			t.Fatalf("%d runs in 150 s, at most %d at once (want 1 or 2, one at a time)", len(all), maxActive)
		}
		t.Logf("FIGURE Forbid schedule every minute, 80 s runs, 150 s watched: %d runs, never two at once", len(all))
	})

	t.Run("the control plane killed mid-run resumes the run without re-running or duplicating a step", func(t *testing.T) {
		pods := watchStepPods(t, c, "ferry-pipes")
		if out, err := pf(time.Minute, "pipeline", "create", "resume", "-f", write("resume.yaml", resumeSpec)); err != nil {
			t.Fatalf("pipeline create: %v\n%s", err, out)
		}
		out, err := pf(time.Minute, "run", "submit", "resume", "-o", "json")
		var r v1.PipelineRun
		decode(t, out, &r)
		if err != nil || r.ID == "" {
			t.Fatalf("run submit: %v\n%s", err, out)
		}
		// Wait for the middle step's pod to run, the first step done.
		var before map[string]v1.StepRun
		err = wait.PollUntilContextTimeout(ctx, time.Second, 3*time.Minute, true, func(context.Context) (bool, error) {
			got, ok := tryRun(r.ID)
			if !ok {
				return false, nil
			}
			before = steps(got)
			m := before["middle"]
			if before["first"].State != v1.PipelineRunSucceeded || m.State != v1.PipelineRunRunning || m.Pod == "" {
				return false, nil
			}
			pod, err := c.cs.CoreV1().Pods("ferry-pipes").Get(ctx, m.Pod, metav1.GetOptions{})
			return err == nil && pod.Status.Phase == corev1.PodRunning, nil
		})
		if err != nil {
			t.Fatalf("the middle step did not start running: %+v", before)
		}
		cp, err := c.cs.CoreV1().Pods(platformNS).List(ctx, metav1.ListOptions{LabelSelector: "app.kubernetes.io/component=control-plane"})
		if err != nil || len(cp.Items) != 1 {
			t.Fatalf("control-plane pods: %v %d", err, len(cp.Items))
		}
		killed := cp.Items[0]
		zero := int64(0)
		killedAt := time.Now()
		// kubectl delete pod --grace-period=0 --force: no SIGTERM grace, the kubelet kills it.
		if err := c.cs.CoreV1().Pods(platformNS).Delete(ctx, killed.Name, metav1.DeleteOptions{GracePeriodSeconds: &zero}); err != nil {
			t.Fatalf("delete the control-plane pod: %v", err)
		}
		err = wait.PollUntilContextTimeout(ctx, 2*time.Second, 4*time.Minute, true, func(context.Context) (bool, error) {
			ps, err := c.cs.CoreV1().Pods(platformNS).List(ctx, metav1.ListOptions{LabelSelector: "app.kubernetes.io/component=control-plane"})
			if err != nil {
				return false, nil
			}
			for _, p := range ps.Items {
				if p.UID == killed.UID {
					continue
				}
				for _, cond := range p.Status.Conditions {
					if cond.Type == corev1.PodReady && cond.Status == corev1.ConditionTrue {
						_, ok := tryRun(r.ID)
						return ok, nil
					}
				}
			}
			return false, nil
		})
		if err != nil {
			t.Fatalf("no new control plane answered after the kill")
		}
		t.Logf("FIGURE control plane killed → a new one answering: %s", time.Since(killedAt).Round(100*time.Millisecond))
		var after v1.PipelineRun
		err = wait.PollUntilContextTimeout(ctx, 2*time.Second, 4*time.Minute, true, func(context.Context) (bool, error) {
			got, ok := tryRun(r.ID)
			after = got
			return ok && got.State.Done(), nil
		})
		if err != nil || after.State != v1.PipelineRunSucceeded {
			table, _ := pf(time.Minute, "run", "get", r.ID)
			t.Fatalf("the run after the restart: %s (%s) %v\n%s", after.State, after.Reason, err, table)
		}
		final := steps(after)
		for _, name := range []string{"first", "middle"} {
			if s := final[name]; s.Attempt != 0 || s.Pod != before[name].Pod || s.State != v1.PipelineRunSucceeded {
				t.Errorf("step %s: attempt %d, pod %q, %s (before the kill: pod %q): want the same pod, attempt 0", name, s.Attempt, s.Pod, s.State, before[name].Pod)
			}
		}
		if s := final["last"]; s.Attempt != 0 || s.State != v1.PipelineRunSucceeded {
			t.Errorf("step last: attempt %d, %s", s.Attempt, s.State)
		}
		created := pods.created(r.ID)
		want := map[string]int{before["first"].Pod: 1, before["middle"].Pod: 1, final["last"].Pod: 1}
		if !maps.Equal(created, want) {
			t.Errorf("pods created for the run: %v, want one each of %v (none re-created or duplicated)", created, want)
		}
		if out, err := pf(time.Minute, "run", "logs", r.ID, "middle"); err != nil || !strings.Contains(out, "middle-start") || !strings.Contains(out, "middle-end") {
			t.Errorf("the middle step's log across the restart: %v\n%s", err, out)
		}
	})
}
