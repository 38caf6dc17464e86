package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/ferry-ml/ferry/bootstrap/airgap"
	"github.com/ferry-ml/ferry/bundle"

	"github.com/spf13/cobra"

	"github.com/ferry-ml/ferry/internal/progress"
	"github.com/ferry-ml/ferry/internal/version"
)

func newBundleCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "bundle", Short: "Air-gap bundles: one file with every image, the charts and the binary"}

	o := airgap.CreateOptions{}
	create := &cobra.Command{
		Use:   "create -o FILE",
		Short: "Write a bundle from the local container engine and this executable",
		Long: "Writes the node image, the platform image built from this executable, every pinned image of the charts\n" +
			"(embed/images.yaml; leave one out with --without NAME), any --image, the charts and the ferry binary, as an\n" +
			"OCI image layout inside one tar file, with a manifest of names, digests and sizes.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o.Version = version.Version
			p := progress.New(g.stderr)
			m, err := airgap.Create(cmd.Context(), o, p)
			if err != nil {
				return err
			}
			p.Printf("bundle %s: %d images, %d files, %s, in %s", o.Output, len(m.Images), len(m.Files), bundle.MiB(m.TotalSize()), p.Elapsed())
			return nil
		},
	}
	create.Flags().StringVarP(&o.Output, "output", "o", "", "bundle file to write (required; here -o names the file, not a format)")
	create.Flags().StringArrayVar(&o.Images, "image", nil, "also carry this image from the container engine (repeatable)")
	create.Flags().StringArrayVar(&o.Without, "without", nil, "leave out a pinned image by name, such as nvidia-device-plugin (repeatable)")
	create.Flags().StringVar(&o.NodeImage, "node-image", "", "node image to carry (default: ferry's node image)")
	_ = create.MarkFlagRequired("output")

	inspect := &cobra.Command{
		Use:   "inspect FILE",
		Short: "List a bundle's contents after verifying every digest",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			m, err := verifyBundle(g, args[0])
			if err != nil {
				return err
			}
			rows := [][]string{}
			for _, i := range m.Images {
				rows = append(rows, []string{"image", i.Role, i.Ref, short(i.Digest), bundle.MiB(i.Size), strconv.Itoa(i.Layers) + " layers"})
			}
			for _, f := range m.Files {
				rows = append(rows, []string{"file", f.Role, strings.TrimPrefix(f.Path, bundle.FilesDir), short(f.Digest), bundle.MiB(f.Size), ""})
			}
			for _, name := range m.Omitted {
				rows = append(rows, []string{"image", "omitted", name, "-", "-", "left out with --without"})
			}
			if err := g.print(m, []string{"KIND", "ROLE", "NAME", "DIGEST", "SIZE", ""}, rows); err != nil {
				return err
			}
			if g.output == "table" {
				var sum int64
				for _, i := range m.Images {
					sum += i.Size
				}
				fmt.Fprintf(g.stdout, "\nferry %s, created %s; %d blobs, %s stored for %s of images (layers shared)\n",
					m.FerryVersion, m.Created.Format(time.RFC3339), len(m.Blobs), bundle.MiB(m.TotalSize()), bundle.MiB(sum))
			}
			return nil
		},
	}
	verify := &cobra.Command{
		Use:   "verify FILE",
		Short: "Check every digest and size of a bundle; exit 1 on any mismatch",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			m, err := verifyBundle(g, args[0])
			if err != nil {
				return err
			}
			fmt.Fprintf(g.stdout, "bundle %s is intact: %d images, %d files, %d blobs\n", args[0], len(m.Images), len(m.Files), len(m.Blobs))
			return nil
		},
	}
	load := &cobra.Command{
		Use:   "load FILE",
		Short: "Verify a bundle and load every image it carries into the local container engine",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			p := progress.New(g.stderr)
			tmp, err := os.MkdirTemp("", "ferry-bundle-")
			if err != nil {
				return err
			}
			defer os.RemoveAll(tmp)
			start := time.Now()
			var d *bundle.Dir
			err = p.Step("verify and extract "+args[0], func() error {
				d, err = bundle.Extract(args[0], filepath.Join(tmp, "x"), readProgress(p, start))
				return err
			})
			if err != nil {
				return err
			}
			return p.Step(fmt.Sprintf("load %d image(s) into the container engine", len(d.Manifest.Images)), func() error {
				return airgap.LoadIntoEngine(d, cmd.Context(), "docker")
			})
		},
	}
	cmd.AddCommand(create, inspect, verify, load)
	return cmd
}

func verifyBundle(g *globals, file string) (*bundle.Manifest, error) {
	p := progress.New(g.stderr)
	var m *bundle.Manifest
	start := time.Now()
	err := p.Step("verify "+file, func() error {
		var err error
		m, err = bundle.Verify(file, readProgress(p, start))
		return err
	})
	return m, err
}

// readProgress reports bytes and rate every few seconds.
func readProgress(p *progress.Printer, start time.Time) func(int64) {
	last := time.Now()
	return func(n int64) {
		if time.Since(last) >= 5*time.Second {
			last = time.Now()
			p.Printf("  %s read, %s", bundle.MiB(n), bundle.Rate(n, time.Since(start)))
		}
	}
}

func short(digest string) string {
	if len(digest) > 19 {
		return digest[:19]
	}
	return digest
}
