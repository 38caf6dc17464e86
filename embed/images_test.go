package embed_test

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/ferry-ml/ferry/charts"
	"github.com/ferry-ml/ferry/embed"
)

var imageLine = regexp.MustCompile(`(?m)^\s*(?:-\s*)?image:\s*"?([^"\s]+)"?\s*$`)

// split parses repository[:tag][@digest].
func split(ref string) (repo, tag, digest string) {
	repo, digest, _ = strings.Cut(ref, "@")
	if i := strings.LastIndex(repo, ":"); i > strings.LastIndex(repo, "/") {
		repo, tag = repo[:i], repo[i+1:]
	}
	return repo, tag, digest
}

// used renders every chart in each of its modes, and reads the node image's
// manifests: user → image references.
func used(t *testing.T) map[string][]string {
	t.Helper()
	variants := map[string][]map[string]any{
		"platform": {nil, {"service": map[string]any{"type": "NodePort"}, "seed": map[string]any{"enabled": true}}},
		"gpu":      {nil, {"timeSlicing": map[string]any{"replicas": 4}}, {"mode": "fake"}},
		"network":  {nil},
	}
	if len(variants) != len(charts.Names()) {
		t.Fatalf("charts %v: every chart needs its variants here", charts.Names())
	}
	out := map[string][]string{}
	for name, vals := range variants {
		for _, v := range vals {
			y, err := charts.Render(name, "ferry", "ferry-system", v)
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range imageLine.FindAllStringSubmatch(y, -1) {
				out["chart/"+name] = append(out["chart/"+name], m[1])
			}
		}
	}
	b, err := os.ReadFile("../bootstrap/nodeimage/assets/default-storage.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range imageLine.FindAllStringSubmatch(string(b), -1) {
		out["node-image/default-storage"] = append(out["node-image/default-storage"], m[1])
	}
	return out
}

func TestEveryImageUsedIsListedAndPinned(t *testing.T) {
	images, err := embed.Images()
	if err != nil {
		t.Fatal(err)
	}
	users := used(t)
	for user, refs := range users {
		if len(refs) == 0 {
			t.Errorf("%s uses no image: the regexp or the chart is wrong", user)
		}
		for _, ref := range refs {
			repo, tag, digest := split(ref)
			img, ok := embed.ByRepository(images, repo)
			if !ok {
				t.Errorf("%s uses %s, which embed/images.yaml does not list", user, ref)
				continue
			}
			if !slices.Contains(img.UsedBy, user) {
				t.Errorf("%s uses %s but the list says it is used by %v", user, ref, img.UsedBy)
			}
			if img.Source == embed.SourceSelf {
				continue // its tag and digest follow the binary
			}
			if tag != img.Tag || digest != img.Digest {
				t.Errorf("%s uses %s; the list pins %s", user, ref, img.Ref())
			}
		}
	}
	for _, img := range images {
		if img.Source == embed.SourceWorkload {
			// Named by users' jobs and notebooks, not by a chart.
			if !slices.Equal(img.UsedBy, []string{"jobs", "notebooks"}) {
				t.Errorf("the workload image is used by %v, want jobs and notebooks", img.UsedBy)
			}
			continue
		}
		for _, user := range img.UsedBy {
			found := false
			for _, ref := range users[user] {
				if repo, _, _ := split(ref); repo == img.Repository {
					found = true
				}
			}
			if !found {
				t.Errorf("the list says %s uses %s, but it does not", user, img.Name)
			}
		}
	}
}

func TestRegistryImagesArePinnedByDigest(t *testing.T) {
	images, err := embed.Images()
	if err != nil {
		t.Fatal(err)
	}
	for _, img := range images {
		if img.Source == embed.SourceRegistry && !strings.Contains(img.Ref(), "@sha256:") {
			t.Errorf("%s: %s is not pinned", img.Name, img.Ref())
		}
	}
}

func TestSplitReference(t *testing.T) {
	cases := map[string][3]string{
		"ferry.local/busybox:1":             {"ferry.local/busybox", "1", ""},
		"localhost:5000/a/b":                {"localhost:5000/a/b", "", ""},
		"localhost:5000/a/b:v2@sha256:00ff": {"localhost:5000/a/b", "v2", "sha256:00ff"},
	}
	for in, want := range cases {
		if r, tg, d := split(in); [3]string{r, tg, d} != want {
			t.Errorf("split(%q) = %q %q %q", in, r, tg, d)
		}
	}
}
