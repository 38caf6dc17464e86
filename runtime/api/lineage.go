package api

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"

	"github.com/danielgtaylor/huma/v2"

	v1 "github.com/ferry-ml/ferry/api/v1"
	"github.com/ferry-ml/ferry/runtime/pipelines"
	"github.com/ferry-ml/ferry/store"
)

// Lineage, both ways, read from what the store already links (see
// store/lineage.go). Reads of metadata, like a run's or a pipeline run's,
// are not written to the read log (artifact and model downloads are).

type artifactLineageInput struct {
	Tenant string `path:"tenant" maxLength:"57"`
	Digest string `path:"digest" maxLength:"71" doc:"the artifact's digest: sha256:<hex> or the 64 hex characters"`
	Limit  int    `query:"limit" minimum:"1" maximum:"1000" default:"200" doc:"list at most this many runs"`
}

type artifactLineageOutput struct{ Body v1.ArtifactLineage }

type modelVersionLineageInput struct {
	Tenant  string `path:"tenant" maxLength:"57"`
	Model   string `path:"model" maxLength:"256"`
	Version int64  `path:"version" minimum:"1"`
	Depth   int    `query:"depth" minimum:"1" maximum:"100" default:"20" doc:"follow upstream steps at most this far from the step that made the version"`
	Steps   int    `query:"steps" minimum:"1" maximum:"1000" default:"200" doc:"list at most this many steps"`
}

type modelVersionLineageOutput struct{ Body v1.ModelVersionLineage }

var errNotDigest = errors.New("not a sha256 digest: sha256:<hex> or 64 lower-case hex characters")

// parseDigest accepts sha256:<hex> or <hex> and returns the hex.
func parseDigest(s string) (string, error) {
	h := strings.TrimPrefix(s, "sha256:")
	if len(h) != 64 || strings.ToLower(h) != h {
		return "", errNotDigest
	}
	if _, err := hex.DecodeString(h); err != nil {
		return "", errNotDigest
	}
	return h, nil
}

func (s *Server) lineageRoutes() {
	register(s, huma.Operation{OperationID: "getArtifactLineage", Method: http.MethodGet, Path: v1.PathArtifactLineage, Tags: []string{"lineage"},
		Summary: "The runs that produced and consumed an artifact, by digest, and the model versions that hold it"},
		func(ctx context.Context, in *artifactLineageInput) (*artifactLineageOutput, error) {
			digest, err := parseDigest(in.Digest)
			if err != nil {
				return nil, fieldError("path.digest", in.Digest, err)
			}
			out := &artifactLineageOutput{}
			err = s.readAs(ctx, in.Tenant, store.RoleViewer, func(tx *store.Tx) error {
				l, err := artifactLineage(ctx, tx, in.Tenant, digest, in.Limit)
				out.Body = l
				return err
			})
			return out, err
		})
	register(s, huma.Operation{OperationID: "getModelVersionLineage", Method: http.MethodGet, Path: v1.PathModelVersionLineage, Tags: []string{"lineage", "registry"},
		Summary: "What made a model version: its run, job or pipeline step, and the steps upstream of it with their input artifacts"},
		func(ctx context.Context, in *modelVersionLineageInput) (*modelVersionLineageOutput, error) {
			out := &modelVersionLineageOutput{}
			err := s.readAs(ctx, in.Tenant, store.RoleViewer, func(tx *store.Tx) error {
				v, err := tx.ModelVersion(ctx, in.Tenant, in.Model, in.Version)
				if err != nil {
					return err
				}
				out.Body, err = modelVersionLineage(ctx, tx, v, in.Depth, in.Steps)
				return err
			})
			return out, err
		})
}

