package mlflow

import (
	"bytes"
	"encoding/json"
	"io"
	"math"
	"net/http"
	"strings"
	"testing"

	"github.com/ferry-ml/ferry/store"
)

// MLflow 3 links metrics to logged models: mlflow.log_metric(..., model_id=,
// dataset=) sends model_id, dataset_name and dataset_digest (service.proto's
// LogMetric and Metric), and the model's data.metrics lists them.
func TestMetricsLoggedWithAModelIDAreTheModelsMetrics(t *testing.T) {
	e := newEnv(t)
	run := str(dig(e.ok("alice", "POST", "/runs/create", map[string]any{"experiment_id": "0"}), "run", "info", "run_id"))
	id := str(dig(e.logModel("alice", run, "clf"), "info", "model_id"))

	e.ok("alice", "POST", "/runs/log-metric", map[string]any{"run_id": run, "key": "accuracy", "value": 0.91, "timestamp": 1000, "step": 0,
		"model_id": id, "dataset_name": "test", "dataset_digest": "abc123"})
	e.ok("alice", "POST", "/runs/log-batch", map[string]any{"run_id": run, "metrics": []any{
		map[string]any{"key": "accuracy", "value": 0.97, "timestamp": 1000, "step": 0, "model_id": id, "dataset_name": "train", "dataset_digest": "def456"},
		map[string]any{"key": "loss", "value": "NaN", "timestamp": 1000, "step": 0, "model_id": id},
		map[string]any{"key": "epochs", "value": 3, "timestamp": 1000, "step": 0},
	}})

	got := dig(e.ok("val", "GET", "/logged-models/"+id, nil), "model", "data", "metrics")
	ms, _ := got.([]any)
	if len(ms) != 3 {
		t.Fatalf("model metrics %v, want accuracy on test and train, and loss", got)
	}
	want := map[string]string{"key": "accuracy", "value": "0.91", "timestamp": "1000", "step": "0", "dataset_name": "test", "dataset_digest": "abc123", "model_id": id, "run_id": run}
	for k, v := range want {
		if s := str(dig(ms[0], k)); s != v {
			t.Errorf("metrics[0].%s = %q, want %q", k, s, v)
		}
	}
	if str(dig(ms[1], "dataset_name")) != "train" || str(dig(ms[2], "key")) != "loss" || dig(ms[2], "value") != "NaN" || dig(ms[2], "dataset_name") != nil {
		t.Errorf("metrics: %v", ms)
	}
	// The run keeps every point, the linked ones too.
	h := e.ok("val", "GET", "/metrics/get-history", map[string]string{"run_id": run, "metric_key": "accuracy"})
	if n := len(h["metrics"].([]any)); n != 2 {
		t.Errorf("the run's accuracy history has %d points, want 2", n)
	}
	// Search returns them as well.
	if str(dig(e.ok("val", "POST", "/logged-models/search", map[string]any{"experiment_ids": []string{"0"}}), "models", 0, "data", "metrics", 0, "model_id")) != id {
		t.Errorf("search does not return the model's metrics")
	}
}

