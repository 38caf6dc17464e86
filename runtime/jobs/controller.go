package jobs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strconv"
	"sync"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	batchlisters "k8s.io/client-go/listers/batch/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"

	"github.com/ferry-ml/ferry/runtime/controller"
	"github.com/ferry-ml/ferry/runtime/metrics"
	podreason "github.com/ferry-ml/ferry/runtime/monitor/reason"
	"github.com/ferry-ml/ferry/runtime/tenants"
	"github.com/ferry-ml/ferry/store"
)

// Controller keeps the store's jobs and Kubernetes in step: it creates the
// objects of new jobs (suspended), admits queued ones, reads state back, and
// saves the logs of ended pods before a job is marked finished. All of it is
// level-based: a restarted server reads the store and the cluster and goes on.
type Controller struct {
	DB       *store.DB
	Client   kubernetes.Interface
	Logs     *Logs
	Log      *slog.Logger
	Interval time.Duration
	// Tracking gives jobs their MLflow run (set before Start).
	Tracking Tracking
	// Events are the Warning events about a pod, which explain reasons
	// (nil: pod states alone).
	Events podreason.Events
	// Informers is the shared informer factory of all pods and nodes (nil:
	// Start makes its own); the pipelines engine admits steps from the same
	// caches.
	Informers informers.SharedInformerFactory

	// syncMu serialises a sync pass with a cancel: a cancel deletes the
	// Kubernetes objects before it records the job cancelled, and a pass
	// in between would read the missing Job as "deleted outside ferry".
	syncMu sync.Mutex
	loop   *controller.Loop
	jobs   batchlisters.JobLister
	pods   corelisters.PodLister
	nodes  corelisters.NodeLister
}

// Poke asks for a sync soon (after a submit or a cancel).
func (c *Controller) Poke() { c.loop.Poke() }

// NewController returns a controller ready to Start and Poke.
func NewController(db *store.DB, client kubernetes.Interface, logs *Logs, log *slog.Logger) *Controller {
	c := &Controller{DB: db, Client: client, Logs: logs, Log: log}
	// Events come in bursts (a job's pods change together): settle first.
	c.loop = &controller.Loop{Name: "jobs", Log: log, Sync: c.Sync, Options: controller.Options{Settle: 200 * time.Millisecond}}
	return c
}

// Start runs informers and the sync loop until ctx ends.
func (c *Controller) Start(ctx context.Context) error {
	if c.loop == nil {
		return errors.New("jobs: controller not made by NewController")
	}
	if c.Interval <= 0 {
		c.Interval = 5 * time.Second
	}
	c.loop.Resync = c.Interval
	managed := informers.NewSharedInformerFactoryWithOptions(c.Client, 10*time.Minute,
		informers.WithTweakListOptions(func(o *metav1.ListOptions) { o.LabelSelector = tenants.ManagedByLabel + "=" + tenants.ManagedBy }))
	all := c.Informers
	if all == nil {
		all = informers.NewSharedInformerFactory(c.Client, 10*time.Minute)
	}
	jobs, pods, nodes := managed.Batch().V1().Jobs(), all.Core().V1().Pods(), all.Core().V1().Nodes()
	h := cache.ResourceEventHandlerFuncs{AddFunc: func(any) { c.Poke() }, UpdateFunc: func(any, any) { c.Poke() }, DeleteFunc: func(any) { c.Poke() }}
	for _, inf := range []cache.SharedIndexInformer{jobs.Informer(), pods.Informer(), nodes.Informer()} {
		if _, err := inf.AddEventHandler(h); err != nil {
			return err
		}
	}
	c.jobs, c.pods, c.nodes = jobs.Lister(), pods.Lister(), nodes.Lister()
	managed.Start(ctx.Done())
	all.Start(ctx.Done())
	defer managed.Shutdown()
	defer all.Shutdown()
	if !cache.WaitForCacheSync(ctx.Done(), jobs.Informer().HasSynced, pods.Informer().HasSynced, nodes.Informer().HasSynced) {
		return ctx.Err()
	}
	return c.loop.Start(ctx)
}

