package cli

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"sigs.k8s.io/yaml"
)

// ClientConfig is the CLI's config file: named contexts, one of them current.
type ClientConfig struct {
	Current  string          `json:"current"`
	Contexts []ClientContext `json:"contexts"`
}

// ClientContext is one server and the token to use with it.
type ClientContext struct {
	Name   string `json:"name"`
	Server string `json:"server"`
	Token  string `json:"token"`
	// Gateway is the serving gateway's URL, where deployments answer.
	Gateway string `json:"gateway,omitempty"`
}

// LoadClientConfig reads the config; a missing file is an empty config.
func LoadClientConfig(path string) (*ClientConfig, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return &ClientConfig{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read config %s: %w", path, err)
	}
	var c ClientConfig
	if err := yaml.UnmarshalStrict(b, &c); err != nil {
		return nil, fmt.Errorf("parse config %s: %w", path, err)
	}
	return &c, nil
}

// Save writes the config atomically with mode 0600 (it holds tokens).
func (c *ClientConfig) Save(path string) error {
	b, err := yaml.Marshal(c)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".config-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		return errors.Join(err, tmp.Close())
	}
	if _, err := tmp.Write(b); err != nil {
		return errors.Join(err, tmp.Close())
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// Upsert adds or replaces a context and makes it current.
func (c *ClientConfig) Upsert(ctx ClientContext) {
	c.Current = ctx.Name
	for i := range c.Contexts {
		if c.Contexts[i].Name == ctx.Name {
			c.Contexts[i] = ctx
			return
		}
	}
	c.Contexts = append(c.Contexts, ctx)
}

// Context returns the named context, or the current one when name is empty.
func (c *ClientConfig) Context(name string) (ClientContext, error) {
	if name == "" {
		name = c.Current
	}
	if name == "" {
		return ClientContext{}, errors.New("not logged in: run `ferry login --server URL --token TOKEN` (or `ferry up`)")
	}
	for _, x := range c.Contexts {
		if x.Name == name {
			return x, nil
		}
	}
	return ClientContext{}, fmt.Errorf("no context %q in the config; run `ferry login --context %s ...`", name, name)
}

// Remove drops a context; the current one becomes empty if it was that one.
func (c *ClientConfig) Remove(name string) bool {
	for i := range c.Contexts {
		if c.Contexts[i].Name == name {
			c.Contexts = append(c.Contexts[:i], c.Contexts[i+1:]...)
			if c.Current == name {
				c.Current = ""
			}
			return true
		}
	}
	return false
}