func TestSearchLoggedModelsOnMetricsAndDatasets(t *testing.T) {
	e := newEnv(t)
	run := str(dig(e.ok("alice", "POST", "/runs/create", map[string]any{"experiment_id": "0"}), "run", "info", "run_id"))
	ids := map[string]string{}
	for name, accs := range map[string][2]float64{"a": {0.6, 0.99}, "b": {0.8, 0.7}, "c": {0.2, 0.1}} {
		ids[name] = str(dig(e.logModel("alice", run, name), "info", "model_id"))
		e.ok("alice", "POST", "/runs/log-batch", map[string]any{"run_id": run, "metrics": []any{
			map[string]any{"key": "acc", "value": accs[0], "timestamp": 1, "model_id": ids[name], "dataset_name": "eval", "dataset_digest": "e1"},
			map[string]any{"key": "acc", "value": accs[1], "timestamp": 1, "model_id": ids[name], "dataset_name": "train"},
		}})
	}
	e.logModel("alice", run, "untested")
	names := func(body map[string]any) string {
		t.Helper()
		var out []string
		for _, m := range e.ok("val", "POST", "/logged-models/search", body)["models"].([]any) {
			out = append(out, str(dig(m, "info", "name")))
		}
		return strings.Join(out, ",")
	}
	exp := []string{"0"}
	for _, c := range []struct {
		name string
		body map[string]any
		want string
	}{
		{"a metric filter (any dataset)", map[string]any{"experiment_ids": exp, "filter": "metrics.acc > 0.75", "order_by": []any{map[string]any{"field_name": "name"}}}, "a,b"},
		{"a metric filter on a dataset", map[string]any{"experiment_ids": exp, "filter": "metrics.acc > 0.75", "datasets": []any{map[string]any{"dataset_name": "eval"}}}, "b"},
		{"a dataset and digest", map[string]any{"experiment_ids": exp, "filter": "metrics.acc >= 0.6", "datasets": []any{map[string]any{"dataset_name": "eval", "dataset_digest": "e1"}},
			"order_by": []any{map[string]any{"field_name": "name"}}}, "a,b"},
		{"datasets alone", map[string]any{"experiment_ids": exp, "datasets": []any{map[string]any{"dataset_name": "train"}}, "order_by": []any{map[string]any{"field_name": "name", "ascending": false}}}, "c,b,a"},
		{"metric and attribute", map[string]any{"experiment_ids": exp, "filter": "metrics.acc < 0.5 AND name = 'c'"}, "c"},
		{"ordered by a metric on a dataset, missing last", map[string]any{"experiment_ids": exp,
			"order_by": []any{map[string]any{"field_name": "metrics.acc", "ascending": false, "dataset_name": "eval", "dataset_digest": "e1"}}}, "b,a,c,untested"},
		{"ordered by a metric on another", map[string]any{"experiment_ids": exp,
			"order_by": []any{map[string]any{"field_name": "metrics.acc", "ascending": false, "dataset_name": "train"}}}, "a,b,c,untested"},
	} {
		if got := names(c.body); got != c.want {
			t.Errorf("%s: %q, want %q", c.name, got, c.want)
		}
	}
	for _, bad := range []map[string]any{
		{"experiment_ids": exp, "datasets": []any{map[string]any{"dataset_digest": "e1"}}},
		{"experiment_ids": exp, "datasets": []any{map[string]any{"dataset_name": strings.Repeat("d", store.MaxDatasetName+1)}}},
		{"experiment_ids": exp, "order_by": []any{map[string]any{"field_name": "name", "dataset_name": "eval"}}},
		{"experiment_ids": exp, "order_by": []any{map[string]any{"field_name": "metrics.acc", "dataset_digest": "e1"}}},
		{"experiment_ids": exp, "filter": "metrics.acc > 'high'"},
		{"experiment_ids": exp, "filter": "metrics.acc LIKE '0.%'"},
	} {
		e.fails("val", "POST", "/logged-models/search", bad, http.StatusBadRequest, "INVALID_PARAMETER_VALUE")
	}
}

func TestMetricsLinkedToModelsRefuseBadInputAndWriteNothing(t *testing.T) {
	e := newEnv(t)
	run := str(dig(e.ok("alice", "POST", "/runs/create", map[string]any{"experiment_id": "0"}), "run", "info", "run_id"))
	id := str(dig(e.logModel("alice", run, "clf"), "info", "model_id"))
	bobsRun := str(dig(e.ok("bob", "POST", "/mlflow/team-b/api/2.0/mlflow/runs/create", map[string]any{"experiment_id": "0"}), "run", "info", "run_id"))
	bobs := str(dig(e.ok("bob", "POST", "/mlflow/team-b/api/2.0/mlflow/logged-models", map[string]any{"experiment_id": "0", "source_run_id": bobsRun}), "model", "info", "model_id"))
	good := map[string]any{"key": "acc", "value": 1, "timestamp": 1, "model_id": id}
	before := e.count("SELECT count(*) FROM metrics") + e.count("SELECT count(*) FROM logged_model_metrics")
	for _, c := range []struct {
		path   string
		body   map[string]any
		status int
		code   string
		field  string
	}{
		{"/runs/log-metric", map[string]any{"run_id": run, "key": "acc", "value": 1, "timestamp": 1, "model_id": "not-a-model"}, 400, "INVALID_PARAMETER_VALUE", "model_id"},
		{"/runs/log-metric", map[string]any{"run_id": run, "key": "acc", "value": 1, "timestamp": 1, "model_id": id, "dataset_name": strings.Repeat("d", 501)}, 400, "INVALID_PARAMETER_VALUE", "dataset_name"},
		{"/runs/log-batch", map[string]any{"run_id": run, "metrics": []any{good, map[string]any{"key": "acc", "value": 1, "timestamp": 1, "model_id": id, "dataset_digest": strings.Repeat("0", 37)}}}, 400, "INVALID_PARAMETER_VALUE", "metrics[1].dataset_digest"},
		{"/runs/log-batch", map[string]any{"run_id": run, "metrics": []any{good, map[string]any{"key": "acc", "value": 1, "model_id": id}}}, 400, "INVALID_PARAMETER_VALUE", "metrics[1].timestamp"},
		{"/runs/log-batch", map[string]any{"run_id": run, "metrics": []any{good, map[string]any{"key": "acc", "value": 1, "timestamp": 1, "model_id": "m-" + strings.Repeat("0", 32)}}}, 404, "RESOURCE_DOES_NOT_EXIST", "metrics[1].model_id"},
		// Another tenant's model is nothing here.
		{"/runs/log-batch", map[string]any{"run_id": run, "metrics": []any{good, map[string]any{"key": "acc", "value": 1, "timestamp": 1, "model_id": bobs}}}, 404, "RESOURCE_DOES_NOT_EXIST", "metrics[1].model_id"},
	} {
		out := e.fails("alice", "POST", c.path, c.body, c.status, c.code)
		if msg := str(out["message"]); !strings.Contains(msg, c.field) {
			t.Errorf("%s: message %q does not name %s", c.path, msg, c.field)
		}
	}
	if after := e.count("SELECT count(*) FROM metrics") + e.count("SELECT count(*) FROM logged_model_metrics"); after != before {
		t.Errorf("refused calls wrote %d points", after-before)
	}
}

