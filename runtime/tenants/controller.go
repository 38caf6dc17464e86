package tenants

import (
	"context"
	"log/slog"
	"time"

	"golang.org/x/sync/errgroup"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"

	"github.com/ferry-ml/ferry/store"
)

// Controller runs the Reconciler from a rate-limited work queue, fed by the
// API (Enqueue), a periodic resync over every tenant, and informers on the
// objects ferry manages, so a deleted quota comes back within seconds.
type Controller struct {
	R      *Reconciler
	Log    *slog.Logger
	Resync time.Duration
	queue  workqueue.TypedRateLimitingInterface[string]
}

// NewController makes a controller; call Start to run it.
func NewController(r *Reconciler, log *slog.Logger, resync time.Duration) *Controller {
	if resync <= 0 {
		resync = time.Minute
	}
	return &Controller{R: r, Log: log, Resync: resync,
		queue: workqueue.NewTypedRateLimitingQueue(workqueue.DefaultTypedControllerRateLimiter[string]())}
}

// Enqueue asks for a tenant to be reconciled.
func (c *Controller) Enqueue(tenant string) { c.queue.Add(tenant) }

// Start runs the informers, the resync loop and the workers until ctx ends.
func (c *Controller) Start(ctx context.Context) error {
	defer c.queue.ShutDown()
	factory := informers.NewSharedInformerFactoryWithOptions(c.R.Client, c.Resync,
		informers.WithTweakListOptions(func(o *metav1.ListOptions) { o.LabelSelector = ManagedByLabel + "=" + ManagedBy }))
	handler := cache.ResourceEventHandlerFuncs{
		UpdateFunc: func(_, obj any) { c.enqueueOwner(obj) },
		DeleteFunc: c.enqueueOwner,
	}
	for _, inf := range []cache.SharedIndexInformer{
		factory.Core().V1().Namespaces().Informer(),
		factory.Core().V1().ResourceQuotas().Informer(),
		factory.Core().V1().LimitRanges().Informer(),
		factory.Core().V1().ServiceAccounts().Informer(),
		factory.Networking().V1().NetworkPolicies().Informer(),
		factory.Rbac().V1().Roles().Informer(),
		factory.Rbac().V1().RoleBindings().Informer(),
	} {
		if _, err := inf.AddEventHandler(handler); err != nil {
			return err
		}
	}
	factory.Start(ctx.Done())
	defer factory.Shutdown()
	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error { c.resyncLoop(ctx); return nil })
	for i := 0; i < 2; i++ {
		g.Go(func() error { c.work(ctx); return nil })
	}
	g.Go(func() error { <-ctx.Done(); c.queue.ShutDown(); return nil })
	return g.Wait()
}

func (c *Controller) enqueueOwner(obj any) {
	if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = d.Obj
	}
	if m, ok := obj.(metav1.Object); ok {
		if t := m.GetLabels()[TenantLabel]; t != "" {
			c.queue.Add(t)
		}
	}
}

// resyncLoop enqueues every tenant in the store and every tenant namespace
// in the cluster (so deleted tenants are cleaned up after a restart).
func (c *Controller) resyncLoop(ctx context.Context) {
	for {
		var names []string
		err := c.R.Store.Read(ctx, func(tx *store.Tx) error {
			after := ""
			for {
				page, err := tx.ListTenants(ctx, 0, after, 500)
				if err != nil {
					return err
				}
				for _, t := range page {
					names = append(names, t.Name)
				}
				if len(page) < 500 {
					return nil
				}
				after = page[len(page)-1].Name
			}
		})
		if err != nil {
			c.Log.Error("resync tenants", "err", err)
		}
		nss, err := c.R.Client.CoreV1().Namespaces().List(ctx, metav1.ListOptions{LabelSelector: ManagedByLabel + "=" + ManagedBy})
		if err == nil {
			for _, ns := range nss.Items {
				if t := ns.Labels[TenantLabel]; t != "" {
					names = append(names, t)
				}
			}
		}
		for _, n := range names {
			c.queue.Add(n)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(c.Resync):
		}
	}
}

func (c *Controller) work(ctx context.Context) {
	for {
		name, shutdown := c.queue.Get()
		if shutdown {
			return
		}
		err := c.R.Reconcile(ctx, name)
		if err != nil {
			c.Log.Error("reconcile tenant", "tenant", name, "err", err, "retries", c.queue.NumRequeues(name))
			c.queue.AddRateLimited(name)
		} else {
			c.queue.Forget(name)
		}
		c.queue.Done(name)
	}
}
