package cli

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"

	"github.com/spf13/cobra"
)

func newArtifactCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "artifact", Short: "A run's artifacts (content-addressed, digest-checked)", Aliases: []string{"artifacts"}}
	tenant := tenantFlag(cmd)
	ls := &cobra.Command{
		Use: "ls RUN_ID [DIR]", Short: "List a directory of a run's artifacts", Args: cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			t, c, err := tenantClient(g, tenant)
			if err != nil {
				return err
			}
			dir := ""
			if len(args) == 2 {
				dir = args[1]
			}
			l, err := c.ListRunArtifacts(cmd.Context(), t, args[0], dir)
			if err != nil {
				return err
			}
			rows := [][]string{}
			for _, a := range l.Items {
				size, digest := strconv.FormatInt(a.Size, 10), a.Digest
				if a.IsDir {
					size, digest = "-", "-"
				}
				rows = append(rows, []string{a.Path, size, digest})
			}
			return g.print(l, []string{"PATH", "SIZE", "SHA256"}, rows)
		},
	}
	var to string
	get := &cobra.Command{
		Use: "get RUN_ID PATH", Short: "Download an artifact file, checking its sha256", Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			t, c, err := tenantClient(g, tenant)
			if err != nil {
				return err
			}
			r, err := c.GetRun(cmd.Context(), t, args[0])
			if err != nil {
				return err
			}
			var w io.Writer = g.stdout
			var f *os.File
			if to != "" && to != "-" {
				// A new file next to the target, renamed once the digest checked.
				if f, err = os.CreateTemp(filepath.Dir(to), ".ferry-artifact-*"); err != nil {
					return err
				}
				defer os.Remove(f.Name())
				w = f
			}
			digest, err := c.DownloadArtifact(cmd.Context(), t, r.ExperimentID, r.ID, args[1], w)
			if f != nil {
				if cerr := f.Close(); err == nil {
					err = cerr
				}
			}
			if err != nil {
				return err
			}
			if f != nil {
				if err := os.Rename(f.Name(), to); err != nil {
					return err
				}
				fmt.Fprintf(g.stderr, "%s: sha256 %s\n", to, digest)
			}
			return nil
		},
	}
	get.Flags().StringVar(&to, "to", "-", "file to write (- for standard output)")
	cmd.AddCommand(ls, get)
	return cmd
}
