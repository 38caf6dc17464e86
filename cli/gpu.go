package cli

import (
	"github.com/spf13/cobra"

	"github.com/ferry-ml/ferry/runtime/node/gpu"
)

func newGPUCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "gpu", Short: "GPU helpers for nodes"}
	p := gpu.FakePlugin{}
	fake := &cobra.Command{
		Use:   "fake-plugin",
		Short: "Run a kubelet device plugin that advertises fake nvidia.com/gpu devices (for clusters without GPUs)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			p.Log = g.logger()
			return p.Start(cmd.Context())
		},
	}
	fake.Flags().IntVar(&p.Count, "count", 4, "devices to advertise on this node")
	fake.Flags().IntVar(&p.Replicas, "replicas", 1, "time-slicing: containers that share each device")
	fake.Flags().StringVar(&p.Resource, "resource", "nvidia.com/gpu", "extended resource name")
	fake.Flags().StringVar(&p.Dir, "dir", "/var/lib/kubelet/device-plugins", "the kubelet's device-plugin directory")
	cmd.AddCommand(fake)
	return cmd
}
