package pipelines

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"

	v1 "github.com/ferry-ml/ferry/api/v1"
	"github.com/ferry-ml/ferry/runtime/controller"
	"github.com/ferry-ml/ferry/runtime/jobs"
	"github.com/ferry-ml/ferry/runtime/tenants"
	"github.com/ferry-ml/ferry/store"
)

// Engine drives pipeline runs: a level-based pass over every active run
// computes which steps may start, answers cached ones from the cache,
// applies the pods of the others (deterministic names, so a restarted
// server adopts what runs), reads their ends back into SQLite, retries
// with backoff, and deletes every step pod that should no longer run.
type Engine struct {
	DB     *store.DB
	Client kubernetes.Interface
	Logs   *jobs.Logs
	Log    *slog.Logger
	Pods   PodConfig
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Events are the Warning events about a pod, which explain a step's
	// reason (nil: pod states alone; see reason.go).
	Events func(namespace, pod string) []corev1.Event
	// Informers is the shared informer factory of all pods and nodes that
	// Start reads them from (nil: Start makes its own); the jobs controller
	// admits from the same caches.
	Informers informers.SharedInformerFactory

	// pods and nodes are the informers' listers, set by Start (nil: a pass
	// lists pods from the API server); made is the pods created lately that
	// they may not show yet.
	pods  corelisters.PodLister
	nodes corelisters.NodeLister
	made  *made
	loop  *controller.Loop
	mu    sync.Mutex
	specs map[string]*Graph
	// exps maps a pipeline to the experiment its runs are tracked in (set
	// when the pipeline is made, never changed).
	exps map[int64]int64
}

// NewEngine makes an engine; Start runs it.
func NewEngine(db *store.DB, client kubernetes.Interface, logs *jobs.Logs, log *slog.Logger, pods PodConfig) *Engine {
	e := &Engine{DB: db, Client: client, Logs: logs, Log: log, Pods: pods, Now: time.Now, specs: map[string]*Graph{}, exps: map[int64]int64{}, made: newMade()}
	e.loop = &controller.Loop{Name: "pipelines", Log: log, Sync: e.Sync, Options: controller.Options{Settle: 100 * time.Millisecond, Resync: 2 * time.Second}}
	return e
}

// Start runs the informers (Informers' or its own) and syncs until ctx ends.
func (e *Engine) Start(ctx context.Context) error {
	f := e.Informers
	if f == nil {
		f = informers.NewSharedInformerFactory(e.Client, informerResync)
		defer f.Shutdown()
	}
	synced, err := e.watch(f)
	if err != nil {
		return err
	}
	f.Start(ctx.Done())
	if !cache.WaitForCacheSync(ctx.Done(), synced...) {
		return ctx.Err()
	}
	return e.loop.Start(ctx)
}

// Poke asks for a sync soon.
func (e *Engine) Poke() { e.loop.Poke() }

// LogKey is where a step pod's log is kept.
func LogKey(tenant, runID, pod string) string {
	return fmt.Sprintf("pipelines/%s/%s/%s.log", tenant, runID, pod)
}

// runsPerTx bounds the runs one transaction of a pass moves, so that the
// API's writers wait for at most one chunk.
const runsPerTx = 256

// workers is how many Kubernetes calls (pod creations, deletions, log
// copies) a pass makes at once.
const workers = 16

// Sync is one pass: it reads the active runs and all their steps at once,
// saves the logs of step pods that ended, moves the steps of each chunk of
// runs in one transaction, admits the steps that may start (the tenant's
// quota and the nodes' room, as for jobs) and creates their pods, and
// deletes every step pod that no running step owns.
func (e *Engine) Sync(ctx context.Context) error {
	if n, err := Tick(ctx, e.DB, e.Now()); err != nil {
		e.Log.Warn("schedules", "err", err)
	} else if n > 0 {
		e.Log.Info("scheduled runs started", "runs", n)
	}
	c, err := e.readCluster(ctx)
	if err != nil {
		return err
	}
	pods := c.steps
	var runs []store.PipelineRun
	var steps map[int64][]store.PipelineStep
	var tenantList []store.Tenant
	var active []store.Job
	if err := e.DB.Read(ctx, func(tx *store.Tx) (err error) {
		if runs, err = tx.ActivePipelineRuns(ctx); err != nil {
			return err
		}
		if tenantList, err = tx.ListTenants(ctx, 0, "", 1<<20); err != nil {
			return err
		}
		if active, err = tx.ActiveJobs(ctx); err != nil {
			return err
		}
		ids := make([]int64, len(runs))
		for i, r := range runs {
			ids[i] = r.ID
		}
		steps, err = tx.PipelineStepsOfRuns(ctx, ids)
		return err
	}); err != nil {
		return err
	}
	p := &pass{pods: pods, wanted: map[string]bool{}, keep: map[string]bool{}, queue: newQueue(c, tenantList, active)}
	var errs []error
	for chunk := range slices.Chunk(runs, runsPerTx) {
		if err := e.syncChunk(ctx, p, chunk, steps); err != nil {
			errs = append(errs, err)
		}
	}
	var doomed []*corev1.Pod
	for key, pod := range pods {
		if p.wanted[key] || p.keep[pod.Labels[RunLabel]] || pod.DeletionTimestamp != nil {
			continue
		}
		doomed = append(doomed, pod)
	}
	// A pod no running step owns: its run was cancelled or its step ended.
	errs = append(errs, parallel(doomed, func(pod *corev1.Pod) error {
		e.saveLog(ctx, pod)
		return e.deletePod(ctx, pod.Namespace, pod.Name)
	}))
	return errors.Join(errs...)
}

