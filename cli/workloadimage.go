package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/ferry-ml/ferry/bootstrap/workloadimage"
)

func newWorkloadImageCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "workload-image", Short: "Build the workload image (Python, NumPy, scikit-learn, PyTorch, Jupyter) from Debian packages"}
	var o workloadimage.Options
	build := &cobra.Command{
		Use:   "build",
		Short: "Build (or reuse) the workload image and print its tag",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o.Out = g.stderr
			tag, err := workloadimage.Build(cmd.Context(), o)
			if err != nil {
				return err
			}
			fmt.Fprintln(g.stdout, tag)
			return nil
		},
	}
	build.Flags().StringVar(&o.Mirror, "mirror", "", "Debian mirror URL (default: from the apt sources)")
	build.Flags().StringVar(&o.CacheDir, "cache-dir", "", "build cache (default /var/cache/ferry/workload)")
	build.Flags().BoolVar(&o.Force, "force", false, "rebuild even if an image with the same inputs exists")
	tag := &cobra.Command{
		Use: "tag", Short: "Print the tag the current inputs give", Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error { fmt.Fprintln(g.stdout, workloadimage.Tag()); return nil },
	}
	cmd.AddCommand(build, tag)
	return cmd
}
