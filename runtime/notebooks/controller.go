package notebooks

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/ferry-ml/ferry/runtime/controller"
	"github.com/ferry-ml/ferry/runtime/tenants"
	"github.com/ferry-ml/ferry/store"
)

// Controller keeps notebooks' Kubernetes objects in step with the store,
// stops notebooks idle longer than their tenant allows, and answers the
// proxy (where a notebook is, and starting it on demand).
type Controller struct {
	DB       *store.DB
	Client   kubernetes.Interface
	Log      *slog.Logger
	Interval time.Duration
	// Explain says what troubles a notebook's pod, in plain words ("" when
	// nothing does); a running notebook's reason follows it. Nil: none.
	Explain func(tenant, name string) string
	// Activity reads the proxy's record of use: last request and whether a
	// connection is open.
	Activity func(tenant, name string) (time.Time, bool)
	// Now is the clock (default time.Now).
	Now func() time.Time
	// InternalURL is how pods reach the control plane; with it, a running
	// notebook's pod gets credentials for its tenant (see access). Empty:
	// none.
	InternalURL string
	// GatewayURL is the serving gateway's in-cluster URL, given to pods
	// with credentials as FERRY_GATEWAY. Empty: none.
	GatewayURL string

	loop  *controller.Loop
	mu    sync.Mutex
	ready map[string]time.Time // notebook → ready, believed until
	// writeMu makes a notebook's writes (write, Delete) one at a time:
	// the API's Start, Stop and Delete run beside the loop's passes.
	writeMu sync.Mutex
}

// NewController returns a controller ready to Run and Poke.
func NewController(db *store.DB, client kubernetes.Interface, log *slog.Logger) *Controller {
	c := &Controller{DB: db, Client: client, Log: log}
	c.loop = &controller.Loop{Name: "notebooks", Log: log, Sync: c.Sync}
	return c
}

// Poke asks for a sync soon.
func (c *Controller) Poke() { c.loop.Poke() }

func (c *Controller) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

// Run syncs until ctx ends.
func (c *Controller) Run(ctx context.Context) error {
	if c.loop == nil {
		return errors.New("notebooks: controller not made by NewController")
	}
	if c.Interval <= 0 {
		c.Interval = 5 * time.Second
	}
	c.loop.Resync = c.Interval
	return c.loop.Start(ctx)
}

// Sync applies every notebook's objects and stops the idle ones.
func (c *Controller) Sync(ctx context.Context) error {
	var nbs []store.Notebook
	idle := map[string]time.Duration{}
	byName := map[string]store.Tenant{}
	err := c.DB.Read(ctx, func(tx *store.Tx) error {
		var err error
		if nbs, err = tx.AllNotebooks(ctx); err != nil {
			return err
		}
		ts, err := tx.ListTenants(ctx, 0, "", 1<<20)
		for _, t := range ts {
			idle[t.Name] = time.Duration(t.NotebookIdleSeconds) * time.Second
			byName[t.Name] = t
		}
		return err
	})
	if err != nil {
		return err
	}
	owned := map[string]error{} // tenant → tenants.CheckNamespace, once a sync
	var errs []error
	for _, n := range nbs {
		nsErr, ok := owned[n.Tenant]
		if !ok {
			nsErr = tenants.CheckNamespace(ctx, c.Client, byName[n.Tenant])
			owned[n.Tenant] = nsErr
		}
		if nsErr != nil {
			_, err := c.refuse(ctx, n, nsErr)
			errs = append(errs, err)
			continue
		}
		if n.State == store.NotebookRunning && c.Activity != nil {
			last, open := c.Activity(n.Tenant, n.Name)
			if open {
				last = c.now()
			}
			if last.After(n.LastActivity) {
				if err := c.DB.Write(ctx, func(tx *store.Tx) error { return tx.TouchNotebook(ctx, n.Tenant, n.Name, last) }); err != nil {
					errs = append(errs, err)
				}
				n.LastActivity = last
			}
			if limit := idle[n.Tenant]; limit > 0 && c.now().Sub(n.LastActivity) > limit {
				reason := fmt.Sprintf("stopped after %s without use (the workspace is kept; opening it starts it again)", limit)
				if err := c.DB.Write(ctx, func(tx *store.Tx) (err error) {
					n, err = tx.SetNotebookState(ctx, n.Tenant, n.Name, store.NotebookStopped, reason)
					return err
				}); err != nil {
					errs = append(errs, err)
					continue
				}
				c.forget(n.Tenant, n.Name)
				c.Log.Info("notebook culled", "tenant", n.Tenant, "notebook", n.Name, "idle", limit)
			}
		}
		if n.State == store.NotebookRunning && c.Explain != nil {
			if why := c.Explain(n.Tenant, n.Name); why != n.Reason {
				if err := c.DB.Write(ctx, func(tx *store.Tx) (err error) {
					n, err = tx.SetNotebookState(ctx, n.Tenant, n.Name, store.NotebookRunning, why)
					return err
				}); err != nil {
					errs = append(errs, err)
				}
			}
		}
		errs = append(errs, c.write(ctx, n))
	}
	return errors.Join(errs...)
}

