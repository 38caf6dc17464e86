package client

import (
	"context"
	"net/http"
	"net/url"
	"strconv"

	v1 "github.com/ferry-ml/ferry/api/v1"
)

// ArtifactLineage lists the runs that produced and consumed an artifact
// (digest: sha256:<hex> or the hex) and the model versions that hold it.
func (c *Client) ArtifactLineage(ctx context.Context, tenant, digest string) (v1.ArtifactLineage, error) {
	var out v1.ArtifactLineage
	return out, c.do(ctx, http.MethodGet, Path(v1.PathArtifactLineage, tenant, digest), nil, nil, &out)
}

// ModelVersionLineage reads what made a model version and the pipeline
// steps upstream of it, within o's bounds (0: the server's defaults).
func (c *Client) ModelVersionLineage(ctx context.Context, tenant, model string, version int64, o v1.LineageOptions) (v1.ModelVersionLineage, error) {
	var out v1.ModelVersionLineage
	q := url.Values{}
	if o.Depth > 0 {
		q.Set("depth", strconv.Itoa(o.Depth))
	}
	if o.Steps > 0 {
		q.Set("steps", strconv.Itoa(o.Steps))
	}
	return out, c.do(ctx, http.MethodGet, Path(v1.PathModelVersionLineage, tenant, model, strconv.FormatInt(version, 10)), q, nil, &out)
}
