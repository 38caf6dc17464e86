package v1

// Paths of a run's metric series and artifacts, and of registry changes.
const (
	PathRunMetric    = PathRun + "/metrics/{key}"
	PathRunArtifacts = PathRun + "/artifacts"
	PathModelAlias   = PathModel + "/aliases/{alias}"
)

// MLflowArtifactPath is where an artifact of a run is downloaded (and
// uploaded) through the MLflow artifact proxy.
func MLflowArtifactPath(tenant, experimentID, run, path string) string {
	return MLflowPrefix + tenant + "/api/2.0/mlflow-artifacts/artifacts/" + experimentID + "/" + run + "/artifacts/" + path
}

// Artifact is one entry of a run's artifact tree.
type Artifact struct {
	Path   string `json:"path"`
	IsDir  bool   `json:"isDir,omitempty"`
	Size   int64  `json:"size,omitempty"`
	Digest string `json:"digest,omitempty" doc:"sha256 (hex) of a file's content"`
}

// ModelVersionCreate registers a run's artifact directory as a new version.
type ModelVersionCreate struct {
	RunID       string `json:"runId" maxLength:"32" doc:"the run whose artifacts hold the model"`
	Path        string `json:"path,omitempty" maxLength:"1024" doc:"the model's directory in the run's artifacts (default: model)"`
	Description string `json:"description,omitempty" maxLength:"5000"`
}

// ModelAliasPut points an alias (e.g. champion) at a version.
type ModelAliasPut struct {
	Version int64 `json:"version" minimum:"1"`
}
