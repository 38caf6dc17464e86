package mlflow

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"sync"

	"gocloud.dev/blob"
	_ "gocloud.dev/blob/fileblob" // file:// buckets, the default

	"github.com/ferry-ml/ferry/runtime/auth"
	"github.com/ferry-ml/ferry/store"
)

// Prefix is where the handler is mounted: /mlflow/{tenant}/...
const Prefix = "/mlflow/"

// Config configures the MLflow handler.
type Config struct {
	DB    *store.DB
	Authn *auth.Authenticator
	// Bucket keeps artifact blobs; when nil, BlobURL (else DataDir/blobs) is opened.
	Bucket  *blob.Bucket
	BlobURL string
	DataDir string
	Logger  *slog.Logger
	// MaxBodyBytes bounds a JSON request body (default 16 MiB).
	MaxBodyBytes int64
	// MaxArtifactBytes bounds one uploaded artifact (default 5 GiB).
	MaxArtifactBytes int64
}

// Validate fills defaults and rejects an unusable config.
func (c *Config) Validate() error {
	if c.DB == nil {
		return errors.New("mlflow: store is nil")
	}
	if c.Logger == nil {
		return errors.New("mlflow: logger is nil")
	}
	if c.Authn == nil {
		c.Authn = &auth.Authenticator{DB: c.DB}
	}
	if c.MaxBodyBytes <= 0 {
		c.MaxBodyBytes = 16 << 20
	}
	if c.MaxArtifactBytes <= 0 {
		c.MaxArtifactBytes = 5 << 30
	}
	if c.Bucket == nil && c.BlobURL == "" {
		if c.DataDir == "" {
			return errors.New("mlflow: no bucket, blob URL or data directory for artifacts")
		}
		c.BlobURL = "file://" + filepath.Join(c.DataDir, "blobs") + "?create_dir=true"
	}
	return nil
}

// Handler serves MLflow's REST API for every tenant.
type Handler struct {
	cfg    Config
	db     *store.DB
	bucket *blob.Bucket
	log    *slog.Logger
	// defaults remembers the tenants whose experiment 0 exists.
	defaults sync.Map
}

// New opens the artifact bucket and builds the handler.
func New(ctx context.Context, cfg Config) (*Handler, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	b := cfg.Bucket
	if b == nil {
		u := cfg.BlobURL
		// Write beside the final file, not in $TMPDIR (another filesystem in a pod).
		if strings.HasPrefix(u, "file://") && !strings.Contains(u, "no_tmp_dir=") {
			u += map[bool]string{true: "&", false: "?"}[strings.Contains(u, "?")] + "no_tmp_dir=true"
		}
		var err error
		if b, err = blob.OpenBucket(ctx, u); err != nil {
			return nil, fmt.Errorf("mlflow: open artifact bucket %s: %w", cfg.BlobURL, err)
		}
	}
	return &Handler{cfg: cfg, db: cfg.DB, bucket: b, log: cfg.Logger}, nil
}

// Mount is New for a server's mux: when the handler cannot be built, the
// error is logged and every MLflow request is answered 503.
func Mount(ctx context.Context, cfg Config) http.Handler {
	h, err := New(ctx, cfg)
	if err == nil {
		return h
	}
	if cfg.Logger != nil {
		cfg.Logger.Error("mlflow API unavailable", "err", err)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusServiceUnavailable, &apiError{Code: "TEMPORARILY_UNAVAILABLE", Msg: "the MLflow API is not available: " + err.Error()})
	})
}

// request is one authenticated, authorized call.
type request struct {
	*http.Request
	w      http.ResponseWriter
	tenant string
	user   store.User
	role   store.Role
	// run, when set, is the only run the request's token may write to (a
	// job's run token); see mayWrite.
	run string
}

type endpoint struct {
	methods []string
	write   bool
	// runScoped: a run-scoped token may call it; the handler names the run
	// it writes to with mayWrite.
	runScoped bool
	fn        func(*Handler, *request) (any, error)
}

// runOnly marks a write endpoint that a run-scoped token may call.
func runOnly(e endpoint) endpoint { e.runScoped = true; return e }

// mayWrite refuses a write to run id by a token scoped to another run.
func (r *request) mayWrite(id string) error {
	if r.run != "" && id != r.run {
		return &apiError{Status: http.StatusForbidden, Code: "PERMISSION_DENIED",
			Msg: fmt.Sprintf("this token may write only to run %s, not to run %s", r.run, id)}
	}
	return nil
}

