package cli

import (
	"errors"

	"github.com/spf13/cobra"

	"github.com/ferry-ml/ferry/runtime/node/gpu"
)

func newGPUCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "gpu", Short: "GPU helpers for nodes"}
	p := gpu.Plugin{}
	plugin := &cobra.Command{
		Use:     "device-plugin",
		Aliases: []string{"fake-plugin"},
		Short:   "Run ferry's kubelet device plugin for nvidia.com/gpu: the devices of a CDI kind in the node's CDI specs (--cdi-kind), or N synthetic ones (--count)",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if p.CDIKind != "" && cmd.Flags().Changed("count") {
				return errors.New("--count and --cdi-kind do not go together: with --cdi-kind the devices are those the CDI specs describe")
			}
			p.Log = g.logger()
			return p.Start(cmd.Context())
		},
	}
	plugin.Flags().IntVar(&p.Count, "count", 4, "synthetic devices to advertise on this node (without --cdi-kind)")
	plugin.Flags().StringVar(&p.CDIKind, "cdi-kind", "", "advertise the devices of this CDI kind (vendor/class, e.g. nvidia.com/gpu) in the specs under --spec-dir, allocated as CDI devices")
	plugin.Flags().StringSliceVar(&p.SpecDirs, "spec-dir", nil, "CDI spec directory, lowest priority first (repeatable; default /etc/cdi and /var/run/cdi)")
	plugin.Flags().IntVar(&p.Replicas, "replicas", 1, "time-slicing: containers that share each device")
	plugin.Flags().StringVar(&p.Resource, "resource", "nvidia.com/gpu", "extended resource name")
	plugin.Flags().StringVar(&p.Dir, "dir", "/var/lib/kubelet/device-plugins", "the kubelet's device-plugin directory")
	cmd.AddCommand(plugin)
	return cmd
}
