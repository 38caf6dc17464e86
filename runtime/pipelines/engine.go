package pipelines

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

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

	loop  *controller.Loop
	mu    sync.Mutex
	specs map[string]*Graph
}

// NewEngine makes an engine; Start runs it.
func NewEngine(db *store.DB, client kubernetes.Interface, logs *jobs.Logs, log *slog.Logger, pods PodConfig) *Engine {
	e := &Engine{DB: db, Client: client, Logs: logs, Log: log, Pods: pods, Now: time.Now, specs: map[string]*Graph{}}
	e.loop = &controller.Loop{Name: "pipelines", Log: log, Sync: e.Sync, Options: controller.Options{Settle: 100 * time.Millisecond, Resync: 2 * time.Second}}
	return e
}

// Start syncs until ctx ends.
func (e *Engine) Start(ctx context.Context) error { return e.loop.Start(ctx) }

// Poke asks for a sync soon.
func (e *Engine) Poke() { e.loop.Poke() }

// LogKey is where a step pod's log is kept.
func LogKey(tenant, runID, pod string) string {
	return fmt.Sprintf("pipelines/%s/%s/%s.log", tenant, runID, pod)
}

// Sync is one pass over every active run and every step pod.
func (e *Engine) Sync(ctx context.Context) error {
	if n, err := Tick(ctx, e.DB, e.Now()); err != nil {
		e.Log.Warn("schedules", "err", err)
	} else if n > 0 {
		e.Log.Info("scheduled runs started", "runs", n)
	}
	list, err := e.Client.CoreV1().Pods(metav1.NamespaceAll).List(ctx, metav1.ListOptions{LabelSelector: RunLabel})
	if err != nil {
		return fmt.Errorf("list step pods: %w", err)
	}
	pods := map[string]*corev1.Pod{}
	for i := range list.Items {
		p := &list.Items[i]
		pods[p.Namespace+"/"+p.Name] = p
	}
	var runs []store.PipelineRun
	if err := e.DB.Read(ctx, func(tx *store.Tx) (err error) {
		runs, err = tx.ActivePipelineRuns(ctx)
		return err
	}); err != nil {
		return err
	}
	wanted := map[string]bool{}
	var errs []error
	for _, r := range runs {
		if err := e.syncRun(ctx, r, pods, wanted); err != nil {
			errs = append(errs, fmt.Errorf("pipeline run %s: %w", r.RunID, err))
		}
	}
	for key, p := range pods {
		if wanted[key] || p.DeletionTimestamp != nil {
			continue
		}
		// A pod no running step owns: its run was cancelled or it ended.
		e.saveLog(ctx, p)
		if err := e.deletePod(ctx, p.Namespace, p.Name); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (e *Engine) deletePod(ctx context.Context, ns, name string) error {
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
