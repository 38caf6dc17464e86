package jobs

import (
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/runtime"
	k8stesting "k8s.io/client-go/testing"

	"github.com/ferry-ml/ferry/store"
)

// TestCancelIsNotReadAsADeletionOutsideFerry: a cancel deletes the job's
// Kubernetes objects and then records it cancelled. A sync pass that runs
// in between (here: started while the cancel deletes the Service, after
// the Job is gone) must not record the job failed with "the Kubernetes Job
// was deleted outside ferry"; the job ends cancelled with the cancel's
// reason. (The e2e run of a tuning found pruned trials' jobs failed.)
func TestCancelIsNotReadAsADeletionOutsideFerry(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	f.submit(store.Job{Tenant: "a", Name: "train", Spec: job(0, "a", "train", 1, "1", "1Gi", 0).Spec, CreatedBy: "alice"})
	j := f.waitJob("train", func(j store.Job) bool { return j.State == store.JobRunning })

	passDone := make(chan error, 1)
	f.cs.PrependReactor("delete", "services", func(k8stesting.Action) (bool, runtime.Object, error) {
		go func() { passDone <- f.ctrl.Sync(ctx) }()
		// Long enough for the informer to see the Job's deletion and for an
		// unserialised pass to read it missing.
		time.Sleep(300 * time.Millisecond)
		return false, nil, nil
	})
	out, err := f.ctrl.Cancel(ctx, j, "alice", nil)
	if err != nil {
		t.Fatalf("cancel: %v", err)
	}
	if err := <-passDone; err != nil {
		t.Fatalf("the pass during the cancel: %v", err)
	}
	got := f.waitJob("train", func(store.Job) bool { return true })
	if got.State != store.JobCancelled || out.State != store.JobCancelled || !strings.Contains(got.Reason, "cancelled by alice") {
		t.Fatalf("after a cancel with a pass in between: state %s reason %q (cancel answered %s)", got.State, got.Reason, out.State)
	}
	// A second cancel of the ended job says so and changes nothing.
	if _, err := f.ctrl.Cancel(ctx, j, "bob", nil); err == nil || !strings.Contains(err.Error(), "already cancelled") {
		t.Fatalf("cancel of a cancelled job: %v", err)
	}
}
