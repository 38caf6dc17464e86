package api

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/adapters/humachi"
	"github.com/go-chi/chi/v5"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

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
	// MaxBodyBytes bounds every request body (default 64 KiB) but a seed bundle's.
	MaxBodyBytes int64
	// MaxSeedBundleBytes bounds an uploaded seed bundle (default 64 GiB).
	MaxSeedBundleBytes int64
	// Registry receives the API's metrics (default: a new registry with Go and process collectors).
	Registry *prometheus.Registry
	// OnTenantChange, when set, is called after a tenant's create, update or
	// delete has committed (the reconciler's trigger).
	OnTenantChange func(name string)
	// Jobs runs submitted jobs; nil stores them without running them.
	Jobs JobRunner
	// Notebooks runs notebooks; nil stores them without running them.
	Notebooks NotebookRunner
	// Pipelines runs pipeline runs; nil stores them without running them.
	Pipelines PipelineRunner
	// Serving runs model deployments; nil stores them without running them.
	Serving ServingRunner
	// Tuning runs tunings; nil stores them without running them.
	Tuning TuningRunner
	// Seed serves the seed bundle to node agents; nil mounts no seed endpoints.
	Seed SeedStore
	// Authn checks tokens (default: against Store).
	Authn *auth.Authenticator
	// BaseURL is the server's external address (e.g. https://ferry.example);
	// the $schema links of answers point under it. Empty: answers carry no
	// $schema link (the Host header is never trusted for it).
	BaseURL string
	// MaxPathBytes bounds a request's path and query; longer ones are refused
	// with 414 before routing (default 2 KiB).
	MaxPathBytes int
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
	if c.MaxSeedBundleBytes <= 0 {
		c.MaxSeedBundleBytes = 64 << 30
	}
	if c.MaxPathBytes <= 0 {
		c.MaxPathBytes = 2 << 10
	}
	if c.BaseURL != "" {
		u, err := url.Parse(c.BaseURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("api: base URL %q is not an http(s) URL", c.BaseURL)
		}
		c.BaseURL = strings.TrimSuffix(c.BaseURL, "/")
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
	s.router.NotFound(func(w http.ResponseWriter, r *http.Request) {
		writeProblem(w, http.StatusNotFound, "no such route: "+bound(r.URL.Path, maxEcho))
	})
	s.router.MethodNotAllowed(func(w http.ResponseWriter, r *http.Request) {
		writeProblem(w, http.StatusMethodNotAllowed, "method "+bound(r.Method, 16)+" is not allowed on "+bound(r.URL.Path, maxEcho))
	})
	s.router.Get("/healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok\n")) })
	s.router.Get("/readyz", s.ready)
	// Read-only: GET and HEAD; other methods are 405. Without credentials
	// (a Prometheus scraping by annotation) it carries counts, durations
	// and amounts labelled by route template, controller and state; the
	// series labelled by tenant need a platform admin's token (tenant names
	// are what the API hides from non-members). Never tokens, users, object
	// names or paths.
	metricsHandler := s.metricsHandler()
	s.router.Method(http.MethodGet, "/metrics", metricsHandler)
	s.router.Method(http.MethodHead, "/metrics", metricsHandler)

	hc := huma.DefaultConfig("ferry control plane", cfg.Version)
	hc.OpenAPIPath = strings.TrimSuffix(v1.PathOpenAPI, ".json")
	hc.DocsPath = ""
	hc.SchemasPath = v1.Prefix + "/schemas"
	hc.Info.Description = "ferry's platform API: tenants, users, tokens, members, audit."
	hc.Components.SecuritySchemes = map[string]*huma.SecurityScheme{
		"bearer": {Type: "http", Scheme: "bearer", Description: "a ferry API token (ferry_...)"},
	}
	hc.Security = []map[string][]string{{"bearer": {}}}
	hc.CreateHooks = []func(huma.Config) huma.Config{s.schemaLinks}
	hc.Transformers = append(hc.Transformers, boundProblem)
	s.api = humachi.New(s.router, hc)
	// Authentication comes first: an anonymous or malformed request is
	// counted, never written to the audit log.
	s.api.UseMiddleware(s.authMiddleware, s.auditMiddleware)
	s.routes()
	return s, nil
}

// ServeHTTP serves the API. An over-long path is refused before routing.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if len(r.URL.EscapedPath())+len(r.URL.RawQuery) > s.cfg.MaxPathBytes {
		s.metrics.requests.WithLabelValues("unmatched", methodLabel(r.Method), strconv.Itoa(http.StatusRequestURITooLong)).Inc()
		writeProblem(w, http.StatusRequestURITooLong, fmt.Sprintf("the request path is longer than %d bytes", s.cfg.MaxPathBytes))
		return
	}
	s.router.ServeHTTP(w, r)
}

// schemaLinks adds huma's $schema links (and Link headers) pointing under
// the configured base URL; without one, answers carry none. The OpenAPI
// document is the same either way.
func (s *Server) schemaLinks(c huma.Config) huma.Config {
	lt := huma.NewSchemaLinkTransformer("#/components/schemas/", c.SchemasPath)
	c.OnAddOperation = append(c.OnAddOperation, lt.OnAddOperation)
	c.Transformers = append(c.Transformers, func(ctx huma.Context, status string, v any) (any, error) {
		if s.cfg.BaseURL == "" {
			return v, nil
		}
		return lt.Transform(baseURLContext{humaContext: ctx, base: s.cfg.BaseURL}, status, v)
	})
	return c
}

// baseURLContext answers huma's schema link transformer with the
// configured base URL instead of the request's Host header.
type baseURLContext struct {
	humaContext
	base string
}

type humaContext = huma.Context

func (c baseURLContext) Host() string { return c.base }

func (c baseURLContext) Header(name string) string {
	if strings.EqualFold(name, "X-Forwarded-Host") {
		return c.base
	}
	if strings.EqualFold(name, "Forwarded") {
		return ""
	}
	return c.humaContext.Header(name)
}

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
	s.pipelineRoutes()
	s.tuningRoutes()
	s.servingRoutes()
	s.notebookRoutes()
	s.notebookSessionRoutes()
	s.uiSessionRoutes()
	s.trackingRoutes()
	s.lineageRoutes()
	s.memberRoutes()
	s.userRoutes()
	s.adminUserRoutes()
	s.tokenRoutes()
	s.auditRoutes()
	s.seedRoutes()
	s.monitoringRoutes()
}

// register adds an operation with the server's body limit.
func register[I, O any](s *Server, op huma.Operation, h func(context.Context, *I) (*O, error)) {
	op.MaxBodyBytes = s.cfg.MaxBodyBytes
	huma.Register(s.api, op, h)
}
