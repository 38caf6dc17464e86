package mlflow

import (
	"net/http"
	"strings"
	"testing"
)

func TestExperimentEndpointsFollowTheSpec(t *testing.T) {
	e := newEnv(t)
	e.t = t
	out := e.ok("alice", "POST", "/experiments/create", map[string]any{"name": "exp-1", "tags": []map[string]string{{"key": "team", "value": "vision"}}})
	id := str(out["experiment_id"])
	if id != "1" {
		t.Fatalf("experiment_id = %q, want \"1\" (a string)", id)
	}
	e.fails("alice", "POST", "/experiments/create", map[string]any{"name": "exp-1"}, 409, "RESOURCE_ALREADY_EXISTS")
	e.fails("alice", "POST", "/experiments/create", map[string]any{}, 400, "INVALID_PARAMETER_VALUE")
	got := e.ok("val", "GET", "/experiments/get", map[string]string{"experiment_id": id})
	if dig(got, "experiment", "name") != "exp-1" || dig(got, "experiment", "lifecycle_stage") != "active" ||
		dig(got, "experiment", "artifact_location") != "mlflow-artifacts:/1" || dig(got, "experiment", "tags", 0, "value") != "vision" {
		t.Fatalf("get: %v", got)
	}
	if dig(e.ok("val", "GET", "/experiments/get", map[string]string{"experiment_id": "0"}), "experiment", "name") != "Default" {
		t.Fatal("no Default experiment 0")
	}
	e.fails("val", "GET", "/experiments/get", map[string]string{"experiment_id": "99"}, 404, "RESOURCE_DOES_NOT_EXIST")
	if str(dig(e.ok("val", "GET", "/experiments/get-by-name", map[string]string{"experiment_name": "exp-1"}), "experiment", "experiment_id")) != id {
		t.Fatal("get-by-name")
	}
	e.ok("alice", "POST", "/experiments/create", map[string]any{"name": "other"})
	s := e.ok("val", "POST", "/experiments/search", map[string]any{"filter": "name LIKE 'exp%'"})
	if l, _ := s["experiments"].([]any); len(l) != 1 {
		t.Fatalf("search name LIKE: %v", s)
	}
	p1 := e.ok("val", "POST", "/experiments/search", map[string]any{"max_results": 2, "order_by": []string{"name ASC"}})
	tok := str(p1["next_page_token"])
	p2 := e.ok("val", "GET", "/experiments/search", map[string]string{"max_results": "2", "order_by": "name ASC", "page_token": tok})
	if tok == "" || dig(p1, "experiments", 0, "name") != "Default" || dig(p2, "experiments", 0, "name") != "other" || p2["next_page_token"] != nil {
		t.Fatalf("pages: %v / %v", p1, p2)
	}
	e.fails("val", "POST", "/experiments/search", map[string]any{"page_token": "garbage!"}, 400, "INVALID_PARAMETER_VALUE")
	e.ok("alice", "POST", "/experiments/update", map[string]any{"experiment_id": id, "new_name": "exp-renamed"})
	e.ok("alice", "POST", "/experiments/delete", map[string]any{"experiment_id": id})
	if dig(e.ok("val", "GET", "/experiments/get", map[string]string{"experiment_id": id}), "experiment", "lifecycle_stage") != "deleted" {
		t.Fatal("not deleted")
	}
	all := e.ok("val", "POST", "/experiments/search", map[string]any{"view_type": "ALL"})
	if l, _ := all["experiments"].([]any); len(l) != 3 {
		t.Fatalf("ALL: %v", all)
	}
	e.fails("alice", "POST", "/runs/create", map[string]any{"experiment_id": id}, 400, "INVALID_PARAMETER_VALUE")
	e.ok("alice", "POST", "/experiments/restore", map[string]any{"experiment_id": id})
	e.ok("alice", "POST", "/experiments/set-experiment-tag", map[string]any{"experiment_id": id, "key": "k", "value": "v"})
}

