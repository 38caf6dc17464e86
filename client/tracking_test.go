package client_test

import (
	"context"
	"math"
	"net/http"
	"testing"

	v1 "github.com/ferry-ml/ferry/api/v1"
	"github.com/ferry-ml/ferry/client"
	"github.com/ferry-ml/ferry/store"
)

func TestClientReadsExperimentsRunsAndModels(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := start(t)
	if _, err := e.admin.CreateTenant(ctx, v1.TenantCreate{Name: "ml", DisplayName: "ML"}); err != nil {
		t.Fatal(err)
	}
	var runIDs []string
	err := e.db.Write(ctx, func(tx *store.Tx) error {
		if err := tx.EnsureDefaultExperiment(ctx, "ml"); err != nil {
			return err
		}
		for i := range 3 {
			r, err := tx.CreateRun(ctx, store.NewRun{Tenant: "ml", UserID: "alice", StartTime: int64(1000 + i)})
			if err != nil {
				return err
			}
			runIDs = append(runIDs, r.Info.ID)
			if err := tx.LogBatch(ctx, "ml", r.Info.ID, []store.Metric{{Key: "acc", Value: 0.9, Step: 1}, {Key: "nan", Value: math.NaN()}},
				[]store.KV{{Key: "lr", Value: "0.1"}}, nil); err != nil {
				return err
			}
		}
		if _, err := tx.CreateRegisteredModel(ctx, store.RegisteredModel{Tenant: "ml", Name: "clf"}); err != nil {
			return err
		}
		for range 2 {
			if _, err := tx.CreateModelVersion(ctx, store.ModelVersion{Tenant: "ml", Name: "clf", Source: "runs:/" + runIDs[0] + "/model", RunID: runIDs[0]}); err != nil {
				return err
			}
		}
		return tx.SetModelAlias(ctx, "ml", "clf", "champion", 1)
	})
	if err != nil {
		t.Fatal(err)
	}
	exps, err := e.admin.ListExperiments(ctx, "ml", v1.ListOptions{})
	if err != nil || len(exps.Items) != 1 || exps.Items[0].Name != "Default" {
		t.Fatalf("experiments: %+v %v", exps, err)
	}
	runs, err := client.Collect(ctx, func(ctx context.Context, o v1.ListOptions) (v1.List[v1.Run], error) {
		o.Limit = 2
		return e.admin.ListRuns(ctx, "ml", v1.RunListOptions{ListOptions: o})
	})
	if err != nil || len(runs) != 3 || runs[0].ID != runIDs[2] {
		t.Fatalf("runs over pages of 2: %d %v", len(runs), err)
	}
	r, err := e.admin.GetRun(ctx, "ml", runIDs[0])
	if err != nil || r.Params["lr"] != "0.1" || len(r.Metrics) != 2 || r.Metrics[1].Value != "NaN" {
		t.Fatalf("run: %+v %v", r, err)
	}
	m, err := e.admin.GetModel(ctx, "ml", "clf")
	if err != nil || m.LatestVersion != 2 || m.Aliases["champion"] != 1 {
		t.Fatalf("model: %+v %v", m, err)
	}
	vs, err := e.admin.ListModelVersions(ctx, "ml", "clf", v1.ListOptions{})
	if err != nil || len(vs.Items) != 2 || vs.Items[0].Version != 2 || vs.Items[1].RunID != runIDs[0] || vs.Items[1].Aliases[0] != "champion" {
		t.Fatalf("versions: %+v %v", vs, err)
	}
	if v, err := e.admin.GetModelVersion(ctx, "ml", "clf", 1); err != nil || v.Version != 1 || v.RunID != runIDs[0] || len(v.Aliases) != 1 || v.Aliases[0] != "champion" {
		t.Fatalf("version 1: %+v %v", v, err)
	}
	if _, err := e.admin.GetModelVersion(ctx, "ml", "clf", 3); !client.IsStatus(err, http.StatusNotFound) {
		t.Fatalf("missing version: %v", err)
	}
	if _, err := e.admin.GetModelVersion(ctx, "ml", "clf", 0); !client.IsStatus(err, http.StatusUnprocessableEntity) {
		t.Fatalf("version 0: %v", err)
	}
	if ms, err := e.admin.ListModels(ctx, "ml", v1.ListOptions{}); err != nil || len(ms.Items) != 1 {
		t.Fatalf("models: %+v %v", ms, err)
	}
	if _, err := e.admin.GetModel(ctx, "ml", "nope"); !client.IsStatus(err, http.StatusNotFound) {
		t.Fatalf("missing model: %v", err)
	}
	if _, err := e.admin.GetRun(ctx, "other", runIDs[0]); !client.IsStatus(err, http.StatusNotFound) {
		t.Fatalf("run of a missing tenant: %v", err)
	}
}
