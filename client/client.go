// Package client is the typed Go client of ferry's API (package api/v1):
// one method per operation, contract types in and out, errors as
// *v1.Problem. The CLI, bootstrap, the node agents and the e2e tests use it;
// nothing in ferry builds a request body by hand.
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	v1 "github.com/ferry-ml/ferry/api/v1"
)

// MaxAnswerBytes bounds a JSON answer.
const MaxAnswerBytes = 64 << 20

// Client calls one ferry server.
type Client struct {
	server string
	token  func() (string, error)
	http   *http.Client
	stream *http.Client // no overall timeout: logs, archives, uploads
}

// Option configures a Client.
type Option func(*Client)

// WithToken authenticates every request with the token.
func WithToken(token string) Option {
	return func(c *Client) { c.token = func() (string, error) { return token, nil } }
}

// WithTokenFunc reads the token before each request (a token file that rotates).
func WithTokenFunc(f func() (string, error)) Option { return func(c *Client) { c.token = f } }

// WithHTTPClient sets the HTTP client of ordinary calls; streams share its
// transport without its overall timeout.
func WithHTTPClient(h *http.Client) Option { return func(c *Client) { c.http = h } }

// New returns a client of the server at base URL server.
func New(server string, opts ...Option) *Client {
	c := &Client{server: strings.TrimRight(server, "/"), http: &http.Client{Timeout: 30 * time.Second}}
	for _, o := range opts {
		o(c)
	}
	c.stream = &http.Client{Transport: c.http.Transport, CheckRedirect: c.http.CheckRedirect, Jar: c.http.Jar}
	return c
}

// Server is the base URL.
func (c *Client) Server() string { return c.server }

// Path fills a path template of package v1 with escaped values, in the
// order of its {name} segments.
func Path(tmpl string, values ...string) string {
	var b strings.Builder
	rest := tmpl
	for _, v := range values {
		i := strings.IndexByte(rest, '{')
		j := strings.IndexByte(rest, '}')
		if i < 0 || j < i {
			break
		}
		b.WriteString(rest[:i])
		b.WriteString(url.PathEscape(v))
		rest = rest[j+1:]
	}
	b.WriteString(rest)
	return b.String()
}

func (c *Client) request(ctx context.Context, method, path string, query url.Values, body io.Reader, contentType string) (*http.Request, error) {
	u := c.server + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return nil, err
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if c.token != nil {
		tok, err := c.token()
		if err != nil {
			return nil, fmt.Errorf("token: %w", err)
		}
		if tok = strings.TrimSpace(tok); tok != "" {
			req.Header.Set(v1.HeaderAuthorization, v1.BearerScheme+" "+tok)
		}
	}
	return req, nil
}

// send performs a request and returns the answer when its status is 2xx,
// otherwise the server's problem as an error.
func (c *Client) send(hc *http.Client, req *http.Request) (*http.Response, error) {
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("cannot reach the ferry server at %s: %w", c.server, err)
	}
	if resp.StatusCode < 300 {
		return resp, nil
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return nil, problemOf(resp.StatusCode, data)
}

func problemOf(status int, data []byte) *v1.Problem {
	p := &v1.Problem{}
	if json.Unmarshal(data, p) != nil || (p.Title == "" && p.Detail == "") {
		p = &v1.Problem{Title: strings.TrimSpace(http.StatusText(status) + " " + firstLine(string(data)))}
	}
	p.Status = status
	return p
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	if len(s) > 200 {
		s = s[:200]
	}
	return s
}

// do sends in (when not nil) as JSON and decodes the answer into out (when not nil).
func (c *Client) do(ctx context.Context, method, path string, query url.Values, in, out any) error {
	var body io.Reader
	ct := ""
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body, ct = bytes.NewReader(b), "application/json"
	}
	req, err := c.request(ctx, method, path, query, body, ct)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := c.send(c.http, req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, MaxAnswerBytes))
	if err != nil {
		return fmt.Errorf("read answer from %s: %w", c.server, err)
	}
	if out == nil || len(data) == 0 {
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("decode answer of %s %s: %w", method, path, err)
	}
	return nil
}

// IsStatus reports whether err is a problem answer with that HTTP status.
func IsStatus(err error, status int) bool {
	var p *v1.Problem
	return errors.As(err, &p) && p.Status == status
}

func listQuery(o v1.ListOptions) url.Values {
	q := url.Values{}
	if o.Limit > 0 {
		q.Set("limit", strconv.Itoa(o.Limit))
	}
	if o.After != "" {
		q.Set("after", string(o.After))
	}
	return q
}

// All walks every page that fetch returns, in order.
func All[T any](ctx context.Context, fetch func(context.Context, v1.ListOptions) (v1.List[T], error)) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		o := v1.ListOptions{Limit: v1.MaxPageLimit}
		for {
			page, err := fetch(ctx, o)
			if err != nil {
				var zero T
				yield(zero, err)
				return
			}
			for _, it := range page.Items {
				if !yield(it, nil) {
					return
				}
			}
			if page.Next == "" {
				return
			}
			o.After = page.Next
		}
	}
}

// Collect gathers every page into one slice.
func Collect[T any](ctx context.Context, fetch func(context.Context, v1.ListOptions) (v1.List[T], error)) ([]T, error) {
	out := []T{}
	for it, err := range All(ctx, fetch) {
		if err != nil {
			return out, err
		}
		out = append(out, it)
	}
	return out, nil
}

// Healthz checks that the server answers.
func (c *Client) Healthz(ctx context.Context) error { return c.probe(ctx, "/healthz") }

// Readyz checks that the server is ready (its store answers).
func (c *Client) Readyz(ctx context.Context) error { return c.probe(ctx, "/readyz") }

func (c *Client) probe(ctx context.Context, path string) error {
	req, err := c.request(ctx, http.MethodGet, path, nil, nil, "")
	if err != nil {
		return err
	}
	resp, err := c.send(c.http, req)
	if err != nil {
		return err
	}
	return resp.Body.Close()
}

func decode(r io.Reader, out any) error {
	data, err := io.ReadAll(io.LimitReader(r, MaxAnswerBytes))
	if err != nil {
		return err
	}
	return json.Unmarshal(data, out)
}
