package cli

import (
	"github.com/spf13/cobra"

	"github.com/ferry-ml/ferry/internal/version"
)

func newVersionCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version, commit and Go version",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			v := version.Get()
			return g.print(v, []string{"VERSION", "COMMIT", "GO", "PLATFORM"}, [][]string{{v.Version, v.Commit, v.GoVersion, v.Platform}})
		},
	}
}
