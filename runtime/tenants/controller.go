package tenants

import (
	"context"
	"errors"
	"log/slog"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/tools/cache"

	"github.com/ferry-ml/ferry/runtime/controller"
	"github.com/ferry-ml/ferry/store"
)

// Controller runs the Reconciler from the shared per-key queue, fed by the
// API (Enqueue), a periodic resync over every tenant, and informers on the
// objects ferry manages, so a deleted quota comes back within seconds.
type Controller struct {
	R      *Reconciler
	Log    *slog.Logger
	Resync time.Duration
	queue  *controller.Queue[string]
}

// NewController makes a controller; call Start to run it.
func NewController(r *Reconciler, log *slog.Logger, resync time.Duration) *Controller {
	if resync <= 0 {
		resync = time.Minute
	}
	c := &Controller{R: r, Log: log, Resync: resync}
	c.queue = controller.NewQueue("tenants", r.Reconcile, c.names, log,
		controller.Options{Resync: resync, MaxBackoff: 5 * time.Minute, Workers: 2})
	return c
}

// Enqueue asks for a tenant to be reconciled.
func (c *Controller) Enqueue(tenant string) { c.queue.Enqueue(tenant) }

// Start runs the informers, the resync and the workers until ctx ends.
func (c *Controller) Start(ctx context.Context) error {
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
	return c.queue.Start(ctx)
}

func (c *Controller) enqueueOwner(obj any) {
	if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = d.Obj
	}
	if m, ok := obj.(metav1.Object); ok {
		if t := m.GetLabels()[TenantLabel]; t != "" {
			c.queue.Enqueue(t)
		}
	}
}

// names is every tenant in the store and every tenant namespace in the
// cluster (so deleted tenants are cleaned up after a restart).
func (c *Controller) names(ctx context.Context) ([]string, error) {
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
	nss, nsErr := c.R.Client.CoreV1().Namespaces().List(ctx, metav1.ListOptions{LabelSelector: ManagedByLabel + "=" + ManagedBy})
	if nsErr == nil {
		for _, ns := range nss.Items {
			if t := ns.Labels[TenantLabel]; t != "" {
				names = append(names, t)
			}
		}
	}
	return names, errors.Join(err, nsErr)
}