func artifactLineage(ctx context.Context, tx *store.Tx, tenant, digest string, limit int) (v1.ArtifactLineage, error) {
	uses, more, err := tx.ArtifactUses(ctx, tenant, digest, limit)
	if err != nil {
		return v1.ArtifactLineage{}, err
	}
	models, err := tx.ModelVersionsHolding(ctx, tenant, digest, uses)
	if err != nil {
		return v1.ArtifactLineage{}, err
	}
	if len(uses) == 0 && len(models) == 0 {
		return v1.ArtifactLineage{}, huma.Error404NotFound(fmt.Sprintf("tenant %s has no artifact sha256:%s", tenant, digest))
	}
	l := v1.ArtifactLineage{Digest: "sha256:" + digest, ProducedBy: []v1.LineageRun{}, ConsumedBy: []v1.LineageRun{}, Truncated: more}
	for _, u := range uses {
		l.Size = u.Size
		r := v1.LineageRun{RunID: u.RunID, Path: u.Path, PipelineRun: u.PipelineRun, Pipeline: u.Pipeline, Step: u.Step, Job: u.Job}
		if u.Consumed {
			l.ConsumedBy = append(l.ConsumedBy, r)
		} else {
			l.ProducedBy = append(l.ProducedBy, r)
		}
	}
	seen := map[v1.ModelVersionRef]bool{}
	for _, m := range models {
		ref := v1.ModelVersionRef{Model: m.Name, Version: m.Version, RunID: m.RunID}
		if !seen[ref] {
			seen[ref] = true
			l.Models = append(l.Models, ref)
		}
	}
	return l, nil
}

// madeBy says what a tracking run is the run of: a pipeline step, a job, or neither.
func madeBy(ctx context.Context, tx *store.Tx, tenant, runID string) (v1.LineageRun, store.PipelineRun, error) {
	out := v1.LineageRun{RunID: runID}
	if runID == "" {
		return out, store.PipelineRun{}, nil
	}
	pr, step, err := tx.StepOfRun(ctx, tenant, runID)
	switch {
	case err == nil:
		out.PipelineRun, out.Pipeline, out.Step = pr.RunID, pr.Pipeline, step
		return out, pr, nil
	case !errors.Is(err, store.ErrNotFound):
		return out, pr, err
	}
	j, err := tx.JobByRun(ctx, tenant, runID)
	switch {
	case err == nil:
		out.Job = j.Name
	case !errors.Is(err, store.ErrNotFound):
		return out, store.PipelineRun{}, err
	}
	return out, store.PipelineRun{}, nil
}

func modelVersionLineage(ctx context.Context, tx *store.Tx, v store.ModelVersion, depth, steps int) (v1.ModelVersionLineage, error) {
	run := v.RunID
	if run == "" && v.ModelID != "" {
		m, err := tx.LoggedModel(ctx, v.Tenant, v.ModelID)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return v1.ModelVersionLineage{}, err
		}
		run = m.SourceRunID
	}
	by, pr, err := madeBy(ctx, tx, v.Tenant, run)
	if err != nil {
		return v1.ModelVersionLineage{}, err
	}
	out := v1.ModelVersionLineage{Model: v.Name, Version: v.Version, Source: v.Source, MadeBy: by, Steps: []v1.LineageStep{}, Artifacts: []string{}}
	if by.Step == "" {
		return out, nil
	}
	w := &lineageWalk{ctx: ctx, tx: tx, tenant: v.Tenant, maxDepth: depth, maxSteps: steps, runs: map[string]*walkRun{}, seen: map[string]bool{}}
	if err := w.walk(pr.RunID, by.Step); err != nil {
		return v1.ModelVersionLineage{}, err
	}
	out.Steps, out.Truncated = w.out, w.truncated
	seen := map[string]bool{}
	for _, s := range out.Steps {
		names := make([]string, 0, len(s.Inputs))
		for n := range s.Inputs {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			if d := s.Inputs[n]; !seen[d] {
				seen[d] = true
				out.Artifacts = append(out.Artifacts, d)
			}
		}
	}
	return out, nil
}