// pass is what one Sync knows: the step pods seen, the pods still wanted,
// the runs whose pods stay whatever happens (their sync failed), and the
// admission queue the pass's starting steps go through in order.
type pass struct {
	pods   map[string]*corev1.Pod
	wanted map[string]bool
	keep   map[string]bool
	queue  *jobs.Queue
}

// syncChunk moves a chunk of runs: logs of ended pods first (outside any
// transaction), then every step transition of the chunk in one
// transaction (each run in a savepoint of its own, so one run's failure
// undoes only its own changes), then the pods of the steps that start,
// and the outcome of those creations in one more transaction.
func (e *Engine) syncChunk(ctx context.Context, p *pass, runs []store.PipelineRun, steps map[int64][]store.PipelineStep) error {
	var errs []error
	states := make([]*runState, 0, len(runs))
	for _, r := range runs {
		st, err := e.newRunState(ctx, r, steps[r.ID])
		if err != nil {
			p.keep[r.RunID] = true
			errs = append(errs, fmt.Errorf("pipeline run %s: %w", r.RunID, err))
			continue
		}
		st.queue = p.queue
		states = append(states, st)
	}
	// What needs Kubernetes or a transaction of its own comes first: the
	// logs of ended pods, the explanations of failed ones.
	type seen struct {
		st  *runState
		row *store.PipelineStep
		pod *corev1.Pod
	}
	var ended []seen
	for _, st := range states {
		for _, row := range st.rows {
			if pod := p.pods[tenants.Namespace(st.r.Tenant)+"/"+row.Pod]; row.State == store.PipelineRunRunning && row.Pod != "" && pod != nil && podEnded(pod) {
				ended = append(ended, seen{st, row, pod})
			}
		}
	}
	var mu sync.Mutex
	_ = parallel(ended, func(s seen) error {
		e.saveLog(ctx, s.pod)
		if s.pod.Status.Phase == corev1.PodFailed {
			kind, msg := e.explainFailure(ctx, s.st, s.row, s.pod)
			mu.Lock()
			s.st.failed[s.row.Name] = [2]string{kind, msg}
			mu.Unlock()
		}
		return nil
	})
	var starts []*startOp
	err := e.DB.Write(ctx, func(tx *store.Tx) error {
		for _, st := range states {
			var mine []*startOp
			wanted := map[string]bool{}
			err := tx.Savepoint(ctx, func() (err error) {
				mine, err = e.syncRun(ctx, tx, st, p.pods, wanted)
				return err
			})
			if err != nil {
				p.keep[st.r.RunID] = true
				errs = append(errs, fmt.Errorf("pipeline run %s: %w", st.r.RunID, err))
				continue
			}
			maps.Copy(p.wanted, wanted)
			starts = append(starts, mine...)
		}
		return nil
	})
	if err != nil {
		for _, st := range states {
			p.keep[st.r.RunID] = true
		}
		return errors.Join(append(errs, err)...)
	}
	_ = parallel(starts, func(op *startOp) error { op.err = e.create(ctx, op); return nil })
	err = e.DB.Write(ctx, func(tx *store.Tx) error {
		for _, op := range starts {
			if err := e.started(ctx, tx, op); err != nil {
				errs = append(errs, fmt.Errorf("pipeline run %s: %w", op.st.r.RunID, err))
			}
		}
		return nil
	})
	for _, op := range starts {
		if op.err == nil {
			p.wanted[op.pod.Namespace+"/"+op.pod.Name] = true
		}
	}
	return errors.Join(append(errs, err)...)
}

func podEnded(p *corev1.Pod) bool {
	return p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed
}

// parallel calls fn on every item, workers at a time, and joins the errors.
func parallel[T any](items []T, fn func(T) error) error {
	if len(items) == 0 {
		return nil
	}
	errs := make([]error, len(items))
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(workers, len(items)) {
		wg.Go(func() {
			for i := range next {
				errs[i] = fn(items[i])
			}
		})
	}
	for i := range items {
		next <- i
	}
	close(next)
	wg.Wait()
	return errors.Join(errs...)
}

