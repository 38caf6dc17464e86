//go:build e2e

package e2e

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"
)

type trackedJob struct {
	server, token, other string // the server, an editor's token, a token of a user of another tenant
	tenant, job, digest  string // the job and the digest its log says it uploaded
	viewer               []string
}

// mlflow calls ferry's MLflow API as token: status, body, headers.
func mlflow(t *testing.T, server, token, method, path string) (int, []byte, http.Header) {
	t.Helper()
	req, err := http.NewRequest(method, server+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := (&http.Client{Timeout: time.Minute}).Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, b, resp.Header
}

// testTrackedJob checks what the tracked scikit-learn job left behind: its
// run FINISHED with the parameters and per-fold metrics the script logged,
// the model registered as version 1 with the run and the job as its
// lineage, the artifact downloadable through the MLflow path with the
// digest of the upload, and nothing of it visible to another tenant's member.
func testTrackedJob(t *testing.T, c *cluster, tj trackedJob) {
	out, err := ferry(t, time.Minute, tj.viewer, "job", "--tenant", tj.tenant, "get", tj.job, "-o", "json")
	if err != nil {
		t.Fatalf("job get: %v\n%s", err, out)
	}
	var j struct {
		Run *struct{ ExperimentID, RunID string }
	}
	if err := json.Unmarshal([]byte(out[strings.Index(out, "{"):]), &j); err != nil || j.Run == nil || j.Run.RunID == "" {
		t.Fatalf("job get shows no run: %v\n%s", err, out)
	}
	run := j.Run.RunID
	st, body, _ := mlflow(t, tj.server, tj.token, "GET", "/mlflow/"+tj.tenant+"/api/2.0/mlflow/runs/get?run_id="+run)
	if st != 200 || !strings.Contains(string(body), `"status":"FINISHED"`) || !strings.Contains(string(body), `"key":"C"`) {
		t.Fatalf("the job's run: %d %s", st, body)
	}
	st, body, _ = mlflow(t, tj.server, tj.token, "GET", "/mlflow/"+tj.tenant+"/api/2.0/mlflow/metrics/get-history?run_id="+run+"&metric_key=cv_accuracy")
	if st != 200 || strings.Count(string(body), `"key":"cv_accuracy"`) != 5 {
		t.Fatalf("the run's per-fold accuracy (5 steps): %d %s", st, body)
	}
	out, err = ferry(t, time.Minute, tj.viewer, "model", "--tenant", tj.tenant, "get", "digits")
	if err != nil || !strings.Contains(out, run) || !regexp.MustCompile(`(?m)^\s*1\s+READY\s+`+run+`\s+`+tj.job+`\s`).MatchString(out) {
		t.Fatalf("model get digits does not show version 1 made by run %s of job %s: %v\n%s", run, tj.job, err, out)
	}
	path := "/mlflow/" + tj.tenant + "/api/2.0/mlflow-artifacts/artifacts/" + j.Run.ExperimentID + "/" + run + "/artifacts/model/model.joblib"
	st, body, hdr := mlflow(t, tj.server, tj.token, "GET", path)
	sum := sha256.Sum256(body)
	if st != 200 || hex.EncodeToString(sum[:]) != tj.digest || hdr.Get("X-Ferry-Sha256") != tj.digest {
		t.Fatalf("downloaded model: status %d, sha256 %x (header %s), want the uploaded %s", st, sum, hdr.Get("X-Ferry-Sha256"), tj.digest)
	}
	for _, p := range []string{
		"/api/2.0/mlflow/runs/get?run_id=" + run,
		"/api/2.0/mlflow/registered-models/get?name=digits",
		"/api/2.0/mlflow/experiments/search",
		"/api/2.0/mlflow-artifacts/artifacts/" + j.Run.ExperimentID + "/" + run + "/artifacts/model/model.joblib",
	} {
		if st, body, _ := mlflow(t, tj.server, tj.other, "GET", "/mlflow/"+tj.tenant+p); st != 404 || strings.Contains(string(body), "digits") {
			t.Errorf("another tenant's member GET %s: %d %s, want 404 revealing nothing", p, st, body)
		}
	}
}

// testSDKLogged checks that a job's `import ferry; ferry.log_*` reached its run.
func testSDKLogged(t *testing.T, tj trackedJob) {
	out, err := ferry(t, time.Minute, tj.viewer, "job", "--tenant", tj.tenant, "get", tj.job, "-o", "json")
	if err != nil {
		t.Fatalf("job get: %v\n%s", err, out)
	}
	var j struct {
		Run *struct{ RunID string }
	}
	if err := json.Unmarshal([]byte(out[strings.Index(out, "{"):]), &j); err != nil || j.Run == nil {
		t.Fatalf("job get shows no run: %v\n%s", err, out)
	}
	st, body, _ := mlflow(t, tj.server, tj.token, "GET", "/mlflow/"+tj.tenant+"/api/2.0/mlflow/runs/get?run_id="+j.Run.RunID)
	if st != 200 || !strings.Contains(string(body), `{"key":"from","value":"sdk"}`) || !strings.Contains(string(body), `"key":"answer","value":42`) {
		t.Fatalf("the SDK's param and metric are not on the job's run: %d %s", st, body)
	}
}
