// Package python carries the Python SDK's source (python/ferry) into the
// Go binary, so the workload image can preinstall it.
package python

import "embed"

// SDK is the ferry package: ferry/*.py and its py.typed marker.
//
//go:embed ferry/*.py ferry/py.typed
var SDK embed.FS
