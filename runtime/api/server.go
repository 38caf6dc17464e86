package api

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/adapters/humachi"
	"github.com/go-chi/chi/v5"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	v1 "github.com/ferry-ml/ferry/api/v1"
	"github.com/ferry-ml/ferry/runtime/auth"
	"github.com/ferry-ml/ferry/runtime/seed"
	"github.com/ferry-ml/ferry/store"
)

// Config configures the API handler.
type Config struct {
	Store   *store.DB
	Logger  *slog.Logger
	Version string
	// MaxBodyBytes bounds every request body (default 64 KiB).
	MaxBodyBytes int64
	// Registry receives the API's metrics (default: a new registry with Go and process collectors).
	Registry *prometheus.Registry
	// OnTenantChange, when set, is called after a tenant's create, update or
	// delete has committed (the reconciler's trigger).
	OnTenantChange func(name string)
	// Jobs runs submitted jobs; nil stores them without running them.
	Jobs JobRunner
	// Notebooks runs notebooks; nil stores them without running them.
	Notebooks NotebookRunner
	// Seed serves the seed bundle to node agents; nil mounts no seed endpoints.
	Seed SeedStore
	// Authn checks tokens (default: against Store).
	Authn *auth.Authenticator
}

// Validate fills defaults and rejects an unusable config.
func (c *Config) Validate() error {
	if c.Store == nil {
		return errors.New("api: store is nil")
	}
	if c.Logger == nil {
		return errors.New("api: logger is nil")
	}
	if c.MaxBodyBytes <= 0 {
		c.MaxBodyBytes = 64 << 10
	}
	if c.Authn == nil {
		c.Authn = &auth.Authenticator{DB: c.Store}
	}
	if c.OnTenantChange == nil {
		c.OnTenantChange = func(string) {}
	}
	if c.Registry == nil {
		c.Registry = prometheus.NewRegistry()
		c.Registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	}
	return nil
}

// Server is the API: an http.Handler with its routes registered.
type Server struct {
	cfg     Config
	db      *store.DB
	log     *slog.Logger
	authn   *auth.Authenticator
	router  chi.Router
	api     huma.API
	metrics *metrics
	// seedNodes is what the seed agents last reported.
	seedNodes seed.Nodes
}

// New builds the handler and registers every route.
func New(cfg Config) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, db: cfg.Store, log: cfg.Logger, authn: cfg.Authn, router: chi.NewMux(), metrics: newMetrics(cfg.Registry)}
	s.router.Use(s.observe)
	s.router.Get("/healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok\n")) })
	s.router.Get("/readyz", s.ready)
	s.router.Handle("/metrics", promhttp.HandlerFor(cfg.Registry, promhttp.HandlerOpts{}))

	hc := huma.DefaultConfig("ferry control plane", cfg.Version)
	hc.OpenAPIPath = strings.TrimSuffix(v1.PathOpenAPI, ".json")
	hc.DocsPath = ""
	hc.SchemasPath = v1.Prefix + "/schemas"
	hc.Info.Description = "ferry's platform API: tenants, users, tokens, members, audit."
	hc.Components.SecuritySchemes = map[string]*huma.SecurityScheme{
		"bearer": {Type: "http", Scheme: "bearer", Description: "a ferry API token (ferry_...)"},
	}
	hc.Security = []map[string][]string{{"bearer": {}}}
	s.api = humachi.New(s.router, hc)
	s.api.UseMiddleware(s.auditMiddleware, s.authMiddleware)
	s.routes()
	return s, nil
}

// ServeHTTP serves the API.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.router.ServeHTTP(w, r) }

// OpenAPI is the generated OpenAPI document.
func (s *Server) OpenAPI() *huma.OpenAPI { return s.api.OpenAPI() }

func (s *Server) ready(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := s.db.Read(ctx, func(*store.Tx) error { return nil }); err != nil {
		http.Error(w, "store not ready", http.StatusServiceUnavailable)
		return
	}
	_, _ = w.Write([]byte("ok\n"))
}

func (s *Server) routes() {
	s.whoamiRoutes()
	s.tenantRoutes()
	s.jobRoutes()
	s.notebookRoutes()
	s.memberRoutes()
	s.userRoutes()
	s.tokenRoutes()
	s.auditRoutes()
	s.seedRoutes()
}

// register adds an operation with the server's body limit.
func register[I, O any](s *Server, op huma.Operation, h func(context.Context, *I) (*O, error)) {
	op.MaxBodyBytes = s.cfg.MaxBodyBytes
	huma.Register(s.api, op, h)
}