// lineageWalk goes breadth first from a step to the steps upstream of it,
// within its pipeline run and, through cache hits, into the runs whose
// outputs a cached step got; bounded by depth and step count.
type lineageWalk struct {
	ctx                context.Context
	tx                 *store.Tx
	tenant             string
	maxDepth, maxSteps int
	runs               map[string]*walkRun
	seen               map[string]bool
	out                []v1.LineageStep
	truncated          bool
}

type walkRun struct {
	r    store.PipelineRun
	rows map[string]store.PipelineStep
	// byStep lists a step's rows (one, or the items of a fan-out), by name.
	byStep map[string][]string
	deps   map[string][]string
}

// run loads a pipeline run with its steps and DAG once (nil: not the tenant's).
func (w *lineageWalk) run(id string) (*walkRun, error) {
	if r := w.runs[id]; r != nil {
		return r, nil
	}
	r, err := w.tx.PipelineRun(w.ctx, w.tenant, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	rows, err := w.tx.PipelineSteps(w.ctx, r.ID)
	if err != nil {
		return nil, err
	}
	wr := &walkRun{r: r, rows: map[string]store.PipelineStep{}, byStep: map[string][]string{}, deps: map[string][]string{}}
	for _, row := range rows {
		wr.rows[row.Name] = row
		wr.byStep[row.Step] = append(wr.byStep[row.Step], row.Name)
	}
	if v, err := w.tx.PipelineVersion(w.ctx, r.PipelineID, r.Version); err == nil {
		var spec v1.PipelineSpec
		if json.Unmarshal([]byte(v.Spec), &spec) == nil {
			if g, err := pipelines.NewGraph(spec); err == nil {
				wr.deps = g.Deps
			}
		}
	} else if !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	w.runs[id] = wr
	return wr, nil
}

type walkItem struct {
	run, row string
	depth    int
}

func (w *lineageWalk) walk(run, row string) error {
	queue := []walkItem{{run, row, 0}}
	w.seen[run+"/"+row] = true
	for len(queue) > 0 {
		it := queue[0]
		queue = queue[1:]
		if len(w.out) >= w.maxSteps {
			w.truncated = true
			return nil
		}
		wr, err := w.run(it.run)
		if err != nil {
			return err
		}
		if wr == nil {
			continue
		}
		st, ok := wr.rows[it.row]
		if !ok {
			continue
		}
		inputs, err := w.tx.StepInputs(w.ctx, st.ChildRun)
		if err != nil {
			return err
		}
		node := v1.LineageStep{Key: it.run + "/" + it.row, PipelineRun: it.run, Pipeline: wr.r.Pipeline, Step: it.row, RunID: st.ChildRun,
			State: v1.PipelineRunState(st.State), CachedFrom: st.CachedFrom, Depth: it.depth, Outputs: st.Outputs}
		if len(inputs) > 0 {
			node.Inputs = map[string]string{}
			for n, d := range inputs {
				node.Inputs[n] = "sha256:" + d
			}
		}
		var up []walkItem
		for _, dep := range wr.deps[st.Step] {
			for _, name := range wr.byStep[dep] {
				up = append(up, walkItem{it.run, name, it.depth + 1})
			}
		}
		if st.State == string(v1.StepCached) && st.CachedFrom != "" && st.CachedFrom != it.run {
			from, err := w.tx.CachedStep(w.ctx, w.tenant, st.CacheKey, st.CachedFrom)
			if err != nil {
				return err
			}
			if from == "" {
				from = it.row
			}
			up = append(up, walkItem{st.CachedFrom, from, it.depth + 1})
		}
		for _, u := range up {
			key := u.run + "/" + u.row
			node.Upstream = append(node.Upstream, key)
			if w.seen[key] {
				continue
			}
			if u.depth > w.maxDepth {
				w.truncated = true
				continue
			}
			w.seen[key] = true
			queue = append(queue, u)
		}
		w.out = append(w.out, node)
	}
	return nil
}
