package pipelines

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
	"k8s.io/client-go/tools/cache"

	"github.com/ferry-ml/ferry/runtime/jobs"
	"github.com/ferry-ml/ferry/runtime/tenants"
	"github.com/ferry-ml/ferry/store"
)

const engineSpec = `apiVersion: ferry.dev/v1
kind: Pipeline
parameters:
  - {name: lrs, type: list, default: [0.1, 0.2, 0.3]}
  - {name: rows, type: int, default: 100}
steps:
  - name: prep
    image: ferry.local/workload:1
    command: [python3, prep.py]
    args: ["--rows={{params.rows}}"]
    outputs: {artifacts: [data]}
  - name: train
    image: ferry.local/workload:1
    command: [python3, train.py]
    args: ["--lr={{item}}"]
    inputs: {artifacts: {data: "{{steps.prep.outputs.artifacts.data}}"}}
    outputs: {parameters: [score]}
    parallelFor: {items: "{{params.lrs}}", parallelism: 2}
  - name: pick
    image: ferry.local/workload:1
    command: [python3, pick.py]
    inputs: {parameters: {scores: "{{steps.train.outputs.parameters.score}}"}}
    retries: {limit: 2, backoff: {initial: 10s, factor: 2, max: 1m}}
`

func init() {
	// The fake API server's watches panic when more than this many events
	// wait: the engine benchmarks make and end 1,000 pods at once.
	watch.DefaultChanSize = 1 << 16
}

type engineEnv struct {
	t       testing.TB
	db      *store.DB
	cs      *fake.Clientset
	logs    *jobs.Logs
	mu      sync.Mutex
	now     time.Time
	created int
	// fail makes the pods of these steps fail with exit code 3.
	fail map[string]bool
	// engines are the engines made, whose caches settle waits for.
	engines []*Engine
}

func newEngineEnv(t testing.TB) *engineEnv {
	t.Helper()
	return newEngineEnvOn(t, fake.NewClientset())
}

