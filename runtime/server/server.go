// Package server runs ferry's control plane: it opens the store, creates the
// platform admin on first start, serves the API and shuts down gracefully.
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"

	v1 "github.com/ferry-ml/ferry/api/v1"
	"github.com/ferry-ml/ferry/runtime/api"
	"github.com/ferry-ml/ferry/runtime/auditanchor"
	"github.com/ferry-ml/ferry/runtime/auth"
	"github.com/ferry-ml/ferry/runtime/dashboard"
	"github.com/ferry-ml/ferry/runtime/jobs"
	"github.com/ferry-ml/ferry/runtime/metrics"
	"github.com/ferry-ml/ferry/runtime/mlflow"
	"github.com/ferry-ml/ferry/runtime/monitor"
	"github.com/ferry-ml/ferry/runtime/notebooks"
	"github.com/ferry-ml/ferry/runtime/pipelines"
	"github.com/ferry-ml/ferry/runtime/seed"
	"github.com/ferry-ml/ferry/runtime/serving"
	"github.com/ferry-ml/ferry/runtime/tenants"
	"github.com/ferry-ml/ferry/runtime/tuning"
	"github.com/ferry-ml/ferry/store"
)

// AdminTokenFile is where the first start writes the admin token (mode 0600).
const AdminTokenFile = "admin.token"

// SeedTokenFile holds the node agents' token (mode 0600).
const SeedTokenFile = "seed.token"

// GatewayTokenFile holds the serving gateway's token (mode 0600).
const GatewayTokenFile = "gateway.token"

// DBFile is the SQLite file inside the data directory.
const DBFile = "ferry.db"

