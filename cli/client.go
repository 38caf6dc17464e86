package cli

import (
	"net/http"
	"time"

	"github.com/ferry-ml/ferry/client"
)

// apiContext is the stored login the command uses (--context, or the current one).
func (g *globals) apiContext() (ClientContext, error) {
	cfg, err := LoadClientConfig(g.configPath)
	if err != nil {
		return ClientContext{}, err
	}
	return cfg.Context(g.context)
}

// client is the typed API client of the stored login.
func (g *globals) client() (*client.Client, error) {
	c, err := g.apiContext()
	if err != nil {
		return nil, err
	}
	return newClient(c.Server, c.Token, 30*time.Second), nil
}

func newClient(server, token string, timeout time.Duration) *client.Client {
	return client.New(server, client.WithToken(token), client.WithHTTPClient(&http.Client{Timeout: timeout}))
}
