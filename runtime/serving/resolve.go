package serving

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/ferry-ml/ferry/store"
)

// ErrBadModel is a model reference that names no servable version.
var ErrBadModel = errors.New("bad model reference")

// ModelFiles are the file names a revision loads, in order of preference.
var ModelFiles = []string{"model.joblib", "model.pkl", "model.pickle"}

// Resolve finds the version NAME/VERSION or NAME@ALIAS names and its model
// file; what is missing is an ErrBadModel saying so.
func Resolve(ctx context.Context, tx *store.Tx, tenant, ref string) (store.Revision, error) {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", ErrBadModel, fmt.Sprintf(format, args...))
	}
	var v store.ModelVersion
	var err error
	if m, alias, ok := strings.Cut(ref, "@"); ok && m != "" && alias != "" {
		v, err = tx.ModelVersionByAlias(ctx, tenant, m, alias)
	} else if m, num, ok := strings.Cut(ref, "/"); ok && m != "" {
		n, perr := strconv.ParseInt(num, 10, 64)
		if perr != nil || n < 1 {
			return store.Revision{}, bad("%q is not a version number", num)
		}
		v, err = tx.ModelVersion(ctx, tenant, m, n)
	} else {
		return store.Revision{}, bad("name a model version as NAME/VERSION or NAME@ALIAS")
	}
	if errors.Is(err, store.ErrNotFound) {
		return store.Revision{}, bad("tenant %s's registry has no model version %s", tenant, ref)
	}
	if err != nil {
		return store.Revision{}, err
	}
	runID, dir := sourceDir(v)
	if runID == "" {
		return store.Revision{}, bad("version %d of %s has no artifacts in ferry (source %q)", v.Version, v.Name, v.Source)
	}
	for _, f := range ModelFiles {
		p := strings.TrimPrefix(dir+"/"+f, "/")
		e, err := tx.RunArtifact(ctx, tenant, runID, p)
		if err == nil {
			return store.Revision{Model: v.Name, Version: v.Version, RunID: runID, Path: p, Digest: e.Digest}, nil
		}
		if !errors.Is(err, store.ErrNotFound) {
			return store.Revision{}, err
		}
	}
	return store.Revision{}, bad("version %d of %s has no model file (%s) under %q in run %s",
		v.Version, v.Name, strings.Join(ModelFiles, ", "), dir, runID)
}

// sourceDir is the run and directory of a version's source.
func sourceDir(v store.ModelVersion) (string, string) {
	if rest, ok := strings.CutPrefix(v.Source, "runs:/"); ok {
		run, dir, _ := strings.Cut(rest, "/")
		return run, strings.Trim(dir, "/")
	}
	if rest, ok := strings.CutPrefix(v.Source, "mlflow-artifacts:/"); ok {
		segs := strings.SplitN(strings.TrimPrefix(rest, "/"), "/", 4)
		if len(segs) >= 3 && segs[2] == "artifacts" {
			dir := ""
			if len(segs) == 4 {
				dir = strings.Trim(segs[3], "/")
			}
			return segs[1], dir
		}
	}
	return v.RunID, ""
}

// StartCanary retires a running canary and adds rev as the new one at
// weight, stable taking the rest; an event records it.
func StartCanary(ctx context.Context, tx *store.Tx, d store.Deployment, rev store.Revision, weight int32, actor string) error {
	var stable *store.Revision
	for i, r := range d.Revisions {
		switch r.Role {
		case store.RevisionCanary:
			if err := tx.SetRevisionTraffic(ctx, d.ID, r.Number, store.RevisionRetired, 0); err != nil {
				return err
			}
		case store.RevisionStable:
			stable = &d.Revisions[i]
		}
	}
	if stable == nil {
		return errors.New("deployment has no stable revision")
	}
	if err := tx.SetRevisionTraffic(ctx, d.ID, stable.Number, store.RevisionStable, 100-weight); err != nil {
		return err
	}
	rev.Role, rev.Weight = store.RevisionCanary, weight
	added, err := tx.AddRevision(ctx, d.ID, rev)
	if err != nil {
		return err
	}
	return tx.AddDeploymentEvent(ctx, d.ID, "canary", fmt.Sprintf("%s: %s version %d as a canary at %d%% (by %s)",
		RevisionName(d, added), rev.Model, rev.Version, weight, actor))
}

// DefaultCanaryWeight is a new canary's weight unless the update says otherwise.
const DefaultCanaryWeight = 10

// followAlias starts a rollout when the alias a deployment follows moved to
// a version it serves in no live revision. It reports whether it did.
func followAlias(ctx context.Context, tx *store.Tx, d store.Deployment, ref string) (bool, error) {
	if !strings.Contains(ref, "@") {
		return false, nil
	}
	rev, err := Resolve(ctx, tx, d.Tenant, ref)
	if errors.Is(err, ErrBadModel) {
		return false, nil // the alias went away or points at nothing servable: keep serving
	}
	if err != nil {
		return false, err
	}
	for _, r := range d.Revisions {
		if r.Role != store.RevisionRetired && r.Model == rev.Model && r.Version == rev.Version {
			return false, nil
		}
		if r.Role == store.RevisionRetired && r.Model == rev.Model && r.Version == rev.Version && r.Number > liveStable(d) {
			return false, nil // rolled back already: do not retry the same version forever
		}
	}
	return true, StartCanary(ctx, tx, d, rev, DefaultCanaryWeight, "alias "+ref)
}

func liveStable(d store.Deployment) int64 {
	for _, r := range d.Revisions {
		if r.Role == store.RevisionStable {
			return r.Number
		}
	}
	return 0
}