// Options configures the control plane.
type Options struct {
	DataDir         string
	Listen          string
	Logger          *slog.Logger
	Version         string
	ShutdownTimeout time.Duration
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Kube is how the control plane reaches Kubernetes: "auto" (in-cluster
	// when running in a pod, otherwise none), "off", or a kubeconfig path.
	Kube string
	// KubeContext selects a context of the kubeconfig.
	KubeContext string
	// Resync is how often every tenant is reconciled even without events.
	Resync time.Duration
	// AdminTokenSecret, when set and the server has Kubernetes access,
	// names a Secret in AdminTokenNamespace that receives the admin token,
	// so that `ferry up` can log the CLI in with the cluster's credentials.
	AdminTokenSecret    string
	AdminTokenNamespace string
	// SeedTokenSecret likewise receives the node agents' token (ferry seed).
	SeedTokenSecret string
	// GatewayTokenSecret likewise receives the serving gateway's token: its
	// account may read the routing table and report measurements, nothing else.
	GatewayTokenSecret string
	// BlobURL is where ended pods' logs are kept (a gocloud.dev blob URL;
	// default: the blobs directory of the data directory).
	BlobURL string
	// ExternalURL is how browsers reach the server (e.g. https://ferry.example);
	// with https, notebook session cookies are Secure behind a TLS-terminating proxy.
	ExternalURL string
	// InternalURL is how pods in the cluster reach the control plane (e.g.
	// http://ferry.ferry-system.svc:8080): training jobs get their MLflow
	// tracking URI from it, notebooks their FERRY_SERVER and tracking URI
	// with a token for their tenant. Empty: neither is given one.
	InternalURL string
	// GatewayInternalURL is how pods reach the serving gateway (e.g.
	// http://ferry-gateway.ferry-system.svc:8081): notebooks with
	// credentials, training jobs' pods and pipeline steps' pods get it as
	// FERRY_GATEWAY. Empty: they get none.
	GatewayInternalURL string
	// StepImage is the platform image, whose ferry binary every pipeline
	// step pod copies in (its init container); the chart passes its own.
	StepImage string
	// ServeImage runs the built-in scikit-learn serving runtime (the
	// workload image: Debian python3 + scikit-learn).
	ServeImage string
	// TrustForwardedProto believes X-Forwarded-Proto for the notebook
	// cookies' Secure flag (only behind a proxy that sets it).
	TrustForwardedProto bool
	// AuditKeyFile is the key that signs audit checkpoints (created 0600 on
	// first start; default audit.key beside the data directory).
	AuditKeyFile string
	// AuditKeySecret, with Kubernetes access, keeps that key in this Secret
	// of AdminTokenNamespace instead (created on first start).
	AuditKeySecret string
	// AuditCheckpointInterval is how often the audit head is checkpointed
	// to the blob bucket (default 1m); one is also written at shutdown.
	AuditCheckpointInterval time.Duration
	// Monitor tunes the usage sampler (interval, retention of the series
	// and of the reads log); defaults in monitor.Config.
	Monitor monitor.Config
}

// Validate fills defaults and rejects unusable options.
func (o *Options) Validate() error {
	if o.DataDir == "" {
		return errors.New("server: --data-dir is required")
	}
	if o.Listen == "" {
		o.Listen = "127.0.0.1:8080"
	}
	if o.Logger == nil {
		return errors.New("server: logger is nil")
	}
	if o.ShutdownTimeout <= 0 {
		o.ShutdownTimeout = 20 * time.Second
	}
	if o.ExternalURL != "" {
		u, err := url.Parse(o.ExternalURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("server: --external-url %q is not an http(s) URL", o.ExternalURL)
		}
	}
	if o.InternalURL != "" {
		u, err := url.Parse(o.InternalURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") {
			return fmt.Errorf("server: --internal-url %q is not an http(s) URL without a path", o.InternalURL)
		}
		o.InternalURL = strings.TrimSuffix(o.InternalURL, "/")
	}
	if o.GatewayInternalURL != "" {
		u, err := url.Parse(o.GatewayInternalURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") {
			return fmt.Errorf("server: --gateway-internal-url %q is not an http(s) URL without a path", o.GatewayInternalURL)
		}
		o.GatewayInternalURL = strings.TrimSuffix(o.GatewayInternalURL, "/")
	}
	if (o.AdminTokenSecret != "" || o.SeedTokenSecret != "" || o.GatewayTokenSecret != "" || o.AuditKeySecret != "") && o.AdminTokenNamespace == "" {
		o.AdminTokenNamespace = podNamespace()
		if o.AdminTokenNamespace == "" {
			return errors.New("server: --admin-token-secret needs a namespace: set POD_NAMESPACE or --admin-token-namespace")
		}
	}
	if err := o.Monitor.Validate(); err != nil {
		return err
	}
	return nil
}

// Server is a running control plane.
type Server struct {
	opts    Options
	db      *store.DB
	ln      net.Listener
	http    *http.Server
	tenants *tenants.Controller
	jobs    *jobs.Controller
	nbs     *notebooks.Controller
	pipes   *pipelines.Engine
	kube    kubernetes.Interface
	anchor  *auditanchor.Anchor
	serve   *serving.Controller
	tune    *tuning.Controller
	mon     *monitor.Sampler
}

// New opens the store, bootstraps the admin and binds the listener.
func New(ctx context.Context, opts Options) (*Server, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(opts.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("server: create data dir: %w", err)
	}
	db, err := store.Open(ctx, store.Config{Path: filepath.Join(opts.DataDir, DBFile), Now: opts.Now})
	if err != nil {
		return nil, err
	}
	created, err := bootstrapAdmin(ctx, db, filepath.Join(opts.DataDir, AdminTokenFile))
	if err != nil {
		return nil, errors.Join(err, db.Close())
	}
	if created {
		opts.Logger.Info("created platform admin", "user", "admin", "tokenFile", filepath.Join(opts.DataDir, AdminTokenFile))
	}
	seedStore, err := seed.Open(filepath.Join(opts.DataDir, "seed"))
	if err != nil {
		return nil, errors.Join(fmt.Errorf("server: seed store: %w", err), db.Close())
	}
	exists := func(file string) func() bool {
		return func() bool { _, err := os.Stat(filepath.Join(opts.DataDir, file)); return err == nil }
	}
	if _, err := seed.Bootstrap(ctx, db, exists(SeedTokenFile), func(secret string) error {
		return writeSecret(filepath.Join(opts.DataDir, SeedTokenFile), secret)
	}); err != nil {
		return nil, errors.Join(fmt.Errorf("server: bootstrap seed account: %w", err), db.Close())
	}
	if _, err := auth.BootstrapAccount(ctx, db, v1.GatewayUser, "gateway", "bootstrapGatewayUser", exists(GatewayTokenFile), func(secret string) error {
		return writeSecret(filepath.Join(opts.DataDir, GatewayTokenFile), secret)
	}); err != nil {
		return nil, errors.Join(fmt.Errorf("server: bootstrap gateway account: %w", err), db.Close())
	}
	kube, err := kubeClient(opts.Kube, opts.KubeContext)
	if err != nil {
		return nil, errors.Join(err, db.Close())
	}
	anchor, err := openAnchor(ctx, db, kube, opts)
	if err != nil {
		return nil, errors.Join(fmt.Errorf("server: audit anchor: %w", err), db.Close())
	}
	var ctrl *tenants.Controller
	var jobCtrl *jobs.Controller
	var runner api.JobRunner
	var nbCtrl *notebooks.Controller
	var nbRunner api.NotebookRunner
	var pipes *pipelines.Engine
	var pipeRunner api.PipelineRunner
	var serveCtrl *serving.Controller
	var serveRunner api.ServingRunner
	var tuneCtrl *tuning.Controller
	var tuneRunner api.TuningRunner
	onTenant := func(string) {}
	var mon *monitor.Sampler
	if kube != nil {
		ctrl = tenants.NewController(&tenants.Reconciler{Store: db, Client: kube}, opts.Logger, opts.Resync)
		blobURL := opts.BlobURL
		if blobURL == "" {
			blobURL = "file://" + filepath.Join(opts.DataDir, "blobs") + "?create_dir=true"
		}
		logs, err := jobs.OpenLogs(ctx, blobURL)
		if err != nil {
			return nil, errors.Join(err, db.Close())
		}
		jobCtrl = jobs.NewController(db, kube, logs, opts.Logger.With("controller", "jobs"))
		jobCtrl.Tracking = jobs.Tracking{URL: opts.InternalURL, Gateway: opts.GatewayInternalURL}
		runner = jobCtrl
		pipes = pipelines.NewEngine(db, kube, logs, opts.Logger.With("controller", "pipelines"), pipelines.PodConfig{Image: opts.StepImage, URL: opts.InternalURL, Gateway: opts.GatewayInternalURL})
		// One cache of every pod and node for jobs' and steps' admission
		// and serving's endpoints, not one each.
		podsAndNodes := informers.NewSharedInformerFactory(kube, 10*time.Minute)
		jobCtrl.Informers, pipes.Informers = podsAndNodes, podsAndNodes
		pipeRunner = pipes
		tuneCtrl = tuning.NewController(db, jobCtrl, opts.Logger.With("controller", "tuning"))
		tuneRunner = tuneCtrl
		nbCtrl = notebooks.NewController(db, kube, opts.Logger.With("controller", "notebooks"))
		nbCtrl.InternalURL = opts.InternalURL
		nbCtrl.GatewayURL = opts.GatewayInternalURL
		nbRunner = nbCtrl
		blobs, err := serving.OpenBlobs(ctx, blobURL)
		if err != nil {
			return nil, errors.Join(err, db.Close())
		}
		serveCtrl = serving.NewController(db, kube, serving.PodConfig{WorkloadImage: opts.ServeImage, URL: opts.InternalURL},
			opts.Logger.With("controller", "serving"))
		serveCtrl.Blobs = blobs
		serveCtrl.Informers = podsAndNodes
		serveRunner = serveCtrl
		if mon, err = monitor.New(db, kube, opts.Logger.With("component", "monitor"), opts.Monitor); err != nil {
			return nil, errors.Join(err, db.Close())
		}
		jobCtrl.Events = mon.Events
		pipes.Events, serveCtrl.Events = mon.Events, mon.Events
		nbCtrl.Explain = func(tenant, name string) string { return mon.Explain(tenant, store.WorkloadNotebook, name) }
		onTenant = func(name string) { ctrl.Enqueue(name); jobCtrl.Poke(); nbCtrl.Poke() }
	} else {
		opts.Logger.Warn("no Kubernetes access: tenants and jobs are stored but not reconciled", "kube", opts.Kube)
	}
	authn := &auth.Authenticator{DB: db}
	// /metrics: the API's HTTP metrics, the controllers' events and the
	// platform's state from the store (runtime/monitor.Collector).
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}), monitor.NewCollector(ctx, db, mon, opts.Logger.Warn))
	reg.MustRegister(metrics.All()...)
	h, err := api.New(api.Config{Store: db, Registry: reg, Logger: opts.Logger, Version: opts.Version, OnTenantChange: onTenant, Jobs: runner, Notebooks: nbRunner, Pipelines: pipeRunner, Serving: serveRunner, Tuning: tuneRunner,
		Seed: seedStore, Authn: authn, BaseURL: opts.ExternalURL})
	if err != nil {
		return nil, errors.Join(err, db.Close())
	}
	ln, err := net.Listen("tcp", opts.Listen)
	if err != nil {
		return nil, errors.Join(fmt.Errorf("server: listen on %s: %w", opts.Listen, err), db.Close())
	}
	mux := http.NewServeMux()
	if nbCtrl != nil {
		proxy := &notebooks.Proxy{DB: db, Authn: authn, Backend: nbCtrl, Log: opts.Logger.With("component", "notebook-proxy"),
			ExternalHTTPS: strings.HasPrefix(opts.ExternalURL, "https://"), TrustForwardedProto: opts.TrustForwardedProto}
		nbCtrl.Activity = proxy.LastActivity
		mux.Handle(v1.NotebookProxyPrefix, proxy)
	}
	mux.Handle(mlflow.Prefix, dashboard.Gate(mlflow.Mount(ctx, mlflow.Config{DB: db, Authn: authn, BlobURL: opts.BlobURL, DataDir: opts.DataDir, Logger: opts.Logger.With("component", "mlflow")})))
	// The API answers under /api/ (a browser session through the gate) and
	// its probes; every other path is the dashboard.
	mux.Handle(v1.Prefix+"/", dashboard.Gate(h))
	for _, p := range []string{"/healthz", "/readyz", "/metrics"} {
		mux.Handle(p, h)
	}
	ui, err := dashboard.New(dashboard.Config{DB: db, Logger: opts.Logger.With("component", "dashboard"), Secure: strings.HasPrefix(opts.ExternalURL, "https://")})
	if err != nil {
		return nil, errors.Join(err, ln.Close(), db.Close())
	}
	mux.Handle("/", ui)
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute}
	return &Server{opts: opts, db: db, ln: ln, http: hs, tenants: ctrl, jobs: jobCtrl, nbs: nbCtrl, pipes: pipes, kube: kube, anchor: anchor, serve: serveCtrl, tune: tuneCtrl, mon: mon}, nil
}

