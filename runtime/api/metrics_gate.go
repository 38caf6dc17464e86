package api

import (
	"net/http"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	dto "github.com/prometheus/client_model/go"
)

// TenantLabel marks the series /metrics shows only to platform admins: a
// tenant's name is what the API hides from everyone outside it.
const TenantLabel = "tenant"

// metricsHandler serves /metrics: anonymous scrapes (a Prometheus by
// annotation) get the platform's own series; a platform admin's bearer
// token adds every series labelled by tenant. A token that is not an
// admin's is refused rather than silently given less.
func (s *Server) metricsHandler() http.Handler {
	all := promhttp.HandlerFor(s.cfg.Registry, promhttp.HandlerOpts{})
	public := promhttp.HandlerFor(withoutLabel{s.cfg.Registry, TenantLabel}, promhttp.HandlerOpts{})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := r.Header.Get("Authorization")
		if h == "" {
			public.ServeHTTP(w, r)
			return
		}
		scheme, token, _ := strings.Cut(h, " ")
		if !strings.EqualFold(scheme, "Bearer") || s.authn == nil {
			writeProblem(w, http.StatusUnauthorized, "send Authorization: Bearer <a platform admin's token>, or no credentials for the series without tenants")
			return
		}
		id, err := s.authn.Token(r.Context(), strings.TrimSpace(token))
		switch {
		case err != nil:
			writeProblem(w, http.StatusUnauthorized, "invalid, expired or revoked token")
		case !id.Admin:
			writeProblem(w, http.StatusForbidden, "only platform admins see the series labelled by tenant; scrape with no credentials for the others")
		default:
			all.ServeHTTP(w, r)
		}
	})
}

// withoutLabel gathers g's families but those whose series carry label.
type withoutLabel struct {
	g     prometheus.Gatherer
	label string
}

func (w withoutLabel) Gather() ([]*dto.MetricFamily, error) {
	mfs, err := w.g.Gather()
	out := mfs[:0]
	for _, mf := range mfs {
		if !hasLabel(mf, w.label) {
			out = append(out, mf)
		}
	}
	return out, err
}

func hasLabel(mf *dto.MetricFamily, name string) bool {
	for _, m := range mf.GetMetric() {
		for _, l := range m.GetLabel() {
			if l.GetName() == name {
				return true
			}
		}
	}
	return false
}
