package client

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"

	v1 "github.com/ferry-ml/ferry/api/v1"
)

// MetricHistory is one page of a run's series of a metric, in step order.
func (c *Client) MetricHistory(ctx context.Context, tenant, run, key string, o v1.ListOptions) (v1.List[v1.MetricValue], error) {
	var out v1.List[v1.MetricValue]
	return out, c.do(ctx, http.MethodGet, Path(v1.PathRunMetric, tenant, run, key), listQuery(o), nil, &out)
}

// ListRunArtifacts lists one directory of a run's artifacts ("" is the root).
func (c *Client) ListRunArtifacts(ctx context.Context, tenant, run, dir string) (v1.List[v1.Artifact], error) {
	var out v1.List[v1.Artifact]
	var q url.Values
	if dir != "" {
		q = url.Values{"path": {dir}}
	}
	return out, c.do(ctx, http.MethodGet, Path(v1.PathRunArtifacts, tenant, run), q, nil, &out)
}

// DownloadArtifact writes one artifact file of a run to w through the
// MLflow artifact proxy and checks its sha256 against the digest the server
// recorded at upload; it returns that digest.
func (c *Client) DownloadArtifact(ctx context.Context, tenant, experimentID, run, path string, w io.Writer) (string, error) {
	req, err := c.request(ctx, http.MethodGet, v1.MLflowArtifactPath(tenant, experimentID, run, path), nil, nil, "")
	if err != nil {
		return "", err
	}
	resp, err := c.send(c.stream, req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(w, h), resp.Body)
	if err != nil {
		return "", fmt.Errorf("download %s: %w", path, err)
	}
	got, want := hex.EncodeToString(h.Sum(nil)), resp.Header.Get("X-Ferry-Sha256")
	if want != "" && got != want {
		return "", fmt.Errorf("download %s: %d bytes with sha256 %s, the server recorded %s", path, n, got, want)
	}
	if resp.ContentLength >= 0 && n != resp.ContentLength {
		return "", fmt.Errorf("download %s: %d of %s bytes", path, n, strconv.FormatInt(resp.ContentLength, 10))
	}
	return got, nil
}

// RegisterModelVersion registers a run's model directory as a new version
// of the model (made when missing).
func (c *Client) RegisterModelVersion(ctx context.Context, tenant, model string, in v1.ModelVersionCreate) (v1.ModelVersion, error) {
	var out v1.ModelVersion
	return out, c.do(ctx, http.MethodPost, Path(v1.PathModelVersions, tenant, model), nil, in, &out)
}

// SetModelAlias points an alias of a model at a version.
func (c *Client) SetModelAlias(ctx context.Context, tenant, model, alias string, version int64) (v1.ModelVersion, error) {
	var out v1.ModelVersion
	return out, c.do(ctx, http.MethodPut, Path(v1.PathModelAlias, tenant, model, alias), nil, v1.ModelAliasPut{Version: version}, &out)
}

// DeleteModelAlias removes an alias of a model.
func (c *Client) DeleteModelAlias(ctx context.Context, tenant, model, alias string) error {
	return c.do(ctx, http.MethodDelete, Path(v1.PathModelAlias, tenant, model, alias), nil, nil, nil)
}