// refuse records on a notebook why nothing of it is written into its
// tenant's namespace (tenants.CheckNamespace said nsErr); its state stays.
func (c *Controller) refuse(ctx context.Context, n store.Notebook, nsErr error) (store.Notebook, error) {
	why := tenants.NamespaceReason(nsErr)
	if why == n.Reason {
		return n, nil
	}
	err := c.DB.Write(ctx, func(tx *store.Tx) (err error) {
		n, err = tx.SetNotebookState(ctx, n.Tenant, n.Name, n.State, why)
		return err
	})
	return n, err
}

// namespace says whether ferry may write into tenant's namespace
// (tenants.CheckNamespace).
func (c *Controller) namespace(ctx context.Context, tenant string) error {
	var t store.Tenant
	if err := c.DB.Read(ctx, func(tx *store.Tx) (err error) { t, err = tx.Tenant(ctx, tenant); return }); err != nil {
		return err
	}
	return tenants.CheckNamespace(ctx, c.Client, t)
}

// apply writes a notebook's objects once its tenant's namespace is
// checked to be ferry's for it; otherwise the notebook's reason says why
// not, and that is no error of the caller's. It returns n as stored.
func (c *Controller) apply(ctx context.Context, n store.Notebook) (store.Notebook, error) {
	if err := c.namespace(ctx, n.Tenant); err != nil {
		return c.refuse(ctx, n, err)
	}
	return n, c.write(ctx, n)
}

func (c *Controller) forget(tenant, name string) {
	c.mu.Lock()
	delete(c.ready, tenant+"/"+name)
	c.mu.Unlock()
}

func spec(n store.Notebook) Spec {
	return Spec{Tenant: n.Tenant, Name: n.Name, Image: n.Image, CPU: n.Resources.CPU, Memory: n.Resources.Memory, GPU: n.Resources.GPU, Workspace: n.Workspace}
}

// write applies the notebook's objects, whole, by server-side apply: they
// are created, repaired, and scaled to its state (1 running, 0 stopped).
// It holds writeMu and writes the notebook as stored then, not as the
// caller read it: two writes at once that each found no written token
// would each mint one, and the second would roll the pod the first had
// started (its kernel interrupted mid-cell); a pass holding a list read
// before a Stop would scale the notebook up again, and one beside a Delete
// would leave objects with no row.
func (c *Controller) write(ctx context.Context, n store.Notebook) error {
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	err := c.DB.Read(ctx, func(tx *store.Tx) (err error) { n, err = tx.Notebook(ctx, n.Tenant, n.Name); return })
	if errors.Is(err, store.ErrNotFound) {
		return nil // deleted meanwhile, its objects with it
	}
	if err != nil {
		return fmt.Errorf("notebook %s/%s: %w", n.Tenant, n.Name, err)
	}
	s := spec(n)
	if s.Access, err = c.access(ctx, n); err != nil {
		return fmt.Errorf("notebook %s/%s: token: %w", n.Tenant, n.Name, err)
	}
	svc, sts, err := Objects(s, n.State == store.NotebookRunning)
	if err != nil {
		return err
	}
	if _, err := controller.Apply(ctx, c.Client.CoreV1().Services(svc.Namespace), svc); err != nil {
		return fmt.Errorf("notebook %s/%s: %w", n.Tenant, n.Name, err)
	}
	if _, err := controller.Apply(ctx, c.Client.AppsV1().StatefulSets(sts.Namespace), sts); err != nil {
		return fmt.Errorf("notebook %s/%s: %w", n.Tenant, n.Name, err)
	}
	return nil
}

