package client

import (
	"context"
	"io"
	"net/http"
	"net/url"

	v1 "github.com/ferry-ml/ferry/api/v1"
)

// SeedImages lists the images of the current seed bundle (admins and the seed account).
func (c *Client) SeedImages(ctx context.Context) ([]v1.SeedImage, error) {
	var out []v1.SeedImage
	return out, c.do(ctx, http.MethodGet, v1.PathSeedImages, nil, nil, &out)
}

// SeedArchive streams one image of the seed bundle as a docker-archive tar.
func (c *Client) SeedArchive(ctx context.Context, ref string) (io.ReadCloser, error) {
	req, err := c.request(ctx, http.MethodGet, v1.PathSeedArchive, url.Values{"ref": {ref}}, nil, "")
	if err != nil {
		return nil, err
	}
	resp, err := c.send(c.stream, req)
	if err != nil {
		return nil, err
	}
	return resp.Body, nil
}

// UploadSeedBundle streams a bundle to the control plane (admins), which
// verifies it and makes its images the current seed; it returns them.
func (c *Client) UploadSeedBundle(ctx context.Context, bundle io.Reader) ([]v1.SeedImage, error) {
	req, err := c.request(ctx, http.MethodPut, v1.PathSeedBundle, nil, bundle, "application/x-tar")
	if err != nil {
		return nil, err
	}
	resp, err := c.send(c.stream, req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var out []v1.SeedImage
	return out, decode(resp.Body, &out)
}

// ReportSeed tells the control plane which generation a node holds (the seed account).
func (c *Client) ReportSeed(ctx context.Context, r v1.SeedReport) error {
	return c.do(ctx, http.MethodPost, v1.PathSeedStatus, nil, r, nil)
}

// SeedStatus is what every node's agent last reported (admins).
func (c *Client) SeedStatus(ctx context.Context) ([]v1.SeedNodeStatus, error) {
	var out []v1.SeedNodeStatus
	return out, c.do(ctx, http.MethodGet, v1.PathSeedStatus, nil, nil, &out)
}
