package airgap

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ferry-ml/ferry/bootstrap/workloadimage"
	"github.com/ferry-ml/ferry/embed"
)

// fakeDocker answers `docker image inspect` for the refs given (with their
// repo digests) and fails for any other.
func fakeDocker(t *testing.T, present map[string]string) string {
	t.Helper()
	var b strings.Builder
	b.WriteString("#!/bin/sh\nref=\"$5\"\ncase \"$ref\" in\n")
	for ref, digests := range present {
		b.WriteString("  '" + ref + "') echo '" + digests + "'; exit 0;;\n")
	}
	b.WriteString("esac\necho \"no such image: $ref\" >&2\nexit 1\n")
	path := filepath.Join(t.TempDir(), "docker")
	if err := os.WriteFile(path, []byte(b.String()), 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestPlanIncludesTheWorkloadImageAndNamesWhatIsMissing(t *testing.T) {
	pinned, err := embed.Images()
	if err != nil {
		t.Fatal(err)
	}
	present := map[string]string{"ferry/node:x": "", workloadimage.Tag(): ""}
	for _, img := range pinned {
		if img.Source == embed.SourceRegistry {
			present[img.Repository+":"+img.Tag] = img.Repository + "@" + img.Digest
		}
	}
	o := CreateOptions{NodeImage: "ferry/node:x", Docker: fakeDocker(t, present)}
	plan, err := planImages(t.Context(), o)
	if err != nil {
		t.Fatal(err)
	}
	var refs []string
	for _, p := range plan {
		refs = append(refs, p.ref)
	}
	if !strings.Contains(strings.Join(refs, " "), workloadimage.Tag()) {
		t.Errorf("the plan leaves out the workload image: %v", refs)
	}
	delete(present, workloadimage.Tag())
	o.Docker = fakeDocker(t, present)
	if _, err := planImages(t.Context(), o); err == nil || !strings.Contains(err.Error(), workloadimage.Tag()) || !strings.Contains(err.Error(), "ferry workload-image build") {
		t.Errorf("a missing workload image: %v", err)
	}
	o.Without = []string{"workload"}
	if _, err := planImages(t.Context(), o); err != nil {
		t.Errorf("--without workload: %v", err)
	}
}
