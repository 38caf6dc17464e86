package metrics

import (
	"errors"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

func TestReconciledCountsDurationsAndErrorsAndEveryMetricRegisters(t *testing.T) {
	reg := prometheus.NewRegistry()
	for _, c := range All() {
		if err := reg.Register(c); err != nil {
			t.Fatal(err)
		}
	}
	// A second registry takes them too (each server in a test has its own).
	for _, c := range All() {
		if err := prometheus.NewRegistry().Register(c); err != nil {
			t.Fatal(err)
		}
	}
	Reconciled("test-loop", time.Now(), nil)
	Reconciled("test-loop", time.Now(), errors.New("boom"))
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var errs, passes float64
	for _, f := range families {
		for _, m := range f.GetMetric() {
			if len(m.GetLabel()) != 1 || m.GetLabel()[0].GetValue() != "test-loop" {
				continue
			}
			switch f.GetName() {
			case "ferry_controller_reconcile_errors_total":
				errs = m.GetCounter().GetValue()
			case "ferry_controller_reconcile_duration_seconds":
				passes = float64(m.GetHistogram().GetSampleCount())
			}
		}
	}
	if errs != 1 || passes != 2 {
		t.Errorf("errors %v, passes %v; want 1 and 2", errs, passes)
	}
}
