package pipelines

import (
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	corelisters "k8s.io/client-go/listers/core/v1"
	k8stesting "k8s.io/client-go/testing"
	"k8s.io/client-go/tools/cache"

	"github.com/ferry-ml/ferry/runtime/jobs"
	"github.com/ferry-ml/ferry/runtime/tenants"
	"github.com/ferry-ml/ferry/store"
)

// pipeline stores spec as tenant ml's pipeline name.
func (env *engineEnv) pipeline(name, spec string) store.Pipeline {
	env.t.Helper()
	parsed, err := Parse("spec", []byte(spec))
	if err != nil {
		env.t.Fatal(err)
	}
	canon, digest, _ := Canonical(parsed)
	var p store.Pipeline
	if err := env.db.Write(env.t.Context(), func(tx *store.Tx) (err error) {
		p, _, _, err = tx.PutPipelineVersion(env.t.Context(), "ml", name, "", string(canon), digest, "alice")
		return err
	}); err != nil {
		env.t.Fatal(err)
	}
	return p
}

func (env *engineEnv) submitTo(p store.Pipeline) store.PipelineRun {
	env.t.Helper()
	var r store.PipelineRun
	if err := env.db.Write(env.t.Context(), func(tx *store.Tx) (err error) {
		r, err = tx.CreatePipelineRun(env.t.Context(), p, 1, map[string]string{}, "", "alice")
		return err
	}); err != nil {
		env.t.Fatal(err)
	}
	return r
}

func (env *engineEnv) sync(e *Engine) {
	env.t.Helper()
	if err := e.Sync(env.t.Context()); err != nil {
		env.t.Fatal(err)
	}
}

// jobPod puts a running pod of tenant ml's job name asking cpu in the fake cluster.
func (env *engineEnv) jobPod(name, cpu string) *corev1.Pod {
	env.t.Helper()
	req := corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(cpu), corev1.ResourceMemory: resource.MustParse("1Gi")}
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name + "-0", Namespace: tenants.Namespace("ml"), Labels: map[string]string{tenants.TenantLabel: "ml", jobs.JobLabel: name}},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "main", Image: "x", Resources: corev1.ResourceRequirements{Requests: req}}}},
		Status:     corev1.PodStatus{Phase: corev1.PodRunning},
	}
	p, err := env.cs.CoreV1().Pods(p.Namespace).Create(env.t.Context(), p, metav1.CreateOptions{})
	if err != nil {
		env.t.Fatal(err)
	}
	return p
}

const twoCPUSpec = `apiVersion: ferry.dev/v1
kind: Pipeline
steps:
  - {name: big, image: ferry.local/workload:1, command: ["true"], cache: false, resources: {cpu: "2"}}
`