func get(fn func(*Handler, *request) (any, error)) endpoint {
	return endpoint{methods: []string{http.MethodGet}, fn: fn}
}

func post(fn func(*Handler, *request) (any, error)) endpoint {
	return endpoint{methods: []string{http.MethodPost}, write: true, fn: fn}
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rest, ok := strings.CutPrefix(r.URL.Path, Prefix)
	tenant, path, ok2 := strings.Cut(rest, "/")
	if !ok || !ok2 || tenant == "" {
		writeJSON(w, http.StatusNotFound, &apiError{Code: "ENDPOINT_NOT_FOUND", Msg: "MLflow paths are " + Prefix + "{tenant}/api/2.0/..."})
		return
	}
	path = "/" + path
	var ep endpoint
	var found bool
	if a, ok := strings.CutPrefix(path, artifactsPath); ok && (a == "" || a[0] == '/') {
		ep, found = artifactEndpoint(r.Method), true
	} else {
		ep, found = route(strings.TrimSuffix(strings.Replace(path, "/ajax-api/", "/api/", 1), "/"), r.Method)
	}
	id, err := h.authenticate(r)
	if err != nil {
		writeErr(w, h.log, err)
		return
	}
	// A scoped token's tenant and role are enforced by authorize
	// (auth.TenantRole); a run token's run by mayWrite.
	req := &request{Request: r, w: w, tenant: tenant, user: id.User, run: id.Run}
	if req.role, err = h.authorize(r.Context(), id, tenant); err != nil {
		writeErr(w, h.log, err)
		return
	}
	if !found {
		writeJSON(w, http.StatusNotFound, &apiError{Code: "ENDPOINT_NOT_FOUND", Msg: "no MLflow endpoint " + path})
		return
	}
	if !allowed(ep.methods, r.Method) {
		w.Header().Set("Allow", strings.Join(ep.methods, ", "))
		writeJSON(w, http.StatusMethodNotAllowed, &apiError{Code: "ENDPOINT_NOT_FOUND", Msg: r.Method + " is not allowed on " + path})
		return
	}
	if ep.write && req.run != "" && !ep.runScoped {
		writeErr(w, h.log, &apiError{Status: http.StatusForbidden, Code: "PERMISSION_DENIED",
			Msg: fmt.Sprintf("this token may write only to run %s (log to it, upload its artifacts, register a model version from it)", req.run)})
		return
	}
	if ep.write && !req.role.AtLeast(store.RoleEditor) {
		writeErr(w, h.log, &apiError{Status: http.StatusForbidden, Code: "PERMISSION_DENIED",
			Msg: fmt.Sprintf("role %s in tenant %s may not change MLflow data; it needs editor", req.role, tenant)})
		return
	}
	if err := h.ensureDefault(r.Context(), tenant); err != nil {
		writeErr(w, h.log, err)
		return
	}
	out, err := ep.fn(h, req)
	if err != nil {
		writeErr(w, h.log, err)
		return
	}
	if out != nil {
		writeJSON(w, http.StatusOK, out)
	}
}

func allowed(methods []string, m string) bool {
	for _, a := range methods {
		if a == m {
			return true
		}
	}
	return false
}

// authenticate reads a bearer token, or HTTP Basic with the token as
// password; scoped tokens (a job's run token, a notebook's tenant token)
// are accepted here.
func (h *Handler) authenticate(r *http.Request) (auth.TokenIdentity, error) {
	secret, ok := auth.BearerToken(r.Header)
	if !ok {
		if _, pw, basic := basicAuth(r.Header.Get("Authorization")); basic {
			secret = pw
		}
	}
	id, err := h.cfg.Authn.ScopedTokenIdentity(r.Context(), secret)
	if err != nil {
		if auth.Unauthenticated(err) {
			return auth.TokenIdentity{}, &apiError{Status: http.StatusUnauthorized, Code: "UNAUTHENTICATED", Msg: err.Error()}
		}
		return auth.TokenIdentity{}, err
	}
	return id, nil
}

func basicAuth(h string) (string, string, bool) {
	scheme, enc, ok := strings.Cut(strings.TrimSpace(h), " ")
	if !ok || !strings.EqualFold(scheme, "Basic") {
		return "", "", false
	}
	b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(enc))
	if err != nil {
		return "", "", false
	}
	user, pw, ok := strings.Cut(string(b), ":")
	return user, pw, ok
}