// Addr is the address the server listens on (useful with port 0).
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Store is the server's database.
func (s *Server) Store() *store.DB { return s.db }

// Run serves until ctx is cancelled, then lets in-flight requests finish
// (up to ShutdownTimeout) and closes the database cleanly.
func (s *Server) Run(ctx context.Context) error {
	s.opts.Logger.Info("serving", "addr", s.Addr())
	errc := make(chan error, 1)
	go func() { errc <- s.http.Serve(s.ln) }()
	ctrlDone := make(chan error, 1)
	ctrlCtx, stopCtrl := context.WithCancel(ctx)
	defer stopCtrl()
	jobsDone, nbsDone, pipesDone := make(chan error, 1), make(chan error, 1), make(chan error, 1)
	if s.pipes != nil {
		go func() { pipesDone <- s.pipes.Start(ctrlCtx) }()
	} else {
		pipesDone <- nil
	}
	if s.tenants != nil {
		go func() { ctrlDone <- s.tenants.Start(ctrlCtx) }()
		go func() { jobsDone <- s.jobs.Start(ctrlCtx) }()
		go func() { nbsDone <- s.nbs.Run(ctrlCtx) }()
	} else {
		ctrlDone <- nil
		jobsDone <- nil
		nbsDone <- nil
	}
	serveDone := make(chan error, 1)
	if s.serve != nil {
		go func() { serveDone <- s.serve.Start(ctrlCtx) }()
	} else {
		serveDone <- nil
	}
	monDone := make(chan error, 1)
	if s.mon != nil {
		go func() { monDone <- s.mon.Start(ctrlCtx) }()
	} else {
		monDone <- nil
	}
	tuneDone := make(chan error, 1)
	if s.tune != nil {
		go func() { tuneDone <- s.tune.Start(ctrlCtx) }()
	} else {
		tuneDone <- nil
	}
	if s.kube != nil && s.opts.AdminTokenSecret != "" {
		go s.publishToken(ctrlCtx, AdminTokenFile, s.opts.AdminTokenSecret)
	}
	if s.kube != nil && s.opts.SeedTokenSecret != "" {
		go s.publishToken(ctrlCtx, SeedTokenFile, s.opts.SeedTokenSecret)
	}
	if s.kube != nil && s.opts.GatewayTokenSecret != "" {
		go s.publishToken(ctrlCtx, GatewayTokenFile, s.opts.GatewayTokenSecret)
	}
	// The anchor outlives the HTTP drain, so its last checkpoint has every row.
	anchorCtx, stopAnchor := context.WithCancel(context.WithoutCancel(ctx))
	defer stopAnchor()
	anchorDone := make(chan error, 1)
	if s.anchor != nil {
		go func() { anchorDone <- s.anchor.Run(anchorCtx) }()
	} else {
		anchorDone <- nil
	}
	var serveErr error
	select {
	case err := <-errc:
		serveErr = err
	case <-ctx.Done():
		s.opts.Logger.Info("shutting down", "timeout", s.opts.ShutdownTimeout)
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.opts.ShutdownTimeout)
		defer cancel()
		serveErr = s.http.Shutdown(sctx)
	}
	if errors.Is(serveErr, http.ErrServerClosed) {
		serveErr = nil
	}
	stopCtrl()
	ctrlErr, jobsErr, nbsErr, pipesErr, servingErr, tuneErr := <-ctrlDone, <-jobsDone, <-nbsDone, <-pipesDone, <-serveDone, <-tuneDone
	monErr := <-monDone
	stopAnchor()
	anchorErr := <-anchorDone
	return errors.Join(serveErr, ctrlErr, jobsErr, nbsErr, pipesErr, servingErr, tuneErr, monErr, anchorErr, s.db.Close())
}

