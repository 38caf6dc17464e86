package api

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"
	"github.com/prometheus/client_golang/prometheus"

	v1 "github.com/ferry-ml/ferry/api/v1"
)

type metrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	// unauthenticated counts requests refused for missing or bad
	// credentials: they are never written to the audit log.
	unauthenticated *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ferry_http_requests_total", Help: "HTTP requests by route, method and status.",
		}, []string{"route", "method", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "ferry_http_request_duration_seconds", Help: "HTTP request latency by route.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14),
		}, []string{"route", "method"}),
		unauthenticated: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ferry_http_unauthenticated_total", Help: "Requests refused with 401, by reason (missing or invalid credentials).",
		}, []string{"reason"}),
	}
	reg.MustRegister(m.requests, m.duration, m.unauthenticated)
	return m
}

// observe records metrics and one log line per request (never the token).
func (s *Server) observe(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		ww := middleware.NewWrapResponseWriter(w, r.ProtoMajor)
		limit := s.cfg.MaxBodyBytes
		if r.URL.Path == v1.PathSeedBundle {
			// A bundle is streamed and verified as it arrives; it has its own bound.
			limit = s.cfg.MaxSeedBundleBytes
		}
		if isPipelineCreate(r) {
			limit = max(limit, maxPipelineBody)
		}
		r.Body = http.MaxBytesReader(ww, r.Body, limit)
		next.ServeHTTP(ww, r)
		route := routeLabel(r)
		method := methodLabel(r.Method)
		status := ww.Status()
		if status == 0 {
			status = http.StatusOK
		}
		elapsed := time.Since(start)
		s.metrics.requests.WithLabelValues(route, method, strconv.Itoa(status)).Inc()
		s.metrics.duration.WithLabelValues(route, method).Observe(elapsed.Seconds())
		if status >= 500 {
			s.log.Error("request failed", "method", method, "route", route, "status", status, "duration", elapsed)
		} else {
			s.log.Debug("request", "method", method, "route", route, "status", status, "duration", elapsed)
		}
	})
}

// routeLabel is the route template that served r ("unmatched" when none
// did), so that made-up paths add no series.
func routeLabel(r *http.Request) string {
	rc := chi.RouteContext(r.Context())
	if rc == nil {
		return "unmatched"
	}
	route := rc.RoutePattern()
	if route == "" || strings.HasSuffix(route, "/*") {
		return "unmatched"
	}
	return route
}

// methodLabel is the method, or "other" for one HTTP does not define.
func methodLabel(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions, http.MethodConnect, http.MethodTrace:
		return m
	}
	return "other"
}