// Sync runs one pass over the active jobs.
func (c *Controller) Sync(ctx context.Context) error {
	c.syncMu.Lock()
	defer c.syncMu.Unlock()
	var active []store.Job
	var tenantList []store.Tenant
	err := c.DB.Read(ctx, func(tx *store.Tx) (err error) {
		if active, err = tx.ActiveJobs(ctx); err != nil {
			return err
		}
		tenantList, err = tx.ListTenants(ctx, 0, "", 1<<20)
		return err
	})
	if err != nil {
		return err
	}
	owned := c.namespaces(ctx, tenantList)
	var errs []error
	var queued []store.Job
	for _, j := range active {
		still, err := c.syncJob(ctx, j, owned)
		if err != nil {
			errs = append(errs, fmt.Errorf("job %s/%s: %w", j.Tenant, j.Name, err))
		}
		if still {
			queued = append(queued, j)
		}
	}
	if len(queued) > 0 {
		errs = append(errs, c.admit(ctx, queued, tenantList, active, owned))
	}
	return errors.Join(errs...)
}

// namespaces answers, once per tenant and sync, whether ferry may write
// into a tenant's namespace (tenants.CheckNamespace): nil, or why not.
func (c *Controller) namespaces(ctx context.Context, tenantList []store.Tenant) func(tenant string) error {
	byName := make(map[string]store.Tenant, len(tenantList))
	for _, t := range tenantList {
		byName[t.Name] = t
	}
	seen := map[string]error{}
	return func(tenant string) error {
		if err, ok := seen[tenant]; ok {
			return err
		}
		t, ok := byName[tenant]
		err := error(&tenants.ConflictError{Tenant: tenant, Namespace: tenants.Namespace(tenant), Reason: "has no tenant"})
		if ok {
			err = tenants.CheckNamespace(ctx, c.Client, t)
		}
		seen[tenant] = err
		return err
	}
}

// refuse keeps a job queued, its reason saying why ferry writes nothing
// into its tenant's namespace.
func (c *Controller) refuse(ctx context.Context, j store.Job, nsErr error) error {
	reason := tenants.NamespaceReason(nsErr)
	return c.updateIfChanged(ctx, j, store.JobUpdate{Reason: &reason})
}

// syncJob makes sure a job's objects exist and reads its state back. It
// says whether the job is (still) waiting for admission.
func (c *Controller) syncJob(ctx context.Context, j store.Job, owned func(string) error) (bool, error) {
	ns := tenants.Namespace(j.Tenant)
	kj, err := c.jobs.Jobs(ns).Get(ObjectName(j))
	if apierrors.IsNotFound(err) {
		if j.State != store.JobQueued {
			reason := "the Kubernetes Job was deleted outside ferry"
			return false, c.update(ctx, j, store.JobUpdate{State: store.JobFailed, Reason: &reason, FinishedAt: new(time.Now())})
		}
		// Nothing is written into a namespace that is not ferry's for
		// this tenant: the job waits, saying why.
		if err := owned(j.Tenant); err != nil {
			return false, c.refuse(ctx, j, err)
		}
		if err := c.create(ctx, j); err != nil {
			reason := "cannot create the Kubernetes objects: " + err.Error()
			return false, c.update(ctx, j, store.JobUpdate{State: store.JobFailed, Reason: &reason, FinishedAt: new(time.Now())})
		}
		return true, nil
	}
	if err != nil {
		return false, err
	}
	if id := kj.Annotations["ferry.io/job-id"]; id != strconv.FormatInt(j.ID, 10) {
		return false, fmt.Errorf("a Job %s/%s of another ferry job (id %s) is in the way", ns, kj.Name, id)
	}
	pods, err := c.pods.Pods(ns).List(labels.SelectorFromSet(labels.Set{JobLabel: j.Name}))
	if err != nil {
		return false, err
	}
	replicas := c.replicas(ctx, j, pods)
	u := store.JobUpdate{Replicas: replicas}
	state, reason, at := jobState(kj)
	switch {
	case state == store.JobQueued:
		return j.State == store.JobQueued, c.updateIfChanged(ctx, j, u)
	case state.Done():
		// Finished only once every ended pod's log is safe.
		for _, r := range replicas {
			if r.Pod != "" && !r.LogSaved {
				u.State = store.JobRunning
				return false, c.updateIfChanged(ctx, j, u)
			}
		}
		if state == store.JobFailed {
			if why := podreason.ForPods(pods, c.Events); why != "" {
				reason = why + "; " + reason
			}
		}
		u.State, u.Reason, u.FinishedAt = state, &reason, at
		if kj.Status.StartTime != nil {
			u.StartedAt = &kj.Status.StartTime.Time
		}
		if err := c.updateIfChanged(ctx, j, u); err != nil {
			return false, err
		}
		// Its logs are safe and its state recorded: the pods need not linger.
		return false, c.deleteObjects(ctx, j)
	default:
		u.State = store.JobRunning
		if kj.Status.StartTime != nil {
			u.StartedAt = &kj.Status.StartTime.Time
		}
		// What troubles the pods that have not ended (a pull error, an
		// unschedulable pod, a crash loop), or nothing.
		live := make([]*corev1.Pod, 0, len(pods))
		for _, p := range pods {
			if p.Status.Phase != corev1.PodSucceeded && p.Status.Phase != corev1.PodFailed {
				live = append(live, p)
			}
		}
		why := podreason.ForPods(live, c.Events)
		u.Reason = &why
	}
	return false, c.updateIfChanged(ctx, j, u)
}

