package client

import (
	"context"
	"net/http"

	v1 "github.com/ferry-ml/ferry/api/v1"
)

// CreateNotebookSession trades the client's token for a one-time code that
// opens the notebook in a browser (valid a minute, once). Open
// Server()+URL of the answer; the URL never carries the token.
func (c *Client) CreateNotebookSession(ctx context.Context, tenant, name string) (v1.NotebookHandover, error) {
	var out v1.NotebookHandover
	return out, c.do(ctx, http.MethodPost, Path(v1.PathNotebookSession, tenant, name), nil, nil, &out)
}