func TestARunTokenLinksMetricsOnlyToItsRunsModels(t *testing.T) {
	e := newEnv(t)
	mine := str(dig(e.ok("alice", "POST", "/runs/create", map[string]any{"experiment_id": "0"}), "run", "info", "run_id"))
	other := str(dig(e.ok("alice", "POST", "/runs/create", map[string]any{"experiment_id": "0"}), "run", "info", "run_id"))
	theirs := str(dig(e.logModel("alice", other, "theirs"), "info", "model_id"))
	e.runToken(t, mine)
	own := str(dig(e.logModel("job", mine, "own"), "info", "model_id"))

	e.ok("job", "POST", "/runs/log-metric", map[string]any{"run_id": mine, "key": "acc", "value": 0.9, "timestamp": 1, "model_id": own})
	before := e.count("SELECT count(*) FROM metrics") + e.count("SELECT count(*) FROM logged_model_metrics")
	e.fails("job", "POST", "/runs/log-metric", map[string]any{"run_id": mine, "key": "acc", "value": 0.9, "timestamp": 2, "model_id": theirs}, http.StatusForbidden, "PERMISSION_DENIED")
	e.fails("job", "POST", "/runs/log-batch", map[string]any{"run_id": mine, "metrics": []any{
		map[string]any{"key": "acc", "value": 0.9, "timestamp": 3, "model_id": own},
		map[string]any{"key": "acc", "value": 0.9, "timestamp": 3, "model_id": theirs},
	}}, http.StatusForbidden, "PERMISSION_DENIED")
	if after := e.count("SELECT count(*) FROM metrics") + e.count("SELECT count(*) FROM logged_model_metrics"); after != before {
		t.Errorf("refused calls wrote %d points", after-before)
	}
	if n := len(dig(e.ok("job", "GET", "/logged-models/"+own, nil), "model", "data", "metrics").([]any)); n != 1 {
		t.Errorf("its own model has %d metrics, want 1", n)
	}
}

// get-history writes its reply by hand; it must be what encoding/json and
// proto3 JSON would write.
func TestMetricHistoryReplyIsTheJSONOfItsPoints(t *testing.T) {
	e := newEnv(t)
	run := str(dig(e.ok("alice", "POST", "/runs/create", map[string]any{"experiment_id": "0"}), "run", "info", "run_id"))
	values := []any{0.5, 1e-7, 1.5e21, -3, 123456789.125, "NaN", "Infinity", "-Infinity", 0}
	var ms []any
	for i, v := range values {
		ms = append(ms, map[string]any{"key": `lo"ss\`, "value": v, "timestamp": 1_700_000_000_000 + i, "step": i})
	}
	e.ok("alice", "POST", "/runs/log-batch", map[string]any{"run_id": run, "metrics": ms})

	req, _ := http.NewRequest("GET", e.srv.URL+"/mlflow/team-a/api/2.0/mlflow/metrics/get-history?run_id="+run+"&metric_key=lo%22ss%5C&max_results=8", nil)
	req.Header.Set("Authorization", "Bearer "+e.tokens["val"])
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("get-history: %d %s %s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	var want struct {
		Metrics       []metricJSON `json:"metrics"`
		NextPageToken string       `json:"next_page_token,omitempty"`
	}
	for i, v := range values[:8] {
		var f float64
		switch x := v.(type) {
		case float64:
			f = x
		case int:
			f = float64(x)
		case string:
			f = map[string]float64{"NaN": math.NaN(), "Infinity": math.Inf(1), "-Infinity": math.Inf(-1)}[x]
		}
		want.Metrics = append(want.Metrics, metricJSON{Key: `lo"ss\`, Value: double(f), Timestamp: 1_700_000_000_000 + int64(i), Step: int64(i)})
	}
	want.NextPageToken = pageToken(8)
	var buf bytes.Buffer
	if err := json.NewEncoder(&buf).Encode(want); err != nil {
		t.Fatal(err)
	}
	if string(body) != buf.String() {
		t.Errorf("get-history wrote\n%s\nencoding/json writes\n%s", body, buf.String())
	}
}