// jobState reads a Kubernetes Job's state.
func jobState(kj *batchv1.Job) (store.JobState, string, *time.Time) {
	for _, cond := range kj.Status.Conditions {
		if cond.Status != corev1.ConditionTrue {
			continue
		}
		t := cond.LastTransitionTime.Time
		switch cond.Type {
		case batchv1.JobComplete:
			return store.JobSucceeded, "", &t
		case batchv1.JobFailed:
			return store.JobFailed, cond.Reason + ": " + cond.Message, &t
		}
	}
	if kj.Spec.Suspend != nil && *kj.Spec.Suspend {
		return store.JobQueued, "", nil
	}
	return store.JobRunning, "", nil
}

// replicas reads each index's latest pod, saving the logs of ended ones.
func (c *Controller) replicas(ctx context.Context, j store.Job, pods []*corev1.Pod) []store.Replica {
	return c.replicasOf(ctx, j, pods, false)
}

// replicasOf is replicas; with all, the logs of pods still running are saved too.
func (c *Controller) replicasOf(ctx context.Context, j store.Job, pods []*corev1.Pod, all bool) []store.Replica {
	latest := map[int32]*corev1.Pod{}
	for _, p := range pods {
		i, err := strconv.Atoi(p.Annotations[batchv1.JobCompletionIndexAnnotation])
		if err != nil {
			continue
		}
		if q := latest[int32(i)]; q == nil || p.CreationTimestamp.After(q.CreationTimestamp.Time) {
			latest[int32(i)] = p
		}
	}
	saved := map[int32]bool{} // the latest pod's log is already in the bucket
	for _, r := range j.Replicas {
		saved[r.Index] = r.LogSaved && latest[r.Index] != nil && latest[r.Index].Name == r.Pod
	}
	out := make([]store.Replica, 0, j.Spec.Replicas)
	for i := range j.Spec.Replicas {
		r := store.Replica{Index: i, Phase: "Waiting"}
		if p := latest[i]; p != nil {
			r.Pod, r.Node, r.Phase = p.Name, p.Spec.NodeName, string(p.Status.Phase)
			for _, cs := range p.Status.ContainerStatuses {
				r.Restarts += cs.RestartCount
				if t := cs.State.Terminated; t != nil {
					code := t.ExitCode
					r.ExitCode = &code
				}
			}
			ended := p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed
			r.LogSaved = saved[i]
			if (ended || all) && !r.LogSaved && c.Logs != nil {
				if err := c.saveLog(ctx, j, i, p); err != nil {
					c.Log.Warn("cannot save a replica's log yet", "job", j.Tenant+"/"+j.Name, "replica", i, "err", err)
				} else {
					r.LogSaved = true
				}
			}
		}
		out = append(out, r)
	}
	return out
}