// TestAStepOverTheTenantsRemainingQuotaWaitsAndStartsWhenARunningPodEnds:
// a job's running pod holds 7 of tenant ml's 8 CPUs; a 2-CPU step waits
// with the quota as its reason and no pod, a second run's step waits
// behind it, and both start once the job's pod ends. The step pods then
// count against the tenant as jobs' admission counts them.
func TestAStepOverTheTenantsRemainingQuotaWaitsAndStartsWhenARunningPodEnds(t *testing.T) {
	env := newEngineEnv(t)
	job := env.jobPod("train", "7")
	e := env.engine()
	p := env.pipeline("two", twoCPUSpec)
	r1, r2 := env.submitTo(p), env.submitTo(p)
	env.sync(e)
	_, s1 := env.run(r1)
	_, s2 := env.run(r2)
	if want := "waiting: tenant quota: needs 2 cpu, 1 of 8 free"; s1["big"].State != store.PipelineRunPending || s1["big"].Reason != want {
		t.Fatalf("the first run's step: %s %q, want pending %q", s1["big"].State, s1["big"].Reason, want)
	}
	if want := "waiting: queued behind step big of run " + r1.RunID; s2["big"].State != store.PipelineRunPending || !strings.HasPrefix(s2["big"].Reason, want) {
		t.Fatalf("the second run's step: %s %q, want pending %q…", s2["big"].State, s2["big"].Reason, want)
	}
	if env.created != 0 || s1["big"].ChildRun != "" {
		t.Fatalf("a waiting step made %d pods (child run %q)", env.created, s1["big"].ChildRun)
	}
	// Another pass while the job runs changes nothing.
	env.sync(e)
	if _, s := env.run(r1); env.created != 0 || s["big"].State != store.PipelineRunPending {
		t.Fatalf("second pass: %d pods, step %s", env.created, s["big"].State)
	}

	job.Status.Phase = corev1.PodSucceeded
	if _, err := env.cs.CoreV1().Pods(job.Namespace).UpdateStatus(t.Context(), job, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	env.settle()
	env.sync(e)
	_, s1 = env.run(r1)
	_, s2 = env.run(r2)
	if s1["big"].State != store.PipelineRunRunning || s2["big"].State != store.PipelineRunRunning || s1["big"].Reason != "" || env.created != 2 {
		t.Fatalf("after the job's pod ended: %s %q, %s %q, %d pods", s1["big"].State, s1["big"].Reason, s2["big"].State, s2["big"].Reason, env.created)
	}
	// The jobs controller's usage of tenant ml counts both step pods.
	env.settle()
	pods, err := e.pods.List(labels.Everything())
	if err != nil {
		t.Fatal(err)
	}
	usage := map[string]jobs.Usage{"ml": {Quota: store.Quota{CPU: "8", Memory: "16Gi"}, Used: corev1.ResourceList{}}}
	jobs.Capacity(nil, pods, usage, nil)
	if cpu := usage["ml"].Used[corev1.ResourceCPU]; cpu.Cmp(resource.MustParse("4")) != 0 {
		t.Fatalf("tenant ml's usage counted from its pods: cpu %s, want 4 (two 2-CPU steps)", cpu.String())
	}
}

// TestAStepThatCanNeverFitFailsTheRunWithoutAPod: a step asking more than
// the tenant's whole quota, or more than any node offers, fails (and so
// its run, its downstream step skipped) with an inadmissible reason
// naming the resource; no pod is made.
func TestAStepThatCanNeverFitFailsTheRunWithoutAPod(t *testing.T) {
	env := newEngineEnv(t)
	node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n1"},
		Status: corev1.NodeStatus{Allocatable: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("4"), corev1.ResourceMemory: resource.MustParse("8Gi")},
			Conditions: []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue}}}}
	if _, err := env.cs.CoreV1().Nodes().Create(t.Context(), node, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	e := env.engine()
	cases := []struct{ name, cpu, reason string }{
		{"quota", "16", "inadmissible: more than the whole tenant quota: needs 16 cpu, 8 of 8 free (lower the request or raise the quota)"},
		{"node", "6", "inadmissible: the step's pod (cpu 6, memory 512Mi) is larger than any node offers"},
	}
	for _, c := range cases {
		p := env.pipeline(c.name, `apiVersion: ferry.dev/v1
kind: Pipeline
steps:
  - {name: huge, image: ferry.local/workload:1, command: ["true"], resources: {cpu: "`+c.cpu+`"}}
  - {name: after, image: ferry.local/workload:1, command: ["true"], dependsOn: [huge]}
`)
		r := env.submitTo(p)
		for range 3 {
			env.sync(e)
		}
		got, steps := env.run(r)
		if steps["huge"].State != store.PipelineRunFailed || steps["huge"].Reason != c.reason {
			t.Errorf("%s: step %s %q, want failed %q", c.name, steps["huge"].State, steps["huge"].Reason, c.reason)
		}
		if got.State != store.PipelineRunFailed || got.Reason != "step huge failed: "+c.reason || steps["after"].State != "skipped" {
			t.Errorf("%s: run %s %q, after %s", c.name, got.State, got.Reason, steps["after"].State)
		}
	}
	list, err := env.cs.CoreV1().Pods(tenants.Namespace("ml")).List(t.Context(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if env.created != 0 || len(list.Items) != 0 {
		t.Fatalf("steps that can never fit made %d pods (%d in the cluster)", env.created, len(list.Items))
	}
	// The 4-CPU node takes a 2-CPU step: the node rule refuses only what no node could hold.
	r := env.submitTo(env.pipeline("two", twoCPUSpec))
	env.sync(e)
	if _, steps := env.run(r); steps["big"].State != store.PipelineRunRunning {
		t.Fatalf("a step that fits the node: %s %q", steps["big"].State, steps["big"].Reason)
	}
}

// TestAPassRightAfterACreateDoesNotStartTheStepAgain: while the informer's
// cache does not show a pod the engine just made, passes neither make it
// again nor give the step a new token or attempt; once the cache showed it,
// a pod deleted by hand is noticed and made again (same attempt), and a
// made pod the cache never shows is taken for gone after madeFor.
func TestAPassRightAfterACreateDoesNotStartTheStepAgain(t *testing.T) {
	env := newEngineEnv(t)
	creates := 0
	env.cs.PrependReactor("create", "pods", func(k8stesting.Action) (bool, runtime.Object, error) {
		env.mu.Lock()
		creates++
		env.mu.Unlock()
		return false, nil, nil
	})
	e := env.bareEngine()
	idx := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc})
	e.pods, e.nodes = corelisters.NewPodLister(idx), corelisters.NewNodeLister(cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{}))
	r := env.submit(nil)
	env.sync(e)
	_, steps := env.run(r)
	first := steps["prep"]
	if first.State != store.PipelineRunRunning || env.created != 1 || creates != 1 {
		t.Fatalf("first pass: prep %s, %d pods made, %d creates", first.State, env.created, creates)
	}
	// The cache lags: two more passes see only what the engine made.
	for range 2 {
		env.sync(e)
	}
	_, steps = env.run(r)
	prep := steps["prep"]
	if creates != 1 || prep.State != store.PipelineRunRunning || prep.Attempt != 0 || prep.TokenID != first.TokenID || prep.Pod != first.Pod || prep.Reason != "" {
		t.Fatalf("passes before the cache shows the pod: %d creates, prep %s attempt %d token %s→%s reason %q",
			creates, prep.State, prep.Attempt, first.TokenID, prep.TokenID, prep.Reason)
	}

	ns := tenants.Namespace("ml")
	pod, err := env.cs.CoreV1().Pods(ns).Get(t.Context(), first.Pod, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := idx.Add(pod); err != nil {
		t.Fatal(err)
	}
	env.sync(e)
	// Deleted by hand, gone from the cache: made again, same attempt.
	if err := env.cs.CoreV1().Pods(ns).Delete(t.Context(), first.Pod, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := idx.Delete(pod); err != nil {
		t.Fatal(err)
	}
	env.sync(e)
	_, steps = env.run(r)
	if prep := steps["prep"]; env.created != 2 || prep.State != store.PipelineRunRunning || prep.Attempt != 0 || prep.Pod != first.Pod {
		t.Fatalf("after a delete by hand: %d pods made, prep %s attempt %d pod %s", env.created, prep.State, prep.Attempt, prep.Pod)
	}
	// Made again but never shown by the cache, then deleted: taken for gone
	// only once madeFor has passed.
	if err := env.cs.CoreV1().Pods(ns).Delete(t.Context(), first.Pod, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	env.sync(e)
	if env.created != 2 {
		t.Fatalf("a made pod the cache never showed was taken for gone before madeFor: %d pods made", env.created)
	}
	env.advance(madeFor + time.Second)
	env.sync(e)
	if _, steps := env.run(r); env.created != 3 || steps["prep"].State != store.PipelineRunRunning || steps["prep"].Attempt != 0 {
		t.Fatalf("after madeFor: %d pods made, prep %s attempt %d", env.created, steps["prep"].State, steps["prep"].Attempt)
	}
}

// TestAStepPodDeletedByHandIsStartedAgain: with the engine's informers, a
// step pod deleted outside ferry is noticed at the next pass and made
// again for the same attempt.
func TestAStepPodDeletedByHandIsStartedAgain(t *testing.T) {
	env := newEngineEnv(t)
	e := env.engine()
	r := env.submit(nil)
	env.sync(e)
	env.settle()
	_, steps := env.run(r)
	name := steps["prep"].Pod
	if err := env.cs.CoreV1().Pods(tenants.Namespace("ml")).Delete(t.Context(), name, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	env.settle()
	env.sync(e)
	_, steps = env.run(r)
	if _, err := env.cs.CoreV1().Pods(tenants.Namespace("ml")).Get(t.Context(), name, metav1.GetOptions{}); err != nil || env.created != 2 ||
		steps["prep"].State != store.PipelineRunRunning || steps["prep"].Attempt != 0 {
		t.Fatalf("after the delete: pod %v, %d made, prep %s attempt %d", err, env.created, steps["prep"].State, steps["prep"].Attempt)
	}
}
