package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/ferry-ml/ferry/bootstrap/nodeimage"
)

func newNodeImageCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "node-image", Short: "Build the kind node image from a Debian mirror and the Go module proxy"}
	var o nodeimage.Options
	build := &cobra.Command{
		Use:   "build",
		Short: "Build (or reuse) the node image for the pinned inputs and print its tag",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o.Out = g.stderr
			tag, err := nodeimage.Build(cmd.Context(), o)
			if err != nil {
				return err
			}
			fmt.Fprintln(g.stdout, tag)
			return nil
		},
	}
	build.Flags().StringVar(&o.Mirror, "mirror", "", "Debian mirror URL (default: from the apt sources)")
	build.Flags().StringVar(&o.CacheDir, "cache-dir", "", "build cache (default /var/cache/ferry/nodeimage)")
	build.Flags().BoolVar(&o.Force, "force", false, "rebuild even if an image with the same inputs exists")
	tag := &cobra.Command{
		Use: "tag", Short: "Print the tag the current inputs give", Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error { fmt.Fprintln(g.stdout, nodeimage.Tag()); return nil },
	}
	cmd.AddCommand(build, tag)
	return cmd
}