func (c *Controller) saveLog(ctx context.Context, j store.Job, i int32, p *corev1.Pod) error {
	rc, err := c.Client.CoreV1().Pods(p.Namespace).GetLogs(p.Name, &corev1.PodLogOptions{Container: "main"}).Stream(ctx)
	if err != nil {
		return err
	}
	defer rc.Close()
	_, err = c.Logs.Save(ctx, Key(j.Tenant, j.ID, i), rc)
	return err
}

func (c *Controller) create(ctx context.Context, j store.Job) error {
	svc, kj, err := Objects(j, false, c.Tracking)
	if err != nil {
		return err
	}
	if c.Tracking.tracked(j) {
		if err := c.runToken(ctx, j); err != nil {
			return fmt.Errorf("run token: %w", err)
		}
	}
	return c.apply(ctx, svc, kj)
}

// runToken mints the token a job's pods log to its run with (scoped to
// that run, as the job's submitter) and writes it to the job's Secret. A
// token minted before a restart is revoked: only this one's secret is known.
func (c *Controller) runToken(ctx context.Context, j store.Job) error {
	var secret string
	err := c.DB.Write(ctx, func(tx *store.Tx) error {
		u, err := tx.UserByName(ctx, j.CreatedBy)
		if err != nil {
			return fmt.Errorf("submitter %s: %w", j.CreatedBy, err)
		}
		t, s, err := tx.CreateScopedToken(ctx, u.ID, "run of job "+j.Tenant+"/"+j.Name, store.RunScope(j.Tenant, j.RunID), RunTokenTTL)
		if err != nil {
			return err
		}
		secret = s
		return tx.SetJobToken(ctx, j.ID, t.ID)
	})
	if err != nil {
		return err
	}
	_, err = controller.Apply(ctx, c.Client.CoreV1().Secrets(tenants.Namespace(j.Tenant)), TokenSecret(j, secret))
	return err
}

// RunTokenTTL bounds a run token's life even if its job never ends.
const RunTokenTTL = 30 * 24 * time.Hour

// apply writes a job's Service and Job, whole (server-side apply).
func (c *Controller) apply(ctx context.Context, svc *corev1.Service, kj *batchv1.Job) error {
	if _, err := controller.Apply(ctx, c.Client.CoreV1().Services(svc.Namespace), svc); err != nil {
		return err
	}
	_, err := controller.Apply(ctx, c.Client.BatchV1().Jobs(kj.Namespace), kj)
	return err
}

// admit runs admission over the queued jobs and starts the admitted ones.
func (c *Controller) admit(ctx context.Context, queued []store.Job, tenantList []store.Tenant, active []store.Job, owned func(string) error) error {
	usage := map[string]Usage{}
	for _, t := range tenantList {
		usage[t.Name] = Usage{Quota: t.Quota, Used: corev1.ResourceList{}}
	}
	nodes, err := c.freeNodes(usage, active)
	if err != nil {
		return err
	}
	var errs []error
	byID := map[int64]store.Job{}
	for _, j := range queued {
		byID[j.ID] = j
	}
	for _, d := range Admit(queued, usage, nodes) {
		j := byID[d.JobID]
		if !d.Admit {
			reason := "waiting: " + d.Reason
			if d.Inadmissible {
				reason = d.Reason
			}
			if reason != j.Reason {
				decision := metrics.Queued
				if d.Inadmissible {
					decision = metrics.Inadmissible
				}
				metrics.JobAdmissions.WithLabelValues(j.Tenant, decision).Inc()
				errs = append(errs, c.update(ctx, j, store.JobUpdate{Reason: &reason}))
			}
			continue
		}
		if err := owned(j.Tenant); err != nil {
			errs = append(errs, c.refuse(ctx, j, err))
			continue
		}
		// The whole objects again, now unsuspended: a partial apply would
		// give up the fields it left out.
		svc, kj, err := Objects(j, true, c.Tracking)
		if err == nil {
			err = c.apply(ctx, svc, kj)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("start job %s/%s: %w", j.Tenant, j.Name, err))
			continue
		}
		reason := "admitted"
		errs = append(errs, c.update(ctx, j, store.JobUpdate{State: store.JobRunning, Reason: &reason, AdmittedAt: new(time.Now())}))
		metrics.JobAdmissions.WithLabelValues(j.Tenant, metrics.Admitted).Inc()
		metrics.JobQueueWait.WithLabelValues(j.Tenant).Observe(time.Since(j.CreatedAt).Seconds())
		c.Log.Info("job admitted", "tenant", j.Tenant, "job", j.Name, "replicas", j.Spec.Replicas)
	}
	return errors.Join(errs...)
}

