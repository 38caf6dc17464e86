// Package python carries the Python SDK's source (python/ferry) into the
// Go binary, so the workload image can preinstall it.
package python

import "embed"

// SDK is the ferry package: ferry/*.py and its py.typed marker.
//
//go:embed ferry/*.py ferry/py.typed
var SDK embed.FS

// ServingRuntime is ferry's built-in scikit-learn serving runtime
// (serving/oip_server.py: the Open Inference Protocol v2 REST and v1
// :predict). The workload image build writes it at ServingRuntimePath
// (its sha256 is part of the image's tag), and a serving revision's one
// container runs it there with the image's python3: no init container, so
// a pod starting from zero starts one container.
//
//go:embed serving/oip_server.py
var ServingRuntime []byte

// ServingRuntimePath is where the workload image holds ServingRuntime.
const ServingRuntimePath = "/opt/ferry/serving/oip_server.py"