// authorize returns the caller's role; no role (no tenant, or a scoped
// token of another tenant) is 404.
func (h *Handler) authorize(ctx context.Context, id auth.TokenIdentity, tenant string) (store.Role, error) {
	var role store.Role
	err := h.db.Read(ctx, func(tx *store.Tx) (err error) {
		role, err = auth.TenantRole(ctx, tx, id, tenant)
		return err
	})
	if errors.Is(err, store.ErrNotFound) {
		return "", notFound("tenant %s not found", tenant)
	}
	return role, err
}

func (h *Handler) ensureDefault(ctx context.Context, tenant string) error {
	if _, ok := h.defaults.Load(tenant); ok {
		return nil
	}
	var has bool
	if err := h.db.Read(ctx, func(tx *store.Tx) error {
		var err error
		has, err = tx.HasDefaultExperiment(ctx, tenant)
		return err
	}); err != nil {
		return err
	}
	if !has {
		if err := h.db.Write(ctx, func(tx *store.Tx) error { return tx.EnsureDefaultExperiment(ctx, tenant) }); err != nil {
			return err
		}
	}
	h.defaults.Store(tenant, true)
	return nil
}

// decode reads the request's message: the query string of a GET (and of a
// DELETE without a body), else the JSON body.
func (h *Handler) decode(r *request, dst any) error {
	q := r.URL.Query()
	var body []byte
	if r.Method != http.MethodGet {
		var err error
		body, err = io.ReadAll(http.MaxBytesReader(r.w, r.Body, h.cfg.MaxBodyBytes))
		if err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				return invalid("request body is larger than %d bytes", h.cfg.MaxBodyBytes)
			}
			return invalid("read request body: %v", err)
		}
	}
	if len(strings.TrimSpace(string(body))) == 0 {
		b, err := json.Marshal(queryMap(q))
		if err != nil {
			return err
		}
		body = b
	}
	if err := json.Unmarshal(body, dst); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return invalid("invalid value for parameter '%s': %v", te.Field, err)
		}
		return invalid("malformed request: %v", err)
	}
	return nil
}

func queryMap(q url.Values) map[string]any {
	m := make(map[string]any, len(q))
	for k, vs := range q {
		if len(vs) == 1 {
			m[k] = vs[0]
		} else {
			m[k] = vs
		}
	}
	return m
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// writeErr is the one place that maps errors to MLflow's codes and statuses.
func writeErr(w http.ResponseWriter, log *slog.Logger, err error) {
	var ae *apiError
	switch {
	case errors.As(err, &ae):
	case errors.Is(err, store.ErrNotFound):
		ae = &apiError{Status: 404, Code: "RESOURCE_DOES_NOT_EXIST", Msg: err.Error()}
	case errors.Is(err, store.ErrConflict):
		ae = &apiError{Status: 409, Code: "RESOURCE_ALREADY_EXISTS", Msg: err.Error()}
	case errors.Is(err, store.ErrInvalid):
		ae = &apiError{Status: 400, Code: "INVALID_PARAMETER_VALUE", Msg: err.Error()}
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		ae = &apiError{Status: 503, Code: "TEMPORARILY_UNAVAILABLE", Msg: "request cancelled or timed out"}
	default:
		log.Error("mlflow internal error", "err", err)
		ae = &apiError{Status: 500, Code: "INTERNAL_ERROR", Msg: "internal error"}
	}
	if ae.Status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="ferry"`)
	}
	writeJSON(w, ae.Status, ae)
}

// write runs fn in a write transaction; with action set, the success audit
// row is appended in the same transaction.
func (h *Handler) write(r *request, action, target string, fn func(*store.Tx) error) error {
	return h.writeTarget(r, action, func(tx *store.Tx) (string, error) { return target, fn(tx) })
}

// writeTarget is write for a change whose target is known only once made.
func (h *Handler) writeTarget(r *request, action string, fn func(*store.Tx) (string, error)) error {
	ctx := r.Context()
	return h.db.Write(ctx, func(tx *store.Tx) error {
		target, err := fn(tx)
		if err != nil || action == "" {
			return err
		}
		_, err = tx.AppendAudit(ctx, store.AuditEntry{Actor: r.user.Name, Action: "mlflow." + action, Tenant: r.tenant, Target: target, Result: "ok"})
		return err
	})
}

func (h *Handler) read(r *request, fn func(*store.Tx) error) error {
	return h.db.Read(r.Context(), fn)
}
