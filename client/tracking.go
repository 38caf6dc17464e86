package client

import (
	"context"
	"net/http"
	"strconv"

	v1 "github.com/ferry-ml/ferry/api/v1"
)

// ListExperiments is one page of a tenant's active experiments.
func (c *Client) ListExperiments(ctx context.Context, tenant string, o v1.ListOptions) (v1.List[v1.Experiment], error) {
	var out v1.List[v1.Experiment]
	return out, c.do(ctx, http.MethodGet, Path(v1.PathExperiments, tenant), listQuery(o), nil, &out)
}

// ListRuns is one page of an experiment's active runs, newest first.
func (c *Client) ListRuns(ctx context.Context, tenant string, o v1.RunListOptions) (v1.List[v1.Run], error) {
	var out v1.List[v1.Run]
	q := listQuery(o.ListOptions)
	if o.Experiment != "" {
		q.Set("experiment", o.Experiment)
	}
	return out, c.do(ctx, http.MethodGet, Path(v1.PathRuns, tenant), q, nil, &out)
}

// GetRun reads a run with its params, tags and latest metrics.
func (c *Client) GetRun(ctx context.Context, tenant, id string) (v1.Run, error) {
	var out v1.Run
	return out, c.do(ctx, http.MethodGet, Path(v1.PathRun, tenant, id), nil, nil, &out)
}

// ListModels is one page of a tenant's registered models.
func (c *Client) ListModels(ctx context.Context, tenant string, o v1.ListOptions) (v1.List[v1.RegisteredModel], error) {
	var out v1.List[v1.RegisteredModel]
	return out, c.do(ctx, http.MethodGet, Path(v1.PathModels, tenant), listQuery(o), nil, &out)
}

// GetModel reads a registered model.
func (c *Client) GetModel(ctx context.Context, tenant, name string) (v1.RegisteredModel, error) {
	var out v1.RegisteredModel
	return out, c.do(ctx, http.MethodGet, Path(v1.PathModel, tenant, name), nil, nil, &out)
}

// ListModelVersions is one page of a model's versions, newest first.
func (c *Client) ListModelVersions(ctx context.Context, tenant, name string, o v1.ListOptions) (v1.List[v1.ModelVersion], error) {
	var out v1.List[v1.ModelVersion]
	return out, c.do(ctx, http.MethodGet, Path(v1.PathModelVersions, tenant, name), listQuery(o), nil, &out)
}

// GetModelVersion reads one version of a model, with the job or pipeline
// step that made it.
func (c *Client) GetModelVersion(ctx context.Context, tenant, model string, version int64) (v1.ModelVersion, error) {
	var out v1.ModelVersion
	return out, c.do(ctx, http.MethodGet, Path(v1.PathModelVersion, tenant, model, strconv.FormatInt(version, 10)), nil, nil, &out)
}