func TestRunLoggingParamsNaNAndHistory(t *testing.T) {
	e := newEnv(t)
	e.t = t
	run := e.ok("alice", "POST", "/runs/create", map[string]any{"experiment_id": "0", "start_time": 1000,
		"tags": []map[string]string{{"key": "mlflow.runName", "value": "first"}, {"key": "mlflow.source.type", "value": "LOCAL"}}})
	id := str(dig(run, "run", "info", "run_id"))
	if len(id) != 32 || str(dig(run, "run", "info", "run_uuid")) != id || dig(run, "run", "info", "run_name") != "first" ||
		dig(run, "run", "info", "status") != "RUNNING" || str(dig(run, "run", "info", "start_time")) != "1000" ||
		dig(run, "run", "info", "user_id") != "alice" || dig(run, "run", "info", "artifact_uri") != "mlflow-artifacts:/0/"+id+"/artifacts" {
		t.Fatalf("create: %v", run)
	}
	if n := e.count("SELECT count(*) FROM audit WHERE action = 'mlflow.createRun' AND target = 'run/" + id + "' AND actor = 'alice'"); n != 1 {
		t.Fatalf("run creation audited %d times", n)
	}
	e.ok("alice", "POST", "/runs/log-metric", map[string]any{"run_id": id, "key": "loss", "value": "NaN", "timestamp": 5, "step": 0})
	e.ok("alice", "POST", "/runs/log-metric", map[string]any{"run_id": id, "key": "loss", "value": 0.5, "timestamp": 6, "step": 1})
	e.ok("alice", "POST", "/runs/log-metric", map[string]any{"run_uuid": id, "key": "inf", "value": "-Infinity", "timestamp": 6})
	e.fails("alice", "POST", "/runs/log-metric", map[string]any{"run_id": id, "key": "loss", "value": 1, "timestamp": 6, "step": 1.5}, 400, "INVALID_PARAMETER_VALUE")
	e.fails("alice", "POST", "/runs/log-metric", map[string]any{"run_id": id, "key": "loss", "value": 1}, 400, "INVALID_PARAMETER_VALUE")
	e.ok("alice", "POST", "/runs/log-parameter", map[string]any{"run_id": id, "key": "lr", "value": "0.1"})
	e.ok("alice", "POST", "/runs/log-parameter", map[string]any{"run_id": id, "key": "lr", "value": "0.1"})
	e.fails("alice", "POST", "/runs/log-parameter", map[string]any{"run_id": id, "key": "lr", "value": "0.2"}, 400, "INVALID_PARAMETER_VALUE")
	e.ok("alice", "POST", "/runs/set-tag", map[string]any{"run_id": id, "key": "t", "value": "x"})
	e.ok("alice", "POST", "/runs/delete-tag", map[string]any{"run_id": id, "key": "t"})
	e.fails("alice", "POST", "/runs/delete-tag", map[string]any{"run_id": id, "key": "t"}, 404, "RESOURCE_DOES_NOT_EXIST")
	if n := e.count("SELECT count(*) FROM audit WHERE action LIKE 'mlflow.%' AND action != 'mlflow.createRun'"); n != 0 {
		t.Fatalf("%d audit rows for metric points, params and tags", n)
	}

	got := e.ok("val", "GET", "/runs/get", map[string]string{"run_id": id})
	metrics := map[string]string{}
	for _, m := range dig(got, "run", "data", "metrics").([]any) {
		metrics[str(dig(m, "key"))] = str(dig(m, "value"))
	}
	if metrics["loss"] != "0.5" || metrics["inf"] != "-Infinity" || dig(got, "run", "data", "params", 0, "value") != "0.1" {
		t.Fatalf("get: %v", got)
	}
	h := e.ok("val", "GET", "/metrics/get-history", map[string]string{"run_id": id, "metric_key": "loss"})
	if dig(h, "metrics", 0, "value") != "NaN" || str(dig(h, "metrics", 1, "value")) != "0.5" || str(dig(h, "metrics", 1, "step")) != "1" {
		t.Fatalf("history: %v", h)
	}
	h1 := e.ok("val", "GET", "/metrics/get-history", map[string]string{"run_id": id, "metric_key": "loss", "max_results": "1"})
	h2 := e.ok("val", "GET", "/metrics/get-history", map[string]string{"run_id": id, "metric_key": "loss", "max_results": "1", "page_token": str(h1["next_page_token"])})
	if len(h1["metrics"].([]any)) != 1 || str(dig(h2, "metrics", 0, "step")) != "1" || h2["next_page_token"] != nil {
		t.Fatalf("history pages: %v %v", h1, h2)
	}

	up := e.ok("alice", "POST", "/runs/update", map[string]any{"run_id": id, "status": "FINISHED", "end_time": 2000, "run_name": "renamed"})
	if dig(up, "run_info", "status") != "FINISHED" || str(dig(up, "run_info", "end_time")) != "2000" || dig(up, "run_info", "run_name") != "renamed" {
		t.Fatalf("update: %v", up)
	}
	e.fails("alice", "POST", "/runs/update", map[string]any{"run_id": id, "status": "DONE"}, 400, "INVALID_PARAMETER_VALUE")
	e.ok("alice", "POST", "/runs/delete", map[string]any{"run_id": id})
	e.fails("alice", "POST", "/runs/log-metric", map[string]any{"run_id": id, "key": "x", "value": 1, "timestamp": 1}, 400, "INVALID_PARAMETER_VALUE")
	if runs := e.ok("val", "POST", "/runs/search", map[string]any{"experiment_ids": []string{"0"}})["runs"].([]any); len(runs) != 0 {
		t.Fatalf("deleted run still found: %v", runs)
	}
	e.ok("alice", "POST", "/runs/restore", map[string]any{"run_id": id})
	e.fails("val", "GET", "/runs/get", map[string]string{"run_id": strings.Repeat("0", 32)}, 404, "RESOURCE_DOES_NOT_EXIST")
}

