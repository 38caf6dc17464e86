package pipelines

import (
	"testing"

	v1 "github.com/ferry-ml/ferry/api/v1"
	"github.com/ferry-ml/ferry/store"
)

func TestCacheKeyChangesWithWhatTheResultDependsOnNotArtifactNames(t *testing.T) {
	base := func() CacheInput {
		return CacheInput{ImageID: "sha256:aaa", Command: []string{"python3", "train.py"}, Args: []string{"--lr=0.1"},
			Env: map[string]string{"SEED": "1"}, Params: map[string]string{"lr": "0.1"}, Artifacts: map[string]string{"data": "sha256:d1"}}
	}
	key := CacheKey(base())
	if CacheKey(base()) != key {
		t.Fatal("the key is not deterministic")
	}
	changes := map[string]func(*CacheInput){
		"input digest": func(c *CacheInput) { c.Artifacts["data"] = "sha256:d2" },
		"image digest": func(c *CacheInput) { c.ImageID = "sha256:bbb" },
		"parameter":    func(c *CacheInput) { c.Params["lr"] = "0.2" },
		"env":          func(c *CacheInput) { c.Env["SEED"] = "2" },
		"command":      func(c *CacheInput) { c.Command[1] = "eval.py" },
		"args":         func(c *CacheInput) { c.Args = nil },
	}
	for name, change := range changes {
		c := base()
		change(&c)
		if CacheKey(c) == key {
			t.Errorf("changing the %s kept the key", name)
		}
	}
	renamed := base()
	renamed.Artifacts = map[string]string{"dataset": "sha256:d1"}
	if CacheKey(renamed) != key {
		t.Error("renaming an input artifact changed the key")
	}
}

func TestTheStoreAndTheContractAgreeOnWhereStepsReport(t *testing.T) {
	for _, c := range [][2]string{{store.TagStepOutput, v1.StepTagOutput}, {store.StepOutputPrefix, v1.StepArtifactOutputs}, {store.StepInputPrefix, v1.StepArtifactInputs}} {
		if c[0] != c[1] {
			t.Errorf("store says %q, the contract %q", c[0], c[1])
		}
	}
}
