package cli

import (
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/ferry-ml/ferry/runtime/node/seed"
)

func newSeedCmd(g *globals) *cobra.Command {
	a := &seed.Agent{}
	cmd := &cobra.Command{
		Use:   "seed",
		Short: "Node agent: import the control plane's seed images into this node's containerd (runs as a DaemonSet)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			a.Log = g.logger()
			return a.Run(cmd.Context())
		},
	}
	cmd.Flags().StringVar(&a.Server, "server", "", "control-plane URL (required)")
	cmd.Flags().StringVar(&a.TokenFile, "token-file", "", "file holding the ferry-seed account's token (required)")
	cmd.Flags().StringVar(&a.Address, "containerd", "/run/containerd/containerd.sock", "containerd socket")
	cmd.Flags().StringVar(&a.Namespace, "namespace", "k8s.io", "containerd namespace the kubelet uses")
	cmd.Flags().StringVar(&a.Snapshotter, "snapshotter", "overlayfs", "snapshotter to unpack images with")
	cmd.Flags().DurationVar(&a.Interval, "interval", 30*time.Second, "how often to check for images to import")
	cmd.Flags().StringVar(&a.Node, "node", os.Getenv("NODE_NAME"), "this node's name, reported to the control plane (default $NODE_NAME)")
	cmd.Flags().StringVar(&a.Listen, "listen", ":8081", "address of /readyz (200 once every image is imported)")
	return cmd
}
