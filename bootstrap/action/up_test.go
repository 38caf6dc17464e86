package action

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/ferry-ml/ferry/bootstrap/platform"
	"github.com/ferry-ml/ferry/bundle"
	"github.com/ferry-ml/ferry/internal/progress"
)

func stepNames(steps []step) []string {
	var names []string
	for _, s := range steps {
		names = append(names, s.name)
	}
	return names
}

// duration is a duration as the printer writes it (0s, 100ms, 1m2.5s).
var duration = regexp.MustCompile(`\b[0-9][0-9.hmsµn]*s\b`)

// progressLines are the printer's lines, each duration written T.
func progressLines(out string) []string {
	return strings.Split(duration.ReplaceAllString(strings.TrimSpace(out), "T"), "\n")
}

func TestUpRunsItsStepsInOrderForLocalAndRemoteTargets(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name      string
		local     bool
		set       func(*Up)
		steps     []string
		calls     []string
		printed   []string // the progress lines, durations cut
		notPrints []string
	}{{
		name:  "local",
		local: true,
		steps: []string{"cluster", "platform", "login"},
		calls: []string{
			"cluster workers=2 bundle=false loadImages=true",
			"network context=fake",
			"install context=fake seed=false registry=0 gpu=auto",
			"login fake http://10.0.0.1:30080 tok",
		},
		printed: []string{"• log the CLI in as admin (context fake) ...", "✓ log the CLI in as admin (context fake) (T)", "ferry is up in T"},
	}, {
		name:  "local with a bundle: its images go into the nodes with the cluster",
		local: true,
		set:   func(u *Up) { u.Bundle = "b.tar" },
		steps: []string{"bundle", "cluster", "platform", "login"},
		calls: []string{
			"open bundle b.tar into x",
			"cluster workers=2 bundle=true loadImages=true",
			"network context=fake",
			"install context=fake seed=false registry=0 gpu=auto",
			"login fake http://10.0.0.1:30080 tok",
		},
		printed: []string{
			"• verify and extract bundle b.tar ...", "✓ verify and extract bundle b.tar (T)",
			"• log the CLI in as admin (context fake) ...", "✓ log the CLI in as admin (context fake) (T)", "ferry is up in T",
		},
	}, {
		name:  "local with a bundle and a registry: its images are pushed, not loaded",
		local: true,
		set:   func(u *Up) { u.Bundle, u.Registry = "b.tar", "reg.example/site" },
		steps: []string{"bundle", "cluster", "push", "platform", "login"},
		calls: []string{
			"open bundle b.tar into x",
			"cluster workers=2 bundle=true loadImages=false",
			"network context=fake",
			"push 1 to reg.example/site",
			"install context=fake seed=false registry=1 gpu=auto",
			"login fake http://10.0.0.1:30080 tok",
		},
	}, {
		name:  "local without the platform stops after the cluster",
		local: true,
		set:   func(u *Up) { u.Platform = false },
		steps: []string{"cluster"},
		calls: []string{"cluster workers=2 bundle=false loadImages=true", "network context=fake"},
		printed: []string{
			"cluster ready in T (platform not installed: --platform=false): kubectl --context fake get nodes",
		},
	}, {
		name:      "remote",
		set:       func(u *Up) { u.Workers, u.GPU = 0, "off" },
		steps:     []string{"cluster", "platform", "login"},
		calls:     []string{"cluster workers=0 bundle=false loadImages=true", "install context=fake seed=false registry=0 gpu=off", "login fake http://10.0.0.1:30080 tok"},
		notPrints: []string{"verify and extract", "push"},
	}, {
		name:  "remote with a bundle: its images go through the seed agents after the platform",
		set:   func(u *Up) { u.Bundle = "b.tar" },
		steps: []string{"bundle", "cluster", "platform", "seed", "login"},
		calls: []string{
			"open bundle b.tar into x",
			"cluster workers=2 bundle=true loadImages=true",
			"install context=fake seed=true registry=0 gpu=auto",
			"seed 1 image(s) via http://10.0.0.1:30080",
			"login fake http://10.0.0.1:30080 tok",
		},
	}, {
		name:  "remote with a bundle and a registry: pushed, no seed agents",
		set:   func(u *Up) { u.Bundle, u.Registry = "b.tar", "reg.example/site" },
		steps: []string{"bundle", "cluster", "push", "platform", "login"},
		calls: []string{
			"open bundle b.tar into x",
			"cluster workers=2 bundle=true loadImages=false",
			"push 1 to reg.example/site",
			"install context=fake seed=false registry=1 gpu=auto",
			"login fake http://10.0.0.1:30080 tok",
		},
		printed: []string{
			"• verify and extract bundle b.tar ...", "✓ verify and extract bundle b.tar (T)",
			"• push 1 image(s) to reg.example/site ...", "✓ push 1 image(s) to reg.example/site (T)",
			"• log the CLI in as admin (context fake) ...", "✓ log the CLI in as admin (context fake) (T)", "ferry is up in T",
		},
	}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var c calls
			var out bytes.Buffer
			up := NewUp(fakeConfig(tc.local, &c, &out))
			up.Workers = 2
			if tc.set != nil {
				tc.set(up)
			}
			if err := up.Validate(); err != nil {
				t.Fatal(err)
			}
			if got := stepNames(up.newRun().steps()); !slices.Equal(got, tc.steps) {
				t.Errorf("steps %q, want %q", got, tc.steps)
			}
			res, err := up.Run(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(c, tc.calls) {
				t.Errorf("calls:\n  %s\nwant:\n  %s", strings.Join(c, "\n  "), strings.Join(tc.calls, "\n  "))
			}
			if lines := progressLines(out.String()); tc.printed != nil && !slices.Equal(lines, tc.printed) {
				t.Errorf("printed:\n  %s\nwant:\n  %s", strings.Join(lines, "\n  "), strings.Join(tc.printed, "\n  "))
			}
			for _, s := range tc.notPrints {
				if strings.Contains(out.String(), s) {
					t.Errorf("printed %q:\n%s", s, out.String())
				}
			}
			if up.Platform && (res.Platform == nil || res.Platform.Token != "tok") {
				t.Errorf("result %+v: want the platform's URL and token", res)
			}
			if !up.Platform && res.Platform != nil {
				t.Errorf("result %+v without the platform", res)
			}
		})
	}
}

