package seed

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/ferry-ml/ferry/bundle"
	"github.com/ferry-ml/ferry/store"
)

// User is the system account the node agents authenticate as.
const User = "ferry-seed"

// Routes under which Handler serves.
const (
	PathImages  = "/api/v1/seed/images"
	PathArchive = "/api/v1/seed/archive"
	PathBundle  = "/api/v1/seed/bundle"
	PathStatus  = "/api/v1/seed/status"
)

// NodeStatus is what a node's agent last reported.
type NodeStatus struct {
	Node       string    `json:"node"`
	Generation string    `json:"generation"`
	Current    bool      `json:"current"` // holds every image listed now
	Reported   time.Time `json:"reported"`
}

// Handler serves the seed bundle to node agents and takes uploads from admins.
type Handler struct {
	Store *Store
	DB    *store.DB
	Log   *slog.Logger
	mu    sync.Mutex
	nodes map[string]NodeStatus
}

func (h *Handler) caller(r *http.Request) (store.User, error) {
	secret, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || strings.TrimSpace(secret) == "" {
		return store.User{}, store.ErrNotFound
	}
	var u store.User
	err := h.DB.Read(r.Context(), func(tx *store.Tx) error {
		var err error
		u, err = tx.Authenticate(r.Context(), strings.TrimSpace(secret))
		return err
	})
	return u, err
}

func problem(w http.ResponseWriter, status int, detail string) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"title": http.StatusText(status), "status": status, "detail": detail})
}

// ServeHTTP routes the three seed endpoints.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	u, err := h.caller(r)
	if err != nil {
		w.Header().Set("WWW-Authenticate", `Bearer realm="ferry"`)
		problem(w, http.StatusUnauthorized, "missing, invalid, expired or revoked token")
		return
	}
	switch {
	case r.URL.Path == PathBundle && r.Method == http.MethodPut:
		if !u.Admin {
			problem(w, http.StatusForbidden, "uploading a seed bundle needs a platform admin")
			return
		}
		h.upload(w, r, u)
	case r.URL.Path == PathStatus && r.Method == http.MethodPost && (u.Admin || u.Name == User):
		var st NodeStatus
		if err := json.NewDecoder(io.LimitReader(r.Body, 4096)).Decode(&st); err != nil || st.Node == "" {
			problem(w, http.StatusBadRequest, "want {\"node\": ..., \"generation\": ...}")
			return
		}
		st.Reported = time.Now().UTC()
		h.mu.Lock()
		if h.nodes == nil {
			h.nodes = map[string]NodeStatus{}
		}
		h.nodes[st.Node] = st
		h.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	case r.URL.Path == PathStatus && r.Method == http.MethodGet && u.Admin:
		gen := h.Store.Generation()
		h.mu.Lock()
		out := make([]NodeStatus, 0, len(h.nodes))
		for _, st := range h.nodes {
			st.Current = st.Generation == gen
			out = append(out, st)
		}
		h.mu.Unlock()
		sort.Slice(out, func(i, j int) bool { return out[i].Node < out[j].Node })
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(out)
	case r.URL.Path == PathImages && r.Method == http.MethodGet, r.URL.Path == PathArchive && r.Method == http.MethodGet:
		if !u.Admin && u.Name != User {
			problem(w, http.StatusForbidden, "the seed bundle is for node agents and admins")
			return
		}
		if r.URL.Path == PathImages {
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write(h.Store.ListJSON())
			return
		}
		ref := r.URL.Query().Get("ref")
		w.Header().Set("Content-Type", "application/x-tar")
		if err := h.Store.WriteArchive(w, ref); errors.Is(err, ErrUnknownImage) {
			problem(w, http.StatusNotFound, fmt.Sprintf("image %q is not in the seed bundle", ref))
		} else if err != nil {
			h.Log.Error("seed archive", "ref", ref, "err", err)
		}
	default:
		problem(w, http.StatusNotFound, "no such seed endpoint")
	}
}

func (h *Handler) upload(w http.ResponseWriter, r *http.Request, u store.User) {
	m, err := h.Store.Upload(r.Body)
	result, detail := "ok", ""
	if err != nil {
		result, detail = "invalid", err.Error()
		if !errors.Is(err, bundle.ErrCorrupt) {
			result = "error"
		}
	} else {
		refs := make([]string, 0, len(m.Images))
		for _, i := range m.Images {
			refs = append(refs, i.Ref)
		}
		detail = strings.Join(refs, ",")
	}
	auditErr := h.DB.Write(context.WithoutCancel(r.Context()), func(tx *store.Tx) error {
		_, err := tx.AppendAudit(r.Context(), store.AuditEntry{Actor: u.Name, Action: "uploadSeedBundle", Target: "seed/bundle", Result: result, Detail: detail})
		return err
	})
	switch {
	case err != nil && result == "invalid":
		problem(w, http.StatusBadRequest, err.Error())
	case err != nil:
		h.Log.Error("seed upload", "err", err)
		problem(w, http.StatusInternalServerError, "could not store the bundle")
	case auditErr != nil:
		h.Log.Error("seed upload audit", "err", auditErr)
		problem(w, http.StatusInternalServerError, "bundle stored but not audited")
	default:
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(h.Store.ListJSON())
	}
}

// Bootstrap creates the agents' account and token once, writing the token
// to path (mode 0600); it reports whether it created them.
func Bootstrap(ctx context.Context, db *store.DB, write func(secret string) error) (bool, error) {
	created := false
	err := db.Write(ctx, func(tx *store.Tx) error {
		if _, err := tx.UserByName(ctx, User); err == nil || !errors.Is(err, store.ErrNotFound) {
			return err
		}
		u, err := tx.CreateUser(ctx, User, false)
		if err != nil {
			return err
		}
		_, secret, err := tx.CreateToken(ctx, u.ID, "node-agents", 0)
		if err != nil {
			return err
		}
		if _, err := tx.AppendAudit(ctx, store.AuditEntry{Actor: "system", Action: "bootstrapSeedUser", Target: "user/" + User, Result: "ok"}); err != nil {
			return err
		}
		if err := write(secret); err != nil {
			return err
		}
		created = true
		return nil
	})
	return created, err
}
