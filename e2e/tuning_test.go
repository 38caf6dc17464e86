//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"

	v1 "github.com/ferry-ml/ferry/api/v1"
)

// tuningSpec tunes the RBF SVM of sklearn_tune.py (C, gamma) on the digits
// data with TPE: 12 trials, 3 at once, the median rule after 3 completed
// trials. Each trial logs accuracy at 6 steps, 3 s apart, so the controller
// (which reads metrics every 5 s) sees trials while they run.
const tuningSpec = `apiVersion: ferry.dev/v1
kind: Tuning
name: svm
objective: {metric: accuracy, direction: maximize}
algorithm: tpe
seed: 19
maxTrials: 12
parallelTrials: 3
maxFailedTrials: 2
earlyStopping: {type: median, startupTrials: 3}
parameters:
  - {name: C, type: float, min: 0.1, max: 100, log: true}
  - {name: gamma, type: float, min: 0.0001, max: 1, log: true}
trial:
  image: IMAGE
  resources: {cpu: 500m, memory: 512Mi}
  command: [python3, /opt/ferry/examples/sklearn_tune.py]
  args: ["--C=${params.C}", "--gamma=${params.gamma}", "--steps=6", "--step-seconds=3"]
`

// testTuning runs a tuning on the cluster with the workload image: its
// trials are jobs with child runs of the tuning's run, at least one is
// stopped early by the median rule (its job cancelled), the tuning ends
// after 12 trials, and the best trial's model is registered.
func testTuning(t *testing.T, c *cluster, img string) {
	ctx := context.Background()
	if out, err := c.ferry(t, time.Minute, "tenant", "create", "tune", "--cpu", "3", "--memory", "4Gi"); err != nil {
		t.Fatalf("tenant create tune: %v\n%s", err, out)
	}
	waitTenantObjects(t, c, "tune")
	tuner, server, token := c.login(t, "tuner")
	if _, err := c.ferry(t, time.Minute, "member", "add", "tune", "tuner", "--role", "editor"); err != nil {
		t.Fatal(err)
	}
	tf := func(timeout time.Duration, args ...string) (string, error) {
		return ferry(t, timeout, tuner, append([]string{"tune", "--tenant", "tune"}, args...)...)
	}
	decode := func(t *testing.T, out string, v any) {
		t.Helper()
		i := strings.Index(out, "{")
		if i < 0 || json.NewDecoder(strings.NewReader(out[i:])).Decode(v) != nil {
			t.Fatalf("not JSON: %s", out)
		}
	}
	spec := filepath.Join(t.TempDir(), "svm.yaml")
	if err := os.WriteFile(spec, []byte(strings.ReplaceAll(tuningSpec, "IMAGE", img)), 0o600); err != nil {
		t.Fatal(err)
	}

	t.Run("a TPE tuning of 12 SVM trials, 3 at once, stops one early and registers the best trial's model", func(t *testing.T) {
		bad := strings.ReplaceAll(strings.ReplaceAll(tuningSpec, "IMAGE", img), "${params.gamma}", "${params.gama}")
		badFile := filepath.Join(t.TempDir(), "bad.yaml")
		if err := os.WriteFile(badFile, []byte(bad), 0o600); err != nil {
			t.Fatal(err)
		}
		if out, err := tf(time.Minute, "create", "-f", badFile); err == nil || !strings.Contains(out, "body.yaml.trial.args[1]") || !strings.Contains(out, `"gama"`) {
			t.Fatalf("a template referencing an undefined parameter: %v\n%s", err, out)
		}
		start := time.Now()
		if out, err := tf(time.Minute, "create", "-f", spec); err != nil {
			t.Fatalf("tune create: %v\n%s", err, out)
		}
		var tu v1.Tuning
		err := wait.PollUntilContextTimeout(ctx, 5*time.Second, 20*time.Minute, true, func(context.Context) (bool, error) {
			out, err := tf(time.Minute, "get", "svm", "-o", "json")
			if err != nil {
				return false, nil
			}
			tu = v1.Tuning{}
			decode(t, out, &tu)
			return tu.State != v1.TuningRunning, nil
		})
		trialsOut, _ := tf(time.Minute, "trials", "svm")
		if err != nil || tu.State != v1.TuningSucceeded {
			t.Fatalf("tuning %s (%s) after %s: %v\n%s", tu.State, tu.Reason, time.Since(start).Round(time.Second), err, trialsOut)
		}
		t.Logf("FIGURE 12-trial TPE tuning (3 parallel, 6 steps × 3 s each) create → succeeded: %s; %d pruned, %d failed\n%s",
			time.Since(start).Round(time.Second), tu.Trials.Pruned, tu.Trials.Failed, trialsOut)
		if tu.Trials.Total != 12 || tu.Trials.Pruned < 1 || tu.Best == nil {
			t.Fatalf("trials %+v, best %v: want 12 with at least one stopped early", tu.Trials, tu.Best)
		}

		var trials v1.List[v1.Trial]
		out, err := tf(time.Minute, "trials", "svm", "-o", "json")
		if err != nil {
			t.Fatalf("tune trials: %v\n%s", err, out)
		}
		decode(t, out, &trials)
		for _, tr := range trials.Items {
			st, body, _ := mlflow(t, server, token, "GET", "/mlflow/tune/api/2.0/mlflow/runs/get?run_id="+tr.RunID)
			if st != 200 || !strings.Contains(string(body), `{"key":"mlflow.parentRunId","value":"`+tu.RunID+`"}`) {
				t.Errorf("trial %d's run is not a child of the tuning's run %s: %d %s", tr.Number, tu.RunID, st, body)
			}
			if tr.State != v1.TrialPruned {
				continue
			}
			jout, err := ferry(t, time.Minute, tuner, "job", "--tenant", "tune", "get", tr.Job, "-o", "json")
			var j v1.Job
			decode(t, jout, &j)
			if err != nil || j.State != v1.JobCancelled || !strings.Contains(tr.Reason, "median") {
				t.Errorf("pruned trial %d: job %s %q, reason %q", tr.Number, j.State, j.Reason, tr.Reason)
			}
		}

		out, err = tf(time.Minute, "best", "svm", "--register-as", "digits-svm", "-o", "json")
		if err != nil {
			t.Fatalf("tune best --register-as: %v\n%s", err, out)
		}
		var best struct {
			Trial v1.Trial
			Model *v1.ModelVersion
		}
		decode(t, out, &best)
		if best.Trial.Number != tu.Best.Number || best.Model == nil || best.Model.RunID != best.Trial.RunID || *best.Trial.Value < 0.9 {
			t.Fatalf("best: %s", out)
		}
		if out, err := ferry(t, time.Minute, tuner, "model", "--tenant", "tune", "get", "digits-svm"); err != nil || !strings.Contains(out, best.Trial.RunID) {
			t.Fatalf("the registered model does not show the best trial's run %s: %v\n%s", best.Trial.RunID, err, out)
		}
		t.Logf("FIGURE best trial %d: accuracy %.4f with %v", best.Trial.Number, *best.Trial.Value, best.Trial.Params)
	})
}