func TestUpStopsAtTheFirstFailedStepAndRemovesTheExtractedBundle(t *testing.T) {
	t.Parallel()
	var c calls
	var out bytes.Buffer
	cfg := fakeConfig(false, &c, &out)
	var dir string
	open := cfg.ops.openBundle
	cfg.ops.openBundle = func(p *progress.Printer, file, d string) (*bundle.Dir, error) {
		dir = filepath.Dir(d)
		return open(p, file, d)
	}
	cfg.ops.install = func(context.Context, platform.Options, *progress.Printer) (platform.Result, error) {
		c.add("install")
		return platform.Result{}, errFake
	}
	up := NewUp(cfg)
	up.Bundle = "b.tar"
	_, err := up.Run(context.Background())
	if !errors.Is(err, errFake) || err.Error() != errFake.Error() {
		t.Fatalf("Run: %v; want the install error as it is", err)
	}
	want := []string{"open bundle b.tar into x", "cluster workers=0 bundle=true loadImages=true", "install"}
	if !slices.Equal(c, want) {
		t.Errorf("calls %q, want %q (nothing after the failed step)", c, want)
	}
	if dir == "" {
		t.Fatal("the bundle was not opened")
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("extraction directory %s left behind: %v", dir, err)
	}
	if strings.Contains(out.String(), "ferry is up") {
		t.Errorf("printed success after a failure:\n%s", out.String())
	}
}

func TestUpTitledStepFailureIsReportedUnderItsTitle(t *testing.T) {
	t.Parallel()
	var c calls
	var out bytes.Buffer
	cfg := fakeConfig(true, &c, &out)
	cfg.ops.push = func(context.Context, *bundle.Dir, string, ...bundle.ImageInfo) ([]bundle.Pushed, error) {
		return nil, errFake
	}
	up := NewUp(cfg)
	up.Bundle, up.Registry = "b.tar", "reg.example"
	_, err := up.Run(context.Background())
	if want := "push 1 image(s) to reg.example: fake failure"; err == nil || err.Error() != want {
		t.Fatalf("Run: %v; want %q", err, want)
	}
	if !strings.Contains(out.String(), "✗ push 1 image(s) to reg.example failed after") {
		t.Errorf("no failure line:\n%s", out.String())
	}
}

func TestUpWithoutLoginsDoesNotLogIn(t *testing.T) {
	t.Parallel()
	var c calls
	var out bytes.Buffer
	cfg := fakeConfig(false, &c, &out)
	cfg.Logins = nil
	res, err := NewUp(cfg).Run(context.Background())
	if err != nil || res.Platform == nil {
		t.Fatalf("Run: %v, %+v", err, res)
	}
	if slices.ContainsFunc(c, func(s string) bool { return strings.HasPrefix(s, "login") }) {
		t.Errorf("logged in without Logins: %q", c)
	}
}

func TestUpDryRunReturnsTheClusterConfigurationAndTouchesNothing(t *testing.T) {
	t.Parallel()
	var c calls
	var out bytes.Buffer
	up := NewUp(fakeConfig(true, &c, &out))
	up.DryRun, up.Workers = true, 3
	// A dry run ignores what only matters to a real run, as it always did.
	up.Bundle, up.LocalFlags = "b.tar", []string{"node-image"}
	res, err := up.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if string(res.ClusterConfig) != "workers: 3\n" || res.Platform != nil {
		t.Errorf("result %+v", res)
	}
	if len(c) != 0 || out.Len() != 0 {
		t.Errorf("a dry run did %q and printed %q", c, out.String())
	}
}