// Target says where a notebook answers and whether it is ready.
func (c *Controller) Target(ctx context.Context, tenant, name string) (*url.URL, bool, bool, error) {
	var n store.Notebook
	err := c.DB.Read(ctx, func(tx *store.Tx) (err error) { n, err = tx.Notebook(ctx, tenant, name); return })
	if errors.Is(err, store.ErrNotFound) {
		return nil, false, false, nil
	}
	if err != nil {
		return nil, false, false, err
	}
	// Fully qualified: a pod's resolver would try its search domains first.
	u := &url.URL{Scheme: "http", Host: fmt.Sprintf("nb-%s.%s.svc.cluster.local.:%d", name, tenants.Namespace(tenant), Port)}
	if n.State != store.NotebookRunning {
		return u, false, true, nil
	}
	key := tenant + "/" + name
	c.mu.Lock()
	until, known := c.ready[key]
	c.mu.Unlock()
	if known && c.now().Before(until) {
		return u, true, true, nil
	}
	sts, err := c.Client.AppsV1().StatefulSets(tenants.Namespace(tenant)).Get(ctx, "nb-"+name, metav1.GetOptions{})
	if err != nil || sts.Status.ReadyReplicas == 0 {
		return u, false, true, nil
	}
	// Ready stays true for a few seconds without asking the API server
	// again: requests of one page load come in bursts.
	c.mu.Lock()
	if c.ready == nil {
		c.ready = map[string]time.Time{}
	}
	c.ready[key] = c.now().Add(3 * time.Second)
	c.mu.Unlock()
	return u, true, true, nil
}

// Record writes a change's audit row in the transaction of the change
// (nil: no row, e.g. a start on demand by the proxy).
type Record func(*store.Tx) error

func (r Record) write(tx *store.Tx) error {
	if r == nil {
		return nil
	}
	return r(tx)
}

// Start marks a notebook running and scales it up.
func (c *Controller) Start(ctx context.Context, tenant, name string, record func(*store.Tx) error) (store.Notebook, error) {
	var n store.Notebook
	err := c.DB.Write(ctx, func(tx *store.Tx) (err error) {
		if err := tx.TouchNotebook(ctx, tenant, name, c.now()); err != nil {
			return err
		}
		if n, err = tx.SetNotebookState(ctx, tenant, name, store.NotebookRunning, ""); err != nil {
			return err
		}
		return Record(record).write(tx)
	})
	if err != nil {
		return n, err
	}
	return c.apply(ctx, n)
}

// Stop marks a notebook stopped and scales it to zero; the workspace stays.
func (c *Controller) Stop(ctx context.Context, tenant, name, reason string, record func(*store.Tx) error) (store.Notebook, error) {
	c.forget(tenant, name)
	var n store.Notebook
	err := c.DB.Write(ctx, func(tx *store.Tx) (err error) {
		if n, err = tx.SetNotebookState(ctx, tenant, name, store.NotebookStopped, reason); err != nil {
			return err
		}
		return Record(record).write(tx)
	})
	if err != nil {
		return n, err
	}
	return c.apply(ctx, n)
}

// Delete removes a notebook, its workspace included: its Kubernetes
// objects first, then its row with the audit row, in one transaction.
func (c *Controller) Delete(ctx context.Context, tenant, name string, record func(*store.Tx) error) error {
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	c.forget(tenant, name)
	ns := tenants.Namespace(tenant)
	// In a namespace that is not ferry's for the tenant nothing is deleted:
	// ferry wrote nothing there, and what has the notebook's names is not its.
	nsErr := c.namespace(ctx, tenant)
	if nsErr != nil && !errors.Is(nsErr, tenants.ErrNamespaceConflict) && !errors.Is(nsErr, tenants.ErrNamespaceMissing) {
		return nsErr
	}
	for _, del := range []func() error{
		func() error {
			return c.Client.AppsV1().StatefulSets(ns).Delete(ctx, "nb-"+name, metav1.DeleteOptions{})
		},
		func() error { return c.Client.CoreV1().Services(ns).Delete(ctx, "nb-"+name, metav1.DeleteOptions{}) },
		func() error {
			return c.Client.CoreV1().PersistentVolumeClaims(ns).Delete(ctx, "workspace-nb-"+name+"-0", metav1.DeleteOptions{})
		},
		// Its token is revoked with its row.
		func() error {
			return c.Client.CoreV1().Secrets(ns).Delete(ctx, TokenSecretName(name), metav1.DeleteOptions{})
		},
	} {
		if nsErr != nil {
			break
		}
		if err := del(); err != nil && !apierrors.IsNotFound(err) {
			return err
		}
	}
	return c.DB.Write(ctx, func(tx *store.Tx) error {
		if err := tx.DeleteNotebook(ctx, tenant, name); err != nil {
			return err
		}
		return Record(record).write(tx)
	})
}
