package serving

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"gocloud.dev/blob"
	"gocloud.dev/gcerrors"

	v1 "github.com/ferry-ml/ferry/api/v1"
	"github.com/ferry-ml/ferry/store"
)

// Report takes a gateway's measurements (the API's ServingRunner).
func (c *Controller) Report(now time.Time, r v1.GatewayReport) { c.Stats.Report(now, r) }

// RevisionStats are a revision's measurements over the last minute.
func (c *Controller) RevisionStats(tenant, deployment, revision string, now time.Time) v1.RevisionStats {
	_, s := c.Stats.Since(tenant, deployment, revision, now, now)
	return s
}

// OpenArtifact reads a model file by digest from the artifact bucket (the
// key MLflow's artifact proxy keeps it under).
func (c *Controller) OpenArtifact(ctx context.Context, digest string) (io.ReadCloser, error) {
	if c.Blobs == nil {
		return nil, errors.New("serving: no artifact bucket")
	}
	r, err := c.Blobs.NewReader(ctx, "artifacts/sha256/"+digest, nil)
	if gcerrors.Code(err) == gcerrors.NotFound {
		return nil, fmt.Errorf("%w: artifact blob %s", store.ErrNotFound, digest)
	}
	return r, err
}

// OpenBlobs opens the artifact bucket at url (a gocloud.dev blob URL).
func OpenBlobs(ctx context.Context, url string) (*blob.Bucket, error) {
	b, err := blob.OpenBucket(ctx, url)
	if err != nil {
		return nil, fmt.Errorf("serving: open artifact bucket: %w", err)
	}
	return b, nil
}