func (e *Engine) deletePod(ctx context.Context, ns, name string) error {
	e.made.forget(ns, name)
	err := e.Client.CoreV1().Pods(ns).Delete(ctx, name, metav1.DeleteOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("delete step pod %s/%s: %w", ns, name, err)
	}
	err = e.Client.CoreV1().Secrets(ns).Delete(ctx, name, metav1.DeleteOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("delete step secret %s/%s: %w", ns, name, err)
	}
	return nil
}

// saveLog copies an ended (or doomed) pod's log into the bucket, once.
func (e *Engine) saveLog(ctx context.Context, p *corev1.Pod) {
	if e.Logs == nil {
		return
	}
	key := LogKey(p.Labels[tenants.TenantLabel], p.Labels[RunLabel], p.Name)
	if ok, _ := e.Logs.Bucket.Exists(ctx, key); ok {
		return
	}
	rc, err := e.Client.CoreV1().Pods(p.Namespace).GetLogs(p.Name, &corev1.PodLogOptions{Container: "main"}).Stream(ctx)
	if err != nil {
		e.Log.Warn("step log not saved", "pod", p.Name, "err", err)
		return
	}
	defer rc.Close()
	if _, err := e.Logs.Save(ctx, key, rc); err != nil {
		e.Log.Warn("step log not saved", "pod", p.Name, "err", err)
	}
}

// experiment is the experiment a pipeline's runs are tracked in (cached).
func (e *Engine) experiment(ctx context.Context, pipelineID int64) (int64, error) {
	e.mu.Lock()
	exp, ok := e.exps[pipelineID]
	e.mu.Unlock()
	if ok {
		return exp, nil
	}
	var p store.Pipeline
	if err := e.DB.Read(ctx, func(tx *store.Tx) (err error) {
		p, err = tx.PipelineByID(ctx, pipelineID)
		return err
	}); err != nil {
		return 0, err
	}
	e.mu.Lock()
	e.exps[pipelineID] = p.ExperimentID
	e.mu.Unlock()
	return p.ExperimentID, nil
}

// graph is the parsed DAG of a run's version (cached: versions are immutable).
func (e *Engine) graph(ctx context.Context, r store.PipelineRun) (*Graph, error) {
	key := fmt.Sprintf("%d/%d", r.PipelineID, r.Version)
	e.mu.Lock()
	g := e.specs[key]
	e.mu.Unlock()
	if g != nil {
		return g, nil
	}
	var v store.PipelineVersion
	if err := e.DB.Read(ctx, func(tx *store.Tx) (err error) {
		v, err = tx.PipelineVersion(ctx, r.PipelineID, r.Version)
		return err
	}); err != nil {
		return nil, err
	}
	var spec v1.PipelineSpec
	if err := json.Unmarshal([]byte(v.Spec), &spec); err != nil {
		return nil, err
	}
	g, err := NewGraph(spec)
	if err != nil {
		return nil, err
	}
	e.mu.Lock()
	e.specs[key] = g
	e.mu.Unlock()
	return g, nil
}

// WriteStepLogs writes a step's latest log: saved once its pod ended, live before.
func (e *Engine) WriteStepLogs(ctx context.Context, r store.PipelineRun, step string, follow bool, w io.Writer) error {
	var row *store.PipelineStep
	if err := e.DB.Read(ctx, func(tx *store.Tx) error {
		steps, err := tx.PipelineSteps(ctx, r.ID)
		for i := range steps {
			if steps[i].Name == step {
				row = &steps[i]
			}
		}
		return err
	}); err != nil {
		return err
	}
	if row == nil {
		return fmt.Errorf("no step %s", step)
	}
	pod := row.Pod
	if pod == "" && row.Attempt > 0 {
		pod = PodName(r.RunID, row.Name, row.Attempt-1)
	}
	if pod == "" {
		if row.State == string(v1.StepCached) {
			return fmt.Errorf("step %s was answered from the cache (run %s): no pod ran", step, row.CachedFrom)
		}
		return fmt.Errorf("step %s has not started", step)
	}
	if e.Logs != nil {
		rc, ok, err := e.Logs.Open(ctx, LogKey(r.Tenant, r.RunID, pod))
		if err != nil {
			return err
		}
		if ok {
			defer rc.Close()
			_, err := io.Copy(w, rc)
			return err
		}
	}
	rc, err := e.Client.CoreV1().Pods(tenants.Namespace(r.Tenant)).GetLogs(pod, &corev1.PodLogOptions{Container: "main", Follow: follow}).Stream(ctx)
	if err != nil {
		return fmt.Errorf("log of step %s: %w", step, err)
	}
	defer rc.Close()
	_, err = io.Copy(w, rc)
	return err
}