// bootstrapAdmin creates the platform admin and writes its token once.
func bootstrapAdmin(ctx context.Context, db *store.DB, tokenPath string) (bool, error) {
	created := false
	err := db.Write(ctx, func(tx *store.Tx) error {
		ok, err := tx.HasAdmin(ctx)
		if err != nil || ok {
			return err
		}
		u, err := tx.CreateUser(ctx, "admin", true)
		if err != nil {
			return err
		}
		_, secret, err := tx.CreateToken(ctx, u.ID, "bootstrap", 0)
		if err != nil {
			return err
		}
		if _, err := tx.AppendAudit(ctx, store.AuditEntry{Actor: "system", Action: "bootstrapAdmin", Target: "user/admin", Result: "ok"}); err != nil {
			return err
		}
		if err := writeSecret(tokenPath, secret); err != nil {
			return err
		}
		created = true
		return nil
	})
	if err != nil {
		_ = os.Remove(tokenPath)
		return false, fmt.Errorf("server: bootstrap admin: %w", err)
	}
	return created, nil
}

// writeSecret writes data to path atomically with mode 0600.
func writeSecret(path, data string) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".token-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		return errors.Join(err, tmp.Close())
	}
	if _, err := tmp.WriteString(data + "\n"); err != nil {
		return errors.Join(err, tmp.Close())
	}
	if err := tmp.Sync(); err != nil {
		return errors.Join(err, tmp.Close())
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// Backup writes a consistent copy of the data directory's database to path,
// safe while a server is running on it.
func Backup(ctx context.Context, dataDir, path string) error {
	src := filepath.Join(dataDir, DBFile)
	if _, err := os.Stat(src); err != nil {
		return fmt.Errorf("backup: no database at %s: %w", src, err)
	}
	db, err := store.Open(ctx, store.Config{Path: src, Readers: 1})
	if err != nil {
		return err
	}
	return errors.Join(db.Backup(ctx, path), db.Close())
}