func TestUpValidateRefusesSettingsThatDoNotGoTogether(t *testing.T) {
	t.Parallel()
	local, remote := Local{Name: "never-created"}, Remote{Kubeconfig: "/nonexistent"}
	cases := []struct {
		name   string
		target Target
		set    func(*Up)
		want   string // "" for valid
	}{
		{"unknown gpu mode", local, func(u *Up) { u.GPU = "sometimes" }, `--gpu "sometimes": want off, auto, nvidia, fake or fake:N`},
		{"fake gpu count", local, func(u *Up) { u.GPU = "fake:0" }, `--gpu "fake:0": the fake GPU count must be a number from 1 to 128`},
		{"registry without bundle", local, func(u *Up) { u.Registry = "reg" }, "--registry needs --bundle: it pushes the bundle's images to that registry"},
		{"negative workers", local, func(u *Up) { u.Workers = -1 }, "--workers -1: must be 0 or more"},
		{"negative workers in a dry run", local, func(u *Up) { u.Workers, u.DryRun = -1, true }, "--workers -1: must be 0 or more"},
		{"local flags on a remote target", remote, func(u *Up) { u.LocalFlags = []string{"workers"} },
			"--name, --workers and --node-image shape a local cluster; they do not go with --kubeconfig/--context"},
		{"node image with a bundle", local, func(u *Up) { u.Bundle, u.LocalFlags = "b.tar", []string{"name", "node-image"} },
			"--node-image does not go with --bundle: the bundle carries the node image"},
		{"remote bundle without the platform", remote, func(u *Up) { u.Bundle, u.Platform = "b.tar", false },
			"--bundle on a remote cluster goes through the platform (seed agents or --registry): it needs --platform"},
		{"local bundle without the platform", local, func(u *Up) { u.Bundle, u.Platform = "b.tar", false }, ""},
		{"local flags on a local target", local, func(u *Up) { u.LocalFlags = []string{"name", "workers", "node-image"} }, ""},
		{"remote bundle through a registry", remote, func(u *Up) { u.Bundle, u.Registry = "b.tar", "reg" }, ""},
		{"fake gpus", remote, func(u *Up) { u.GPU = "fake:4" }, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			up := NewUp(&Configuration{Target: tc.target})
			tc.set(up)
			err := up.Validate()
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("Validate: %v; want none", err)
			case tc.want != "" && (err == nil || err.Error() != tc.want):
				t.Errorf("Validate: %v; want %q", err, tc.want)
			}
		})
	}
}

func TestUpRunValidatesBeforeAnyStep(t *testing.T) {
	t.Parallel()
	var c calls
	var out bytes.Buffer
	up := NewUp(fakeConfig(true, &c, &out))
	up.Registry = "reg"
	if _, err := up.Run(context.Background()); err == nil {
		t.Fatal("Run accepted --registry without --bundle")
	}
	if len(c) != 0 || out.Len() != 0 {
		t.Errorf("an invalid Up did %q and printed %q", c, out.String())
	}
}

func TestARemoteTargetRefusesADryRun(t *testing.T) {
	t.Parallel()
	up := NewUp(&Configuration{Target: Remote{Context: "prod"}})
	up.DryRun = true
	if _, err := up.Run(context.Background()); err == nil || !strings.Contains(err.Error(), "--dry-run prints a local cluster's kind configuration") {
		t.Fatalf("Run: %v", err)
	}
}

func TestTargetsNameTheirContexts(t *testing.T) {
	t.Parallel()
	if got := (Local{Name: "dev"}).Platform(); got.Context != "kind-dev" || got.KindCluster != "dev" || got.Kubeconfig == "" {
		t.Errorf("local platform target %+v", got)
	}
	if got := (Local{Name: "dev"}).ContextName(); got != "kind-dev" {
		t.Errorf("local context %q", got)
	}
	if got := (Remote{Kubeconfig: "/k", Context: "prod"}).Platform(); got.Context != "prod" || got.Kubeconfig != "/k" || got.KindCluster != "" {
		t.Errorf("remote platform target %+v", got)
	}
	kc := filepath.Join(t.TempDir(), "config")
	if err := os.WriteFile(kc, []byte("apiVersion: v1\nkind: Config\ncurrent-context: staging\ncontexts:\n- name: staging\n  context: {cluster: c, user: u}\nclusters:\n- name: c\n  cluster: {server: https://127.0.0.1:1}\nusers:\n- name: u\n  user: {}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if got := (Remote{Kubeconfig: kc}).ContextName(); got != "staging" {
		t.Errorf("remote without a context: %q, want the kubeconfig's current one", got)
	}
}
