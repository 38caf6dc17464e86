package dashboard

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"strings"
	"time"

	v1 "github.com/ferry-ml/ferry/api/v1"
	"github.com/ferry-ml/ferry/store"
)

// SessionTTL is how long a dashboard session lives (never longer than the
// token its login code was traded for).
const SessionTTL = 8 * time.Hour

// Config configures the dashboard handler.
type Config struct {
	DB     *store.DB
	Logger *slog.Logger
	// Secure marks the cookie Secure (the server is reached over HTTPS).
	Secure bool
	// Files overrides the embedded build (tests).
	Files fs.FS
	// SessionTTL overrides SessionTTL when positive.
	SessionTTL time.Duration
}

// Validate checks the configuration.
func (c Config) Validate() error {
	if c.DB == nil || c.Logger == nil {
		return errors.New("dashboard: DB and Logger are required")
	}
	return nil
}

// Handler serves the login and logout paths and the front end.
type Handler struct {
	cfg   Config
	files fs.FS
}

// New builds the handler.
func New(cfg Config) (*Handler, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.SessionTTL <= 0 {
		cfg.SessionTTL = SessionTTL
	}
	h := &Handler{cfg: cfg, files: cfg.Files}
	if h.files == nil {
		h.files = Assets()
	}
	return h, nil
}

// ServeHTTP routes /ui/login, /ui/logout and everything else to the assets.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case v1.UILoginPath:
		h.login(w, r)
	case v1.UILogoutPath:
		h.logout(w, r)
	default:
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		serveAsset(h.files, w, r)
	}
}

func (h *Handler) login(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	code := r.URL.Query().Get(v1.UILoginParam)
	if !strings.HasPrefix(code, v1.UIHandoverPrefix) || len(code) > 128 {
		h.refuse(w, "this login link is malformed: run ferry ui for a new one")
		return
	}
	var secret string
	var expires time.Time
	err := h.cfg.DB.Write(r.Context(), func(tx *store.Tx) error {
		u, t, s, err := tx.RedeemUIHandover(r.Context(), code, h.cfg.SessionTTL)
		if err != nil {
			return err
		}
		secret, expires = s, *t.ExpiresAt
		_, err = tx.AppendAudit(r.Context(), store.AuditEntry{Actor: u.Name, Action: "redeemUISession", Target: "token/" + t.ID, Result: "ok"})
		return err
	})
	if errors.Is(err, store.ErrNotFound) {
		h.refuse(w, "this login link is unknown, used or expired (it works once, for a minute): run ferry ui for a new one")
		return
	}
	if err != nil {
		h.cfg.Logger.Error("dashboard login", "err", err)
		http.Error(w, "login failed", http.StatusInternalServerError)
		return
	}
	http.SetCookie(w, &http.Cookie{Name: v1.UISessionCookie, Value: secret, Path: "/", Expires: expires,
		MaxAge: int(time.Until(expires).Seconds()), HttpOnly: true, Secure: h.cfg.Secure, SameSite: http.SameSiteStrictMode})
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Referrer-Policy", "no-referrer")
	http.Redirect(w, r, localPath(r.URL.Query().Get("next")), http.StatusSeeOther)
}

func (h *Handler) refuse(w http.ResponseWriter, msg string) {
	w.Header().Set("Cache-Control", "no-store")
	http.Error(w, msg, http.StatusUnauthorized)
}

// logout revokes the session's token and clears the cookie; it needs the
// CSRF header, like every cookie-authenticated call.
func (h *Handler) logout(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.Header.Get(v1.UICSRFHeader) != "1" {
		http.Error(w, "POST with "+v1.UICSRFHeader+": 1", http.StatusForbidden)
		return
	}
	if c, err := r.Cookie(v1.UISessionCookie); err == nil && c.Value != "" {
		if err := h.revoke(r.Context(), c.Value); err != nil && !errors.Is(err, store.ErrNotFound) {
			h.cfg.Logger.Error("dashboard logout", "err", err)
		}
	}
	http.SetCookie(w, &http.Cookie{Name: v1.UISessionCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true,
		Secure: h.cfg.Secure, SameSite: http.SameSiteStrictMode})
	w.WriteHeader(http.StatusNoContent)
}

func (h *Handler) revoke(ctx context.Context, secret string) error {
	return h.cfg.DB.Write(ctx, func(tx *store.Tx) error {
		u, t, err := tx.AuthenticateToken(ctx, secret)
		if err != nil {
			return err
		}
		if t.Name != store.UISessionTokenName {
			return fmt.Errorf("cookie holds a token that is not a dashboard session")
		}
		if err := tx.RevokeTokenID(ctx, t.ID); err != nil {
			return err
		}
		_, err = tx.AppendAudit(ctx, store.AuditEntry{Actor: u.Name, Action: "revokeUISession", Target: "token/" + t.ID, Result: "ok"})
		return err
	})
}

// Gate lets a browser session call next: a request with no Authorization
// header, the session cookie and X-Ferry-UI: 1 goes on with the cookie's
// token as its bearer. The cookie alone authenticates nothing (CSRF).
func Gate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get(v1.HeaderAuthorization) == "" && r.Header.Get(v1.UICSRFHeader) == "1" {
			if c, err := r.Cookie(v1.UISessionCookie); err == nil && c.Value != "" && len(c.Value) <= 128 {
				r = r.Clone(r.Context())
				r.Header.Set(v1.HeaderAuthorization, v1.BearerScheme+" "+c.Value)
			}
		}
		next.ServeHTTP(w, r)
	})
}

// localPath is next when it is a path on this server, else "/": the login
// link never redirects elsewhere.
func localPath(next string) string {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.ContainsAny(next, "\\\r\n") || len(next) > 512 {
		return "/"
	}
	return next
}
