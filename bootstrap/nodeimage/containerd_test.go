package nodeimage

import (
	"slices"
	"testing"

	"github.com/BurntSushi/toml"

	"github.com/ferry-ml/ferry/internal/cdi"
)

// TestTheNodesContainerdConfigIsV3WithCDIAndThePinnedImages reads the node's
// containerd config as containerd 2 does (TOML, schema 3) and checks what
// the rest of ferry relies on: CDI specs read from the directories ferry's
// plugin and `ferry up` use, the sandbox image the node image preloads,
// Debian's runc, the systemd cgroup driver and the clamp this VM needs.
func TestTheNodesContainerdConfigIsV3WithCDIAndThePinnedImages(t *testing.T) {
	t.Parallel()
	data, err := assets.ReadFile("assets/node/etc/containerd/config.toml")
	if err != nil {
		t.Fatal(err)
	}
	var cfg struct {
		Version int `toml:"version"`
		Plugins struct {
			Images struct {
				Snapshotter  string `toml:"snapshotter"`
				Discard      bool   `toml:"discard_unpacked_layers"`
				PinnedImages struct {
					Sandbox string `toml:"sandbox"`
				} `toml:"pinned_images"`
				Registry struct {
					ConfigPath string `toml:"config_path"`
				} `toml:"registry"`
			} `toml:"io.containerd.cri.v1.images"`
			Runtime struct {
				CDISpecDirs         []string `toml:"cdi_spec_dirs"`
				RestrictOOMScoreAdj bool     `toml:"restrict_oom_score_adj"`
				TolerateMissingHuge bool     `toml:"tolerate_missing_hugetlb_controller"`
				Containerd          struct {
					DefaultRuntimeName string `toml:"default_runtime_name"`
					Runtimes           map[string]struct {
						RuntimeType string `toml:"runtime_type"`
						Options     struct {
							SystemdCgroup bool   `toml:"SystemdCgroup"`
							BinaryName    string `toml:"BinaryName"`
						} `toml:"options"`
					} `toml:"runtimes"`
				} `toml:"containerd"`
				CNI struct {
					BinDirs []string `toml:"bin_dirs"`
					ConfDir string   `toml:"conf_dir"`
				} `toml:"cni"`
			} `toml:"io.containerd.cri.v1.runtime"`
		} `toml:"plugins"`
	}
	md, err := toml.Decode(string(data), &cfg)
	if err != nil {
		t.Fatal(err)
	}
	if u := md.Undecoded(); len(u) > 0 {
		t.Errorf("keys this test does not know (check them against containerd's docs/cri/config.md, then add them): %v", u)
	}
	img, rt := cfg.Plugins.Images, cfg.Plugins.Runtime
	if cfg.Version != 3 {
		t.Errorf("config version %d: containerd 2 reads schema 3", cfg.Version)
	}
	if !slices.Equal(rt.CDISpecDirs, cdi.Dirs) {
		t.Errorf("cdi_spec_dirs %v, want %v (where ferry up and the plugin put and read specs)", rt.CDISpecDirs, cdi.Dirs)
	}
	if img.PinnedImages.Sandbox != "registry.k8s.io/pause:"+pauseImageTag {
		t.Errorf("sandbox image %q is not the preloaded pause:%s", img.PinnedImages.Sandbox, pauseImageTag)
	}
	runc := rt.Containerd.Runtimes[rt.Containerd.DefaultRuntimeName]
	if runc.RuntimeType != "io.containerd.runc.v2" || runc.Options.BinaryName != "/usr/sbin/runc" || !runc.Options.SystemdCgroup {
		t.Errorf("default runtime %q: %+v, want Debian's runc through the runc v2 shim with the systemd cgroup driver", rt.Containerd.DefaultRuntimeName, runc)
	}
	if !rt.RestrictOOMScoreAdj || !rt.TolerateMissingHuge {
		t.Error("restrict_oom_score_adj and tolerate_missing_hugetlb_controller must stay on (NODE-IMAGE: this VM refuses negative oom_score_adj)")
	}
	if !slices.Equal(rt.CNI.BinDirs, []string{"/usr/lib/cni"}) || rt.CNI.ConfDir != "/etc/cni/net.d" || img.Registry.ConfigPath != "/etc/containerd/certs.d" || img.Snapshotter != "overlayfs" {
		t.Errorf("cni %+v, registry %q, snapshotter %q", rt.CNI, img.Registry.ConfigPath, img.Snapshotter)
	}
	if !slices.Contains(debPackages, "runc") || slices.Contains(debPackages, "containerd") {
		t.Error("the rootfs must bring Debian's runc and not Debian's containerd (1.6, no CDI)")
	}
}
