package cli

import (
	"fmt"
	"net/http"
	"time"

	v1 "github.com/ferry-ml/ferry/api/v1"
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

// page prints, under a table, the link to the object's dashboard page
// (v1.PagePath with the tenant, then the name or id). Nothing is printed
// for JSON or YAML output, which stay one document.
func (g *globals) page(p v1.Page, values ...string) {
	c, err := g.apiContext()
	if g.output != "table" || err != nil {
		return
	}
	fmt.Fprintf(g.stdout, "\nDASHBOARD  %s\n", v1.PageURL(c.Server, p, values...))
}
