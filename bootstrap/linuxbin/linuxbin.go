// Package linuxbin finds the Linux ferry executable that goes into the
// platform image. The platform image holds ferry itself, and its nodes run
// Linux on amd64 or arm64, while ferry may run on macOS, Windows or another
// architecture. Release archives (`make release`) therefore carry, beside
// the ferry executable, ferry-linux-amd64 and ferry-linux-arm64 of the same
// version and commit, with a manifest (carried.json) that names their
// SHA-256. For picks this executable when it is already linux/<arch>, else
// the carried build, checked against the manifest and its ELF header; a
// missing or mismatched build is an error saying which file to fetch.
package linuxbin

import (
	"crypto/sha256"
	"debug/elf"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sort"

	"github.com/ferry-ml/ferry/internal/version"
)

// Arches are the node architectures the platform image is built for.
var Arches = []string{"amd64", "arm64"}

// ManifestName is the manifest beside the executable.
const ManifestName = "carried.json"

// maxManifest bounds the manifest read.
const maxManifest = 64 << 10

// FileName is the carried build for arch.
func FileName(arch string) string { return "ferry-linux-" + arch }

// Manifest is carried.json: the version and commit every build in the
// archive was stamped with, and each carried build's file and digest.
type Manifest struct {
	Version string             `json:"version"`
	Commit  string             `json:"commit"`
	Builds  map[string]Carried `json:"builds"` // "linux/amd64" -> build
}

// Carried is one carried build.
type Carried struct {
	File   string `json:"file"`
	SHA256 string `json:"sha256"`
}

// Self is what this executable is: its path, platform, version and commit.
type Self struct {
	Path, OS, Arch, Version, Commit string
}

// This is the running executable.
func This() (Self, error) {
	exe, err := os.Executable()
	if err != nil {
		return Self{}, err
	}
	return Self{Path: exe, OS: runtime.GOOS, Arch: runtime.GOARCH, Version: version.Version, Commit: version.Commit}, nil
}

// For returns the path of a linux/arch ferry executable of self's version
// and commit.
func For(self Self, arch string) (string, error) {
	if !known(arch) {
		return "", fmt.Errorf("nodes of architecture %q: ferry's platform image exists for linux/amd64 and linux/arm64", arch)
	}
	if self.OS == "linux" && self.Arch == arch {
		return self.Path, nil
	}
	dir := filepath.Dir(self.Path)
	need := fmt.Sprintf("this ferry is %s/%s and the nodes are linux/%s, so the platform image needs %s beside it in %s (every release archive carries it, with %s)",
		self.OS, self.Arch, arch, FileName(arch), dir, ManifestName)
	m, err := ReadManifest(dir)
	if errors.Is(err, os.ErrNotExist) {
		return "", errors.New(need)
	}
	if err != nil {
		return "", err
	}
	if m.Version != self.Version || m.Commit != self.Commit {
		return "", fmt.Errorf("%s in %s is of ferry %s (commit %s), this ferry is %s (commit %s): unpack ferry and the builds it carries from one release archive",
			ManifestName, dir, m.Version, m.Commit, self.Version, self.Commit)
	}
	c, ok := m.Builds["linux/"+arch]
	if !ok {
		return "", fmt.Errorf("%s: %s lists no linux/%s build", need, ManifestName, arch)
	}
	path := filepath.Join(dir, filepath.Base(c.File))
	if err := check(path, arch, c.SHA256); err != nil {
		return "", fmt.Errorf("%w: unpack ferry and the builds it carries from one release archive", err)
	}
	return path, nil
}

// ReadManifest reads dir/carried.json.
func ReadManifest(dir string) (*Manifest, error) {
	f, err := os.Open(filepath.Join(dir, ManifestName))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxManifest+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxManifest {
		return nil, fmt.Errorf("%s: larger than %d bytes", f.Name(), maxManifest)
	}
	var m Manifest
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("%s: %w", f.Name(), err)
	}
	return &m, nil
}

// check verifies that path is a linux/arch ELF with the digest.
func check(path, arch, sum string) error {
	f, err := elf.Open(path)
	if err != nil {
		return fmt.Errorf("%s: not a Linux executable: %w", path, err)
	}
	machine := f.Machine
	f.Close()
	if want := map[string]elf.Machine{"amd64": elf.EM_X86_64, "arm64": elf.EM_AARCH64}[arch]; machine != want {
		return fmt.Errorf("%s is an ELF for %s, not linux/%s", path, machine, arch)
	}
	got, err := Digest(path)
	if err != nil {
		return err
	}
	if got != sum {
		return fmt.Errorf("%s has SHA-256 %s, %s says %s", path, got, ManifestName, sum)
	}
	return nil
}

// Digest is a file's SHA-256, hex.
func Digest(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// Carrying lists the platforms self can put in a platform image, each
// with the file it would use or why it cannot ("" path), sorted.
func Carrying(self Self) []Build {
	var out []Build
	for _, arch := range Arches {
		path, err := For(self, arch)
		b := Build{Platform: "linux/" + arch, Path: path}
		if err != nil {
			b.Problem = err.Error()
		}
		out = append(out, b)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Platform < out[j].Platform })
	return out
}

// Build is one platform the platform image can be made for.
type Build struct {
	Platform string `json:"platform"`
	Path     string `json:"path,omitempty"`
	Problem  string `json:"problem,omitempty"`
}

func known(arch string) bool {
	for _, a := range Arches {
		if a == arch {
			return true
		}
	}
	return false
}
