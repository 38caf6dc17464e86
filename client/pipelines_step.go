package client

import (
	"context"
	"io"
	"net/http"
	"time"

	v1 "github.com/ferry-ml/ferry/api/v1"
)

// The step wrapper's calls: it reports to its own tracking run through
// the MLflow-compatible API, with the step's run-scoped token.

// UploadArtifact puts one file into a run's artifact tree through the
// MLflow artifact proxy; the server refuses a body whose sha256 is not digest.
func (c *Client) UploadArtifact(ctx context.Context, tenant, experimentID, run, path, digest string, size int64, body io.Reader) error {
	req, err := c.request(ctx, http.MethodPut, v1.MLflowArtifactPath(tenant, experimentID, run, path), nil, body, "application/octet-stream")
	if err != nil {
		return err
	}
	req.ContentLength = size
	req.Header.Set("X-Ferry-Sha256", digest)
	resp, err := c.send(c.stream, req)
	if err != nil {
		return err
	}
	return resp.Body.Close()
}

// SetRunTag sets a tag of a run (MLflow runs/set-tag).
func (c *Client) SetRunTag(ctx context.Context, tenant, run, key, value string) error {
	body := map[string]string{"run_id": run, "key": key, "value": value}
	return c.do(ctx, http.MethodPost, v1.MLflowPrefix+tenant+"/api/2.0/mlflow/runs/set-tag", nil, body, nil)
}

// LogMetric logs one point of a run's metric (MLflow runs/log-metric).
func (c *Client) LogMetric(ctx context.Context, tenant, run, key string, value float64, step int64) error {
	body := map[string]any{"run_id": run, "key": key, "value": value, "step": step, "timestamp": time.Now().UnixMilli()}
	return c.do(ctx, http.MethodPost, v1.MLflowPrefix+tenant+"/api/2.0/mlflow/runs/log-metric", nil, body, nil)
}