func TestLogBatchIsAllOrNothingAndBounded(t *testing.T) {
	e := newEnv(t)
	e.t = t
	id := str(dig(e.ok("alice", "POST", "/runs/create", map[string]any{"experiment_id": "0"}), "run", "info", "run_id"))
	e.ok("alice", "POST", "/runs/log-batch", map[string]any{"run_id": id, "params": []map[string]string{{"key": "p", "value": "1"}}})
	metrics := []map[string]any{}
	for i := range 10 {
		metrics = append(metrics, map[string]any{"key": "acc", "value": float64(i), "timestamp": 1, "step": i})
	}
	// A changed param in the same batch: the ten points are not written either.
	e.fails("alice", "POST", "/runs/log-batch", map[string]any{"run_id": id, "metrics": metrics,
		"params": []map[string]string{{"key": "p", "value": "2"}}, "tags": []map[string]string{{"key": "t", "value": "v"}}}, 400, "INVALID_PARAMETER_VALUE")
	if n := e.count("SELECT count(*) FROM metrics"); n != 0 {
		t.Fatalf("%d points of a refused batch were written", n)
	}
	if n := e.count("SELECT count(*) FROM run_tags WHERE key = 't'"); n != 0 {
		t.Fatal("a tag of a refused batch was written")
	}
	many := make([]map[string]any, 1001)
	for i := range many {
		many[i] = map[string]any{"key": "m", "value": 1, "timestamp": 1}
	}
	e.fails("alice", "POST", "/runs/log-batch", map[string]any{"run_id": id, "metrics": many}, 400, "INVALID_PARAMETER_VALUE")
	e.fails("alice", "POST", "/runs/log-batch", map[string]any{"run_id": id, "params": []map[string]string{{"key": "big", "value": strings.Repeat("v", 6001)}}}, 400, "INVALID_PARAMETER_VALUE")
	e.fails("alice", "POST", "/runs/log-batch", map[string]any{"run_id": id, "tags": []map[string]string{{"key": strings.Repeat("k", 251), "value": ""}}}, 400, "INVALID_PARAMETER_VALUE")
	e.ok("alice", "POST", "/runs/log-batch", map[string]any{"run_id": id, "metrics": metrics, "tags": []map[string]string{{"key": "t", "value": "v"}}})
	if n := e.count("SELECT count(*) FROM metrics"); n != 10 {
		t.Fatalf("%d points written, want 10", n)
	}
}

