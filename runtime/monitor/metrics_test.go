package monitor

import (
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"

	"github.com/ferry-ml/ferry/store"
)

// TestCollectorReportsStatesQuotaUseAndTheLastPass scrapes the collector
// after one pass and checks the series a platform team alerts on.
func TestCollectorReportsStatesQuotaUseAndTheLastPass(t *testing.T) {
	t.Parallel()
	db := testDB(t, "ml", "vision")
	ctx := t.Context()
	err := db.Write(ctx, func(tx *store.Tx) error {
		for _, name := range []string{"a", "b"} {
			if _, err := tx.CreateJob(ctx, store.Job{Tenant: "ml", Name: name, Spec: store.JobSpec{Image: "i", Command: []string{"true"}, Replicas: 2,
				Resources: store.Resources{CPU: "500m", Memory: "1Gi"}}, CreatedBy: "alice"}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	s, err := New(db, nil, slog.New(slog.NewTextHandler(io.Discard, nil)), Config{Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	s.Summary = fixtureSummary
	if err := s.PassOver(ctx, fixturePods()); err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(NewCollector(ctx, db, s, nil))
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var text strings.Builder
	for _, f := range families {
		if _, err := expfmt.MetricFamilyToText(&text, f); err != nil {
			t.Fatal(err)
		}
	}
	for _, want := range []string{
		`ferry_jobs{state="queued",tenant="ml"} 2`,
		`ferry_tenant_quota{resource="cpu",tenant="ml"} 8`,
		`ferry_tenant_requested{resource="cpu",tenant="ml"} 2.75`, // train 2 + lab 0.5 + step 0.25
		`ferry_tenant_used{resource="gpu",tenant="vision"} 1`,
		`ferry_tenant_queued_jobs{tenant="ml"} 2`,
		`ferry_tenant_queued_requested{resource="cpu",tenant="ml"} 2`,
		`ferry_usage_kubelet_failures 1`,
		`ferry_usage_workloads 5`,
		`ferry_metrics_store_errors 0`,
	} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("no %s in:\n%s", want, text.String())
		}
	}
}
