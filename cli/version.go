package cli

import (
	"strings"

	"github.com/spf13/cobra"

	"github.com/ferry-ml/ferry/bootstrap/linuxbin"
	"github.com/ferry-ml/ferry/internal/version"
)

// versionInfo is what `ferry version` prints: the build, and the Linux
// builds the platform image can be made from (this executable, or those a
// release archive carries beside it).
type versionInfo struct {
	version.Info
	Carries []linuxbin.Build `json:"carries"`
}

func newVersionCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version, commit, Go version and the Linux builds the platform image can be made from",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			v := versionInfo{Info: version.Get()}
			if self, err := linuxbin.This(); err == nil {
				v.Carries = linuxbin.Carrying(self)
			}
			var carries []string
			for _, b := range v.Carries {
				if b.Problem == "" {
					carries = append(carries, b.Platform)
				}
			}
			if len(carries) == 0 {
				carries = []string{"none"}
			}
			return g.print(v, []string{"VERSION", "COMMIT", "GO", "PLATFORM", "PLATFORM IMAGE FOR"},
				[][]string{{v.Version, v.Commit, v.GoVersion, v.Platform, strings.Join(carries, ",")}})
		},
	}
}
