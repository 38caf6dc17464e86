// Package version holds the build's version, stamped with -ldflags -X.
package version

import "runtime"

// Stamped at build time: -X github.com/ferry-ml/ferry/internal/version.Version=...
var (
	Version = "dev"
	Commit  = "unknown"
)

// Info is what `ferry version` prints.
type Info struct {
	Version   string `json:"version"`
	Commit    string `json:"commit"`
	GoVersion string `json:"goVersion"`
	Platform  string `json:"platform"`
}

// Get returns the build's version information.
func Get() Info {
	return Info{Version: Version, Commit: Commit, GoVersion: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH}
}
