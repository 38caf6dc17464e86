package cli

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/spf13/cobra"

	v1 "github.com/ferry-ml/ferry/api/v1"
)

// LoginOptions is what `ferry login` needs.
type LoginOptions struct {
	ConfigPath string
	Context    string
	Server     string
	Token      string
	// Gateway is the serving gateway's URL (optional).
	Gateway string
}

func newLoginCmd(g *globals) *cobra.Command {
	var o LoginOptions
	cmd := &cobra.Command{
		Use:   "login --server URL --token TOKEN",
		Short: "Check a token against a server and store it as a context (mode 0600)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o.ConfigPath, o.Context = g.configPath, g.context
			who, err := Login(cmd, o)
			if err != nil {
				return err
			}
			fmt.Fprintf(g.stdout, "logged in to %s as %s (context %q)\n", o.Server, who.Name, contextName(o))
			return nil
		},
	}
	cmd.Flags().StringVar(&o.Server, "server", "", "control-plane URL, such as http://127.0.0.1:8080 (required)")
	cmd.Flags().StringVar(&o.Token, "token", "", "API token (required)")
	cmd.Flags().StringVar(&o.Gateway, "gateway", "", "the serving gateway's URL, where deployments answer (optional; ferry up finds it)")
	_ = cmd.MarkFlagRequired("server")
	_ = cmd.MarkFlagRequired("token")
	return cmd
}

func contextName(o LoginOptions) string {
	if o.Context != "" {
		return o.Context
	}
	return "default"
}

// Login verifies the token with whoami and then saves the context.
func Login(cmd *cobra.Command, o LoginOptions) (v1.Whoami, error) {
	u, err := url.Parse(o.Server)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return v1.Whoami{}, fmt.Errorf("--server %q: must be an http:// or https:// URL", o.Server)
	}
	if strings.TrimSpace(o.Token) == "" {
		return v1.Whoami{}, errors.New("--token is empty")
	}
	server, token := strings.TrimRight(o.Server, "/"), strings.TrimSpace(o.Token)
	who, err := newClient(server, token, 15*time.Second).Whoami(cmd.Context())
	if err != nil {
		return v1.Whoami{}, fmt.Errorf("login: %w", err)
	}
	cfg, err := LoadClientConfig(o.ConfigPath)
	if err != nil {
		return v1.Whoami{}, err
	}
	if o.Gateway != "" {
		if g, err := url.Parse(o.Gateway); err != nil || (g.Scheme != "http" && g.Scheme != "https") || g.Host == "" {
			return v1.Whoami{}, fmt.Errorf("--gateway %q: must be an http:// or https:// URL", o.Gateway)
		}
	}
	cfg.Upsert(ClientContext{Name: contextName(o), Server: server, Token: token, Gateway: strings.TrimRight(o.Gateway, "/")})
	if err := cfg.Save(o.ConfigPath); err != nil {
		return v1.Whoami{}, fmt.Errorf("save config %s: %w", o.ConfigPath, err)
	}
	return who, nil
}
