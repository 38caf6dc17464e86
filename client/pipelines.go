package client

import (
	"context"
	"io"
	"net/http"
	"net/url"

	v1 "github.com/ferry-ml/ferry/api/v1"
)

// CreatePipeline creates a pipeline or adds a version when its spec changed.
func (c *Client) CreatePipeline(ctx context.Context, tenant string, in v1.PipelineCreate) (v1.PipelineVersion, error) {
	var out v1.PipelineVersion
	return out, c.do(ctx, http.MethodPost, Path(v1.PathPipelines, tenant), nil, in, &out)
}

// ListPipelines is one page of a tenant's pipelines by name.
func (c *Client) ListPipelines(ctx context.Context, tenant string, o v1.ListOptions) (v1.List[v1.Pipeline], error) {
	var out v1.List[v1.Pipeline]
	return out, c.do(ctx, http.MethodGet, Path(v1.PathPipelines, tenant), listQuery(o), nil, &out)
}

// GetPipeline reads a pipeline.
func (c *Client) GetPipeline(ctx context.Context, tenant, name string) (v1.Pipeline, error) {
	var out v1.Pipeline
	return out, c.do(ctx, http.MethodGet, Path(v1.PathPipeline, tenant, name), nil, nil, &out)
}

// ListPipelineVersions is one page of a pipeline's versions, newest first.
func (c *Client) ListPipelineVersions(ctx context.Context, tenant, name string, o v1.ListOptions) (v1.List[v1.PipelineVersion], error) {
	var out v1.List[v1.PipelineVersion]
	return out, c.do(ctx, http.MethodGet, Path(v1.PathPipelineVersions, tenant, name), listQuery(o), nil, &out)
}

// SubmitPipelineRun runs a version of a pipeline.
func (c *Client) SubmitPipelineRun(ctx context.Context, tenant, pipeline string, in v1.PipelineRunSubmit) (v1.PipelineRun, error) {
	var out v1.PipelineRun
	return out, c.do(ctx, http.MethodPost, Path(v1.PathPipelineRuns, tenant, pipeline), nil, in, &out)
}

// ListPipelineRuns is one page of a tenant's pipeline runs, newest first.
func (c *Client) ListPipelineRuns(ctx context.Context, tenant string, o v1.PipelineRunListOptions) (v1.List[v1.PipelineRun], error) {
	var out v1.List[v1.PipelineRun]
	q := listQuery(o.ListOptions)
	if o.Pipeline != "" {
		q.Set("pipeline", o.Pipeline)
	}
	if o.State != "" {
		q.Set("state", string(o.State))
	}
	return out, c.do(ctx, http.MethodGet, Path(v1.PathPipelineRunList, tenant), q, nil, &out)
}

// GetPipelineRun reads a run with its steps.
func (c *Client) GetPipelineRun(ctx context.Context, tenant, id string) (v1.PipelineRun, error) {
	var out v1.PipelineRun
	return out, c.do(ctx, http.MethodGet, Path(v1.PathPipelineRun, tenant, id), nil, nil, &out)
}

// CancelPipelineRun cancels a run.
func (c *Client) CancelPipelineRun(ctx context.Context, tenant, id string) (v1.PipelineRun, error) {
	var out v1.PipelineRun
	return out, c.do(ctx, http.MethodPost, Path(v1.PathPipelineRunCncl, tenant, id), nil, nil, &out)
}

// RetryPipelineRun retries a failed or cancelled run from its failed steps.
func (c *Client) RetryPipelineRun(ctx context.Context, tenant, id string) (v1.PipelineRun, error) {
	var out v1.PipelineRun
	return out, c.do(ctx, http.MethodPost, Path(v1.PathPipelineRunRetry, tenant, id), nil, nil, &out)
}

// PipelineStepLogs copies a step's log to w as it arrives.
func (c *Client) PipelineStepLogs(ctx context.Context, tenant, run, step string, follow bool, w io.Writer) error {
	q := url.Values{}
	if follow {
		q.Set("follow", "true")
	}
	req, err := c.request(ctx, http.MethodGet, Path(v1.PathPipelineStepLogs, tenant, run, step), q, nil, "")
	if err != nil {
		return err
	}
	resp, err := c.send(c.stream, req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, err = io.Copy(w, resp.Body)
	return err
}

// CreateSchedule schedules runs of a pipeline on a cron.
func (c *Client) CreateSchedule(ctx context.Context, tenant string, in v1.ScheduleCreate) (v1.Schedule, error) {
	var out v1.Schedule
	return out, c.do(ctx, http.MethodPost, Path(v1.PathSchedules, tenant), nil, in, &out)
}

// ListSchedules is one page of a tenant's schedules by name.
func (c *Client) ListSchedules(ctx context.Context, tenant string, o v1.ListOptions) (v1.List[v1.Schedule], error) {
	var out v1.List[v1.Schedule]
	return out, c.do(ctx, http.MethodGet, Path(v1.PathSchedules, tenant), listQuery(o), nil, &out)
}

// PauseSchedule stops a schedule's ticks; ResumeSchedule starts them again (no catch-up).
func (c *Client) PauseSchedule(ctx context.Context, tenant, name string) (v1.Schedule, error) {
	var out v1.Schedule
	return out, c.do(ctx, http.MethodPost, Path(v1.PathSchedulePause, tenant, name), nil, nil, &out)
}

// ResumeSchedule starts a paused schedule again from its next tick.
func (c *Client) ResumeSchedule(ctx context.Context, tenant, name string) (v1.Schedule, error) {
	var out v1.Schedule
	return out, c.do(ctx, http.MethodPost, Path(v1.PathScheduleResume, tenant, name), nil, nil, &out)
}

// DeleteSchedule deletes a schedule; its runs stay.
func (c *Client) DeleteSchedule(ctx context.Context, tenant, name string) error {
	return c.do(ctx, http.MethodDelete, Path(v1.PathSchedule, tenant, name), nil, nil, nil)
}