func TestSearchRunsFilterOrderAndPageTokens(t *testing.T) {
	e := newEnv(t)
	e.t = t
	var ids []string
	for i := range 6 {
		id := str(dig(e.ok("alice", "POST", "/runs/create", map[string]any{"experiment_id": "0", "run_name": "r" + string(rune('0'+i)), "start_time": 100 + i}), "run", "info", "run_id"))
		ids = append(ids, id)
		e.ok("alice", "POST", "/runs/log-batch", map[string]any{"run_id": id,
			"metrics": []map[string]any{{"key": "acc", "value": float64(i) / 10, "timestamp": 1}},
			"params":  []map[string]string{{"key": "opt", "value": map[bool]string{true: "adam", false: "sgd"}[i%2 == 0]}}})
		if i >= 4 {
			e.ok("alice", "POST", "/runs/update", map[string]any{"run_id": id, "status": "FINISHED"})
		}
	}
	search := func(body map[string]any) ([]string, string) {
		t.Helper()
		body["experiment_ids"] = []string{"0"}
		out := e.ok("val", "POST", "/runs/search", body)
		var got []string
		for _, r := range out["runs"].([]any) {
			got = append(got, str(dig(r, "info", "run_id")))
		}
		return got, str(out["next_page_token"])
	}
	check := func(name string, got []string, want ...int) {
		t.Helper()
		var w []string
		for _, i := range want {
			w = append(w, ids[i])
		}
		if strings.Join(got, ",") != strings.Join(w, ",") {
			t.Errorf("%s: got %d runs %v, want runs %v", name, len(got), got, want)
		}
	}
	got, _ := search(map[string]any{"filter": "metrics.acc > 0.15 and params.opt = 'adam'", "order_by": []string{"metrics.acc DESC"}})
	check("acc > 0.15 AND opt = adam", got, 4, 2)
	got, _ = search(map[string]any{"filter": "attributes.status = 'FINISHED'"})
	check("status FINISHED (start_time DESC)", got, 5, 4)
	got, _ = search(map[string]any{"filter": "attribute.start_time >= 103 AND tags.`mlflow.runName` != 'r5'", "order_by": []string{"attributes.start_time ASC"}})
	check("start_time >= 103", got, 3, 4)
	got, _ = search(map[string]any{"filter": "run_name LIKE 'r%' AND metrics.acc <= 0.1"})
	check("run_name LIKE", got, 1, 0)
	got, _ = search(map[string]any{"filter": "attributes.run_id IN ('" + ids[1] + "', '" + ids[2] + "')", "order_by": []string{"params.opt ASC", "attributes.start_time DESC"}})
	check("run_id IN, params order", got, 2, 1)
	var paged []string
	tok := ""
	for range 10 {
		body := map[string]any{"max_results": 4, "order_by": []string{"metrics.acc ASC"}}
		if tok != "" {
			body["page_token"] = tok
		}
		var page []string
		page, tok = search(body)
		paged = append(paged, page...)
		if tok == "" {
			break
		}
	}
	check("pages of 4 by acc", paged, 0, 1, 2, 3, 4, 5)
	for _, bad := range []string{"metrics.acc > 'x'", "params.opt = adam", "metrics.acc > 1 OR metrics.acc < 0", "nope.x = 'a'", "attributes.bogus = 'a'", "metrics.acc >"} {
		e.fails("val", "POST", "/runs/search", map[string]any{"experiment_ids": []string{"0"}, "filter": bad}, 400, "INVALID_PARAMETER_VALUE")
	}
	e.fails("val", "POST", "/runs/search", map[string]any{"experiment_ids": []string{"0"}, "max_results": 50001}, 400, "INVALID_PARAMETER_VALUE")
	if st, _ := e.call("val", http.MethodPost, "/runs/search", map[string]any{"experiment_ids": []string{"0"}, "order_by": []string{"metrics.acc SIDEWAYS"}}); st != 400 {
		t.Errorf("bad order_by: %d", st)
	}
}
