package client

import (
	"context"
	"net/http"

	v1 "github.com/ferry-ml/ferry/api/v1"
)

// CreateUISession trades the client's token for a one-time dashboard login
// code; open Server()+URL in a browser within a minute.
func (c *Client) CreateUISession(ctx context.Context) (v1.UIHandover, error) {
	var out v1.UIHandover
	return out, c.do(ctx, http.MethodPost, v1.PathUISession, nil, nil, &out)
}
