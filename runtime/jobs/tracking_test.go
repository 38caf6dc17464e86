package jobs

import (
	"context"
	"errors"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"

	v1 "github.com/ferry-ml/ferry/api/v1"
	"github.com/ferry-ml/ferry/store"
)

// TestATrackedJobsPodsLogToItsRunWithATokenThatEndsWithTheJob: the job's
// pods get MLFLOW_TRACKING_URI, the experiment and run ids, and a token
// from a Secret that authenticates as scoped to the run; when the job ends
// the run is FINISHED, the token revoked and the Secret gone.
func TestATrackedJobsPodsLogToItsRunWithATokenThatEndsWithTheJob(t *testing.T) {
	f := newFixture(t, func(c *Controller) { c.Tracking = Tracking{URL: "http://ferry.ferry-system.svc:8080"} })
	ctx := t.Context()
	var j store.Job
	f.write(func(tx *store.Tx) error {
		if _, err := tx.CreateUser(ctx, "alice", false); err != nil {
			return err
		}
		run, err := tx.CreateJobRun(ctx, "a", "", "train", "alice")
		if err != nil {
			return err
		}
		j, err = tx.CreateJob(ctx, store.Job{Tenant: "a", Name: "train", Spec: job(0, "a", "train", 1, "1", "1Gi", 0).Spec, CreatedBy: "alice",
			ExperimentID: run.ExperimentID, RunID: run.ID})
		return err
	})
	f.ctrl.Poke()
	f.waitJob("train", func(j store.Job) bool { return j.State == store.JobRunning })
	kj, err := f.cs.BatchV1().Jobs("ferry-a").Get(ctx, "train", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]corev1.EnvVar{}
	for _, e := range kj.Spec.Template.Spec.Containers[0].Env {
		env[e.Name] = e
	}
	if got := env[v1.EnvTrackingURI].Value; got != "http://ferry.ferry-system.svc:8080/mlflow/a" {
		t.Errorf("%s = %q", v1.EnvTrackingURI, got)
	}
	if env[v1.EnvRunID].Value != j.RunID || env[v1.EnvExperimentID].Value != "0" {
		t.Errorf("run env: %+v %+v, want run %s in experiment 0", env[v1.EnvRunID], env[v1.EnvExperimentID], j.RunID)
	}
	ref := env[v1.EnvTrackingToken].ValueFrom
	if ref == nil || ref.SecretKeyRef == nil || ref.SecretKeyRef.Name != TokenSecretName(j) {
		t.Fatalf("%s is not read from the job's Secret: %+v", v1.EnvTrackingToken, env[v1.EnvTrackingToken])
	}
	sec, err := f.cs.CoreV1().Secrets("ferry-a").Get(ctx, TokenSecretName(j), metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	token := sec.StringData[TokenSecretKey] // the fake clientset keeps StringData as given
	if token == "" {
		token = string(sec.Data[TokenSecretKey])
	}
	var tk store.Token
	if err := f.db.Read(ctx, func(tx *store.Tx) (err error) { _, tk, err = tx.AuthenticateToken(ctx, token); return err }); err != nil {
		t.Fatalf("the Secret's token does not authenticate: %v", err)
	}
	if tk.Scope != store.RunScope("a", j.RunID) {
		t.Fatalf("token scope %q, want %q", tk.Scope, store.RunScope("a", j.RunID))
	}
	var run store.RunInfo
	if err := f.db.Read(ctx, func(tx *store.Tx) (err error) { run, err = tx.RunInfo(ctx, "a", j.RunID); return err }); err != nil || run.Status != store.RunRunning {
		t.Fatalf("the running job's run: %+v %v", run, err)
	}

	kj.Status.Conditions = []batchv1.JobCondition{{Type: batchv1.JobComplete, Status: corev1.ConditionTrue, LastTransitionTime: metav1.Now()}}
	if _, err := f.cs.BatchV1().Jobs("ferry-a").UpdateStatus(ctx, kj, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	f.waitJob("train", func(j store.Job) bool { return j.State == store.JobSucceeded })
	if err := f.db.Read(ctx, func(tx *store.Tx) (err error) { _, _, err = tx.AuthenticateToken(ctx, token); return err }); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("the run token after the job ended: %v, want revoked", err)
	}
	if err := f.db.Read(ctx, func(tx *store.Tx) (err error) { run, err = tx.RunInfo(ctx, "a", j.RunID); return err }); err != nil || run.Status != store.RunFinished {
		t.Errorf("the succeeded job's run: %+v %v", run, err)
	}
	err = wait.PollUntilContextTimeout(ctx, 20*time.Millisecond, 5*time.Second, true, func(ctx context.Context) (bool, error) {
		_, err := f.cs.CoreV1().Secrets("ferry-a").Get(ctx, TokenSecretName(j), metav1.GetOptions{})
		return err != nil, nil
	})
	if err != nil {
		t.Error("the ended job's token Secret was kept")
	}
}