// freeNodes reads the nodes' free resources and fills the tenants' usage
// (Capacity, from the informers' caches).
func (c *Controller) freeNodes(usage map[string]Usage, active []store.Job) ([]Node, error) {
	nodeList, err := c.nodes.List(labels.Everything())
	if err != nil {
		return nil, err
	}
	pods, err := c.pods.List(labels.Everything())
	if err != nil {
		return nil, err
	}
	return Capacity(nodeList, pods, usage, active), nil
}

// tainted says whether a node repels job pods (they tolerate no taint), as
// a control-plane node of a cluster with workers does.
func tainted(n *corev1.Node) bool {
	for _, t := range n.Spec.Taints {
		if t.Effect == corev1.TaintEffectNoSchedule || t.Effect == corev1.TaintEffectNoExecute {
			return true
		}
	}
	return false
}

func nodeReady(n *corev1.Node) bool {
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

func podRequests(p *corev1.Pod) corev1.ResourceList {
	out := corev1.ResourceList{}
	for _, ctr := range p.Spec.Containers {
		add(out, ctr.Resources.Requests)
	}
	return out
}

func add(dst, src corev1.ResourceList) {
	for name, q := range src {
		v := dst[name]
		v.Add(q)
		dst[name] = v
	}
}

func sub(dst, src corev1.ResourceList) {
	for name, q := range src {
		if v, ok := dst[name]; ok {
			v.Sub(q)
			dst[name] = v
		}
	}
}

func (c *Controller) update(ctx context.Context, j store.Job, u store.JobUpdate) error {
	return c.DB.Write(ctx, func(tx *store.Tx) error {
		_, err := tx.UpdateJob(ctx, j.ID, u)
		return err
	})
}

// updateIfChanged writes u only when it changes something the store holds.
func (c *Controller) updateIfChanged(ctx context.Context, j store.Job, u store.JobUpdate) error {
	changed := (u.State != "" && u.State != j.State) || (u.Reason != nil && *u.Reason != j.Reason) ||
		(u.Replicas != nil && !slices.EqualFunc(u.Replicas, j.Replicas, sameReplica)) ||
		(u.StartedAt != nil && j.StartedAt == nil) || (u.FinishedAt != nil && j.FinishedAt == nil)
	if !changed {
		return nil
	}
	return c.update(ctx, j, u)
}

func sameReplica(a, b store.Replica) bool {
	return a.Index == b.Index && a.Pod == b.Pod && a.Node == b.Node && a.Phase == b.Phase && a.Restarts == b.Restarts &&
		a.LogSaved == b.LogSaved && (a.ExitCode == nil) == (b.ExitCode == nil) && (a.ExitCode == nil || *a.ExitCode == *b.ExitCode)
}

// Cancel stops a job: the logs of its pods so far are saved, its Kubernetes
// objects (and so its pods) are deleted, and it is marked cancelled.
// record, when not nil, writes the audit row in the same transaction.
func (c *Controller) Cancel(ctx context.Context, j store.Job, by string, record func(*store.Tx) error) (store.Job, error) {
	c.syncMu.Lock()
	defer c.syncMu.Unlock()
	// A pass may have ended the job since the caller read it.
	err := c.DB.Read(ctx, func(tx *store.Tx) error {
		cur, err := tx.Job(ctx, j.Tenant, j.Name)
		if err == nil && cur.ID == j.ID {
			j = cur
		}
		return err
	})
	if err != nil {
		return j, err
	}
	if j.State.Done() {
		return j, fmt.Errorf("job %s is already %s", j.Name, j.State)
	}
	ns := tenants.Namespace(j.Tenant)
	pods, err := c.Client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: JobLabel + "=" + j.Name})
	if err != nil {
		return j, err
	}
	var ptrs []*corev1.Pod
	for i := range pods.Items {
		ptrs = append(ptrs, &pods.Items[i])
	}
	replicas := c.replicasOf(ctx, j, ptrs, true)
	if err := c.deleteObjects(ctx, j); err != nil {
		return j, err
	}
	reason := "cancelled by " + by
	var out store.Job
	err = c.DB.Write(ctx, func(tx *store.Tx) (err error) {
		if out, err = tx.UpdateJob(ctx, j.ID, store.JobUpdate{State: store.JobCancelled, Reason: &reason, Replicas: replicas, FinishedAt: new(time.Now())}); err != nil || record == nil {
			return err
		}
		return record(tx)
	})
	return out, err
}