// newEngineEnvOn is newEngineEnv over the fake API server cs.
func newEngineEnvOn(t testing.TB, cs *fake.Clientset) *engineEnv {
	t.Helper()
	env := &engineEnv{t: t, now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), fail: map[string]bool{}}
	db, err := store.Open(t.Context(), store.Config{Path: filepath.Join(t.TempDir(), "ferry.db"), Now: env.clock})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	env.db = db
	env.logs, err = jobs.OpenLogs(t.Context(), "file://"+filepath.Join(t.TempDir(), "blobs")+"?create_dir=true")
	if err != nil {
		t.Fatal(err)
	}
	env.cs = cs
	env.cs.PrependReactor("create", "pods", func(a k8stesting.Action) (bool, runtime.Object, error) {
		env.mu.Lock()
		defer env.mu.Unlock()
		// Step pods only (the tests make job pods too).
		pod := a.(k8stesting.CreateAction).GetObject().(*corev1.Pod)
		if _, err := env.cs.Tracker().Get(a.GetResource(), a.GetNamespace(), pod.Name); err != nil && pod.Labels[RunLabel] != "" {
			env.created++
		}
		return false, nil, nil
	})
	spec, err := Parse("spec", []byte(engineSpec))
	if err != nil {
		t.Fatal(err)
	}
	canon, digest, _ := Canonical(spec)
	err = db.Write(t.Context(), func(tx *store.Tx) error {
		if _, err := tx.CreateTenant(t.Context(), store.Tenant{Name: "ml", DisplayName: "ml", Quota: store.Quota{CPU: "8", Memory: "16Gi"}}); err != nil {
			return err
		}
		if _, err := tx.CreateUser(t.Context(), "alice", false); err != nil {
			return err
		}
		_, _, _, err := tx.PutPipelineVersion(t.Context(), "ml", "train", "", string(canon), digest, "alice")
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return env
}

func (env *engineEnv) clock() time.Time {
	env.mu.Lock()
	defer env.mu.Unlock()
	return env.now
}

func (env *engineEnv) advance(d time.Duration) {
	env.mu.Lock()
	env.now = env.now.Add(d)
	env.mu.Unlock()
}

// engine makes an engine over the env that reads the fake cluster through
// informers, as a started one does (its loop is not run: tests call Sync).
func (env *engineEnv) engine() *Engine {
	env.t.Helper()
	e := env.bareEngine()
	f := informers.NewSharedInformerFactory(env.cs, 0)
	synced, err := e.watch(f)
	if err != nil {
		env.t.Fatal(err)
	}
	f.Start(env.t.Context().Done())
	if !cache.WaitForCacheSync(env.t.Context().Done(), synced...) {
		env.t.Fatal("informers did not sync")
	}
	env.engines = append(env.engines, e)
	return e
}

// bareEngine makes an engine without informers (its passes list from the
// fake API server unless a test gives it listers).
func (env *engineEnv) bareEngine() *Engine {
	e := NewEngine(env.db, env.cs, env.logs, slog.New(slog.NewTextHandler(io.Discard, nil)), PodConfig{Image: "ferry.local/platform:1", URL: "http://ferry.ferry-system.svc:8080"})
	e.Now = env.clock
	return e
}

// settle waits until every engine's pod cache shows the fake cluster's
// pods as they are (names, statuses and deletions: the fake API server
// keeps no resource versions), as a test's next pass needs.
func (env *engineEnv) settle() {
	env.t.Helper()
	gvr := corev1.SchemeGroupVersion.WithResource("pods")
	deadline := time.Now().Add(30 * time.Second)
	for _, e := range env.engines {
		for {
			obj, err := env.cs.Tracker().List(gvr, corev1.SchemeGroupVersion.WithKind("Pod"), "")
			if err != nil {
				env.t.Fatal(err)
			}
			want := map[string]*corev1.Pod{}
			items := obj.(*corev1.PodList).Items
			for i := range items {
				want[items[i].Namespace+"/"+items[i].Name] = &items[i]
			}
			cached, err := e.pods.List(labels.Everything())
			if err != nil {
				env.t.Fatal(err)
			}
			same := len(cached) == len(want)
			for _, p := range cached {
				if w, ok := want[p.Namespace+"/"+p.Name]; !ok || !equality.Semantic.DeepEqual(w.Status, p.Status) || !w.DeletionTimestamp.Equal(p.DeletionTimestamp) {
					same = false
				}
			}
			if same {
				break
			}
			if time.Now().After(deadline) {
				env.t.Fatalf("the engine's pod cache holds %d pods, the cluster %d", len(cached), len(want))
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
}

func (env *engineEnv) submit(params map[string]string) store.PipelineRun {
	env.t.Helper()
	var r store.PipelineRun
	err := env.db.Write(env.t.Context(), func(tx *store.Tx) error {
		p, err := tx.Pipeline(env.t.Context(), "ml", "train")
		if err != nil {
			return err
		}
		if params == nil {
			params = map[string]string{"lrs": "[0.1,0.2,0.3]", "rows": "100"}
		}
		r, err = tx.CreatePipelineRun(env.t.Context(), p, 1, params, "", "alice")
		return err
	})
	if err != nil {
		env.t.Fatal(err)
	}
	return r
}

func podEnv(p *corev1.Pod, name string) string {
	for _, e := range p.Spec.Containers[0].Env {
		if e.Name == name {
			return e.Value
		}
	}
	return ""
}

// kubelet ends every running step pod as the wrapper would: it reports
// the declared outputs to the step's run, then the pod succeeds (or fails
// for the steps in env.fail).
func (env *engineEnv) kubelet(ctx context.Context) int {
	env.t.Helper()
	list, err := env.cs.CoreV1().Pods(tenants.Namespace("ml")).List(ctx, metav1.ListOptions{})
	if err != nil {
		env.t.Fatal(err)
	}
	var ready []*corev1.Pod
	for i := range list.Items {
		if list.Items[i].Status.Phase == "" {
			ready = append(ready, &list.Items[i])
		}
	}
	// What the wrappers report, in one transaction (the fake kubelet is
	// not what the benchmarks measure).
	err = env.db.Write(ctx, func(tx *store.Tx) error {
		for _, p := range ready {
			step := p.Labels[StepLabel]
			var outs struct{ Artifacts, Parameters []string }
			_ = json.Unmarshal([]byte(podEnv(p, EnvOutputs)), &outs)
			run := podEnv(p, EnvStepRun)
			for _, a := range outs.Artifacts {
				sum := sha256.Sum256([]byte("data of " + step))
				if err := tx.PutRunArtifact(ctx, "ml", run, store.StepOutputPrefix+a, hex.EncodeToString(sum[:]), 10); err != nil {
					return err
				}
			}
			for _, o := range outs.Parameters {
				score := strings.TrimPrefix(strings.Join(p.Spec.Containers[0].Args, ""), "--lr=")
				if err := tx.LogBatch(ctx, "ml", run, nil, nil, []store.KV{{Key: store.TagStepOutput + o, Value: score}}); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		env.t.Fatal(err)
	}
	for _, p := range ready {
		base := strings.SplitN(p.Labels[StepLabel], "-", 2)[0]
		p.Status.Phase = corev1.PodSucceeded
		code := int32(0)
		if env.fail[base] {
			p.Status.Phase, code = corev1.PodFailed, 3
		}
		p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "main", ImageID: "ferry.local/workload@sha256:" + strings.Repeat("a", 64),
			State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: code}}}}
		if _, err := env.cs.CoreV1().Pods(p.Namespace).UpdateStatus(ctx, p, metav1.UpdateOptions{}); err != nil {
			env.t.Fatal(err)
		}
	}
	env.settle()
	return len(ready)
}

func (env *engineEnv) run(r store.PipelineRun) (store.PipelineRun, map[string]store.PipelineStep) {
	env.t.Helper()
	steps := map[string]store.PipelineStep{}
	err := env.db.Read(env.t.Context(), func(tx *store.Tx) error {
		var err error
		if r, err = tx.PipelineRun(env.t.Context(), "ml", r.RunID); err != nil {
			return err
		}
		rows, err := tx.PipelineSteps(env.t.Context(), r.ID)
		for _, s := range rows {
			steps[s.Name] = s
		}
		return err
	})
	if err != nil {
		env.t.Fatal(err)
	}
	return r, steps
}

// drive syncs and runs pods until the run ends or max passes go by.
func (env *engineEnv) drive(e *Engine, r store.PipelineRun, max int) store.PipelineRun {
	env.t.Helper()
	for i := 0; i < max; i++ {
		if err := e.Sync(env.t.Context()); err != nil {
			env.t.Fatal(err)
		}
		if got, _ := env.run(r); got.State != store.PipelineRunPending && got.State != store.PipelineRunRunning {
			return got
		}
		env.kubelet(env.t.Context())
		env.advance(time.Minute)
	}
	got, steps := env.run(r)
	env.t.Fatalf("run still %s after %d passes: %+v", got.State, max, steps)
	return got
}
