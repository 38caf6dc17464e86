package client

import (
	"context"
	"net/http"

	v1 "github.com/ferry-ml/ferry/api/v1"
)

// CreateTuning starts a tuning from its spec (an object, or YAML text).
func (c *Client) CreateTuning(ctx context.Context, tenant string, in v1.TuningCreate) (v1.Tuning, error) {
	var out v1.Tuning
	return out, c.do(ctx, http.MethodPost, Path(v1.PathTunings, tenant), nil, in, &out)
}

// ListTunings is one page of a tenant's tunings in creation order.
func (c *Client) ListTunings(ctx context.Context, tenant string, o v1.ListOptions) (v1.List[v1.Tuning], error) {
	var out v1.List[v1.Tuning]
	return out, c.do(ctx, http.MethodGet, Path(v1.PathTunings, tenant), listQuery(o), nil, &out)
}

// GetTuning reads a tuning with its trial counts and best trial.
func (c *Client) GetTuning(ctx context.Context, tenant, name string) (v1.Tuning, error) {
	var out v1.Tuning
	return out, c.do(ctx, http.MethodGet, Path(v1.PathTuning, tenant, name), nil, nil, &out)
}

// ListTuningTrials is one page of a tuning's trials by number.
func (c *Client) ListTuningTrials(ctx context.Context, tenant, name string, o v1.ListOptions) (v1.List[v1.Trial], error) {
	var out v1.List[v1.Trial]
	return out, c.do(ctx, http.MethodGet, Path(v1.PathTuningTrials, tenant, name), listQuery(o), nil, &out)
}

// BestTrial is a tuning's best trial so far (a 404 while none succeeded).
func (c *Client) BestTrial(ctx context.Context, tenant, name string) (v1.Trial, error) {
	var out v1.Trial
	return out, c.do(ctx, http.MethodGet, Path(v1.PathTuningBest, tenant, name), nil, nil, &out)
}

// StopTuning stops a tuning: no new trials, running ones cancelled.
func (c *Client) StopTuning(ctx context.Context, tenant, name string) (v1.Tuning, error) {
	var out v1.Tuning
	return out, c.do(ctx, http.MethodPost, Path(v1.PathTuningStop, tenant, name), nil, nil, &out)
}