// deleteObjects deletes a job's Job (with its pods) and Service; in a
// namespace that is not ferry's for the job's tenant nothing is deleted
// (ferry wrote nothing there, and what has the job's names is not its own).
func (c *Controller) deleteObjects(ctx context.Context, j store.Job) error {
	ns, name := tenants.Namespace(j.Tenant), ObjectName(j)
	var t store.Tenant
	if err := c.DB.Read(ctx, func(tx *store.Tx) (err error) { t, err = tx.Tenant(ctx, j.Tenant); return }); err != nil {
		return err
	}
	if err := tenants.CheckNamespace(ctx, c.Client, t); errors.Is(err, tenants.ErrNamespaceConflict) || errors.Is(err, tenants.ErrNamespaceMissing) {
		return nil
	}
	bg := metav1.DeletePropagationBackground
	if err := c.Client.BatchV1().Jobs(ns).Delete(ctx, name, metav1.DeleteOptions{PropagationPolicy: &bg}); err != nil && !apierrors.IsNotFound(err) {
		return err
	}
	if err := c.Client.CoreV1().Services(ns).Delete(ctx, name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
		return err
	}
	if err := c.Client.CoreV1().Secrets(ns).Delete(ctx, TokenSecretName(j), metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
		return err
	}
	return nil
}

// WriteLogs writes a replica's log to w: the saved copy once its pod has
// ended (also after the pod and the job are deleted), else the live log of
// its pod, followed while it runs when follow is set.
func (c *Controller) WriteLogs(ctx context.Context, j store.Job, replica int32, follow bool, w io.Writer) error {
	var r store.Replica
	for _, x := range j.Replicas {
		if x.Index == replica {
			r = x
		}
	}
	if r.LogSaved && c.Logs != nil {
		rc, ok, err := c.Logs.Open(ctx, Key(j.Tenant, j.ID, replica))
		if err != nil {
			return err
		}
		if ok {
			defer rc.Close()
			_, err = io.Copy(w, rc)
			return err
		}
	}
	if r.Pod == "" {
		return fmt.Errorf("replica %d of job %s has no pod yet (%s)", replica, j.Name, j.State)
	}
	rc, err := c.Client.CoreV1().Pods(tenants.Namespace(j.Tenant)).GetLogs(r.Pod, &corev1.PodLogOptions{Container: "main", Follow: follow}).Stream(ctx)
	if err != nil {
		return fmt.Errorf("replica %d's log: %w", replica, err)
	}
	defer rc.Close()
	_, err = io.Copy(w, rc)
	return err
}
