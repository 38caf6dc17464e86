package mlflow

import (
	"context"
	"net/http"
	"testing"

	"github.com/ferry-ml/ferry/store"
)

// runToken mints, for alice, a token scoped to one run of team-a (what a
// job's pods hold) and registers it as user "job".
func (e *env) runToken(t *testing.T, run string) {
	t.Helper()
	ctx := context.Background()
	err := e.db.Write(ctx, func(tx *store.Tx) error {
		u, err := tx.UserByName(ctx, "alice")
		if err != nil {
			return err
		}
		_, e.tokens["job"], err = tx.CreateScopedToken(ctx, u.ID, "run", store.RunScope("team-a", run), 0)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestARunScopedTokenWritesOnlyToItsRun(t *testing.T) {
	e := newEnv(t)
	mine := str(dig(e.ok("alice", "POST", "/runs/create", map[string]any{"experiment_id": "0"}), "run", "info", "run_id"))
	other := str(dig(e.ok("alice", "POST", "/runs/create", map[string]any{"experiment_id": "0"}), "run", "info", "run_id"))
	e.runToken(t, mine)

	// Its own run: log, tag, finish, upload an artifact, register a version from it.
	e.ok("job", "POST", "/runs/log-batch", map[string]any{"run_id": mine, "metrics": []any{map[string]any{"key": "acc", "value": 0.9, "timestamp": 1, "step": 0}},
		"params": []any{map[string]any{"key": "C", "value": "1.0"}}})
	e.ok("job", "POST", "/runs/set-tag", map[string]any{"run_id": mine, "key": "k", "value": "v"})
	e.ok("job", "POST", "/runs/update", map[string]any{"run_id": mine, "status": "FINISHED"})
	if st, b, _ := e.raw("job", "PUT", "/0/"+mine+"/artifacts/model.pkl", []byte("model"), nil); st != http.StatusOK {
		t.Fatalf("upload to its own run: %d %s", st, b)
	}
	e.ok("job", "POST", "/registered-models/create", map[string]any{"name": "digits"})
	e.ok("job", "POST", "/model-versions/create", map[string]any{"name": "digits", "source": "mlflow-artifacts:/0/" + mine + "/artifacts", "run_id": mine})
	// Reads of its tenant work.
	e.ok("job", "GET", "/runs/get", map[string]string{"run_id": other})

	// Anything else is refused, and nothing is written.
	before := e.count("SELECT COUNT(*) FROM metrics") + e.count("SELECT COUNT(*) FROM experiments") + e.count("SELECT COUNT(*) FROM model_versions")
	e.fails("job", "POST", "/runs/log-metric", map[string]any{"run_id": other, "key": "acc", "value": 1, "timestamp": 1}, http.StatusForbidden, "PERMISSION_DENIED")
	e.fails("job", "POST", "/runs/log-batch", map[string]any{"run_id": other, "metrics": []any{map[string]any{"key": "acc", "value": 1, "timestamp": 1}}}, http.StatusForbidden, "PERMISSION_DENIED")
	e.fails("job", "POST", "/runs/update", map[string]any{"run_id": other, "status": "KILLED"}, http.StatusForbidden, "PERMISSION_DENIED")
	e.fails("job", "POST", "/runs/delete-tag", map[string]any{"run_id": other, "key": "mlflow.runName"}, http.StatusForbidden, "PERMISSION_DENIED")
	e.fails("job", "POST", "/experiments/create", map[string]any{"name": "mine"}, http.StatusForbidden, "PERMISSION_DENIED")
	e.fails("job", "POST", "/runs/create", map[string]any{"experiment_id": "0"}, http.StatusForbidden, "PERMISSION_DENIED")
	e.fails("job", "POST", "/runs/delete", map[string]any{"run_id": mine}, http.StatusForbidden, "PERMISSION_DENIED")
	e.fails("job", "POST", "/model-versions/create", map[string]any{"name": "digits", "source": "x", "run_id": other}, http.StatusForbidden, "PERMISSION_DENIED")
	e.fails("job", "POST", "/model-versions/create", map[string]any{"name": "digits", "source": "x"}, http.StatusBadRequest, "INVALID_PARAMETER_VALUE")
	e.fails("job", "POST", "/registered-models/alias", map[string]any{"name": "digits", "alias": "champion", "version": "1"}, http.StatusForbidden, "PERMISSION_DENIED")
	if st, b, _ := e.raw("job", "PUT", "/0/"+other+"/artifacts/model.pkl", []byte("evil"), nil); st != http.StatusForbidden {
		t.Fatalf("upload to another run: %d %s", st, b)
	}
	// Another tenant does not exist for it, even for reads.
	e.fails("job", "GET", "/mlflow/team-b/api/2.0/mlflow/experiments/search", nil, http.StatusNotFound, "RESOURCE_DOES_NOT_EXIST")
	after := e.count("SELECT COUNT(*) FROM metrics") + e.count("SELECT COUNT(*) FROM experiments") + e.count("SELECT COUNT(*) FROM model_versions")
	if after != before {
		t.Fatalf("refused calls wrote rows: %d before, %d after", before, after)
	}

	// Revoked (the job ended): the token no longer works.
	ctx := context.Background()
	if err := e.db.Write(ctx, func(tx *store.Tx) error {
		u, _ := tx.UserByName(ctx, "alice")
		ts, err := tx.ListTokens(ctx, u.ID)
		if err != nil {
			return err
		}
		for _, tk := range ts {
			if tk.Name == "run" {
				return tx.RevokeTokenID(ctx, tk.ID)
			}
		}
		t.Fatal("the run token is not listed")
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	e.fails("job", "POST", "/runs/set-tag", map[string]any{"run_id": mine, "key": "k", "value": "w"}, http.StatusUnauthorized, "UNAUTHENTICATED")
}

// notebookToken mints for user a token limited to team-a (what a notebook's
// pod holds) and registers it under the name as.
func (e *env) notebookToken(t *testing.T, user, as string) {
	t.Helper()
	ctx := context.Background()
	err := e.db.Write(ctx, func(tx *store.Tx) error {
		u, err := tx.UserByName(ctx, user)
		if err != nil {
			return err
		}
		_, e.tokens[as], err = tx.CreateScopedToken(ctx, u.ID, "notebook", store.NotebookScope("team-a", "lab"), 0)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestANotebooksTenantTokenActsAsItsUserInItsTenantOnly(t *testing.T) {
	e := newEnv(t)
	e.notebookToken(t, "alice", "nb")
	e.notebookToken(t, "val", "viewer-nb")
	e.notebookToken(t, "bob", "bob-nb") // bob is no member of team-a

	// As alice (editor) in team-a: experiments, runs, logging, the registry.
	exp := str(dig(e.ok("nb", "POST", "/experiments/create", map[string]any{"name": "from-a-notebook"}), "experiment_id"))
	run := dig(e.ok("nb", "POST", "/runs/create", map[string]any{"experiment_id": exp}), "run", "info")
	id := str(dig(run, "run_id"))
	if u := str(dig(run, "user_id")); u != "alice" {
		t.Errorf("a notebook's run is by %q, want alice", u)
	}
	e.ok("nb", "POST", "/runs/log-metric", map[string]any{"run_id": id, "key": "acc", "value": 0.9, "timestamp": 1})
	e.ok("nb", "POST", "/registered-models/create", map[string]any{"name": "digits"})
	e.ok("nb", "POST", "/model-versions/create", map[string]any{"name": "digits", "source": "mlflow-artifacts:/" + exp + "/" + id + "/artifacts", "run_id": id})

	// A viewer's notebook reads and writes nothing.
	e.ok("viewer-nb", "GET", "/runs/get", map[string]string{"run_id": id})
	e.fails("viewer-nb", "POST", "/runs/log-metric", map[string]any{"run_id": id, "key": "acc", "value": 1, "timestamp": 2}, http.StatusForbidden, "PERMISSION_DENIED")

	// Another tenant does not exist for it, even where its user is a member.
	e.fails("nb", "GET", "/mlflow/team-b/api/2.0/mlflow/experiments/search", nil, http.StatusNotFound, "RESOURCE_DOES_NOT_EXIST")
	err := e.db.Write(context.Background(), func(tx *store.Tx) error {
		u, err := tx.UserByName(context.Background(), "alice")
		if err != nil {
			return err
		}
		return tx.PutMember(context.Background(), "team-b", u.ID, store.RoleEditor)
	})
	if err != nil {
		t.Fatal(err)
	}
	e.ok("alice", "GET", "/mlflow/team-b/api/2.0/mlflow/experiments/search", nil)
	e.fails("nb", "GET", "/mlflow/team-b/api/2.0/mlflow/experiments/search", nil, http.StatusNotFound, "RESOURCE_DOES_NOT_EXIST")
	e.fails("nb", "POST", "/mlflow/team-b/api/2.0/mlflow/experiments/create", map[string]any{"name": "x"}, http.StatusNotFound, "RESOURCE_DOES_NOT_EXIST")
	// A token limited to team-a whose user is no member of it has nothing.
	e.fails("bob-nb", "GET", "/experiments/search", nil, http.StatusNotFound, "RESOURCE_DOES_NOT_EXIST")
	e.fails("bob-nb", "GET", "/mlflow/team-b/api/2.0/mlflow/experiments/search", nil, http.StatusNotFound, "RESOURCE_DOES_NOT_EXIST")
}
