package cli

import (
	"fmt"
	"net/url"
	"os/exec"
	"runtime"
	"strings"

	"github.com/spf13/cobra"
)

func newUICmd(g *globals) *cobra.Command {
	var noOpen bool
	var path string
	cmd := &cobra.Command{
		Use:   "ui",
		Short: "Open the web dashboard in a browser, logged in",
		Long: "Trades your token for a one-time login link (valid for a minute, once) and opens it; the server\n" +
			"answers it with a short-lived session cookie (HttpOnly, SameSite=Strict) and never sees your token in\n" +
			"a URL. --no-open only prints the link (for another machine's browser).",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			h, err := c.CreateUISession(cmd.Context())
			if err != nil {
				return err
			}
			link := strings.TrimSuffix(c.Server(), "/") + h.URL
			if path != "" {
				link += "&" + url.Values{"next": {path}}.Encode()
			}
			fmt.Fprintln(g.stdout, link)
			if noOpen {
				return nil
			}
			if err := openBrowser(link); err != nil {
				fmt.Fprintf(g.stderr, "could not start a browser (%v): open the link above within a minute\n", err)
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&noOpen, "no-open", false, "only print the login link")
	cmd.Flags().StringVar(&path, "path", "", "dashboard page to land on, e.g. /tenants/acme/jobs")
	return cmd
}

// openBrowser starts the desktop's browser on url without waiting for it.
func openBrowser(url string) error {
	name, args := "xdg-open", []string{url}
	switch runtime.GOOS {
	case "darwin":
		name = "open"
	case "windows":
		name, args = "rundll32", []string{"url.dll,FileProtocolHandler", url}
	}
	if _, err := exec.LookPath(name); err != nil {
		return err
	}
	return exec.Command(name, args...).Start()
}
