package cli

import (
	"time"

	"github.com/spf13/cobra"

	"github.com/ferry-ml/ferry/bootstrap/action"
)

func newUninstallCmd(g *globals) *cobra.Command {
	var t targetFlags
	cfg := new(action.Configuration)
	un := action.NewUninstall(cfg)
	cmd := &cobra.Command{
		Use:   "uninstall",
		Short: "Remove the platform from a cluster and leave nothing of ferry behind (releases, tenant namespaces, data)",
		Long: "Uninstalls the gpu and platform releases, then deletes every namespace ferry labelled (the tenants' and\n" +
			"ferry-system with the control plane's data volume), waits until they are gone, and removes the CLI login.\n" +
			"The data is lost: back it up first (ferry server backup inside the pod, or a copy of the volume).",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			t.configure(cfg, cmd, g)
			return un.Run(cmd.Context())
		},
	}
	t.add(cmd)
	cmd.Flags().DurationVar(&un.Timeout, "wait", 5*time.Minute, "how long to wait for each removal")
	return cmd
}
