package v1

import "time"

// Bounds of a notebook's workspace volume.
const (
	MinWorkspace = "1Mi"
	MaxWorkspace = "16Ti"
)

// NotebookState says whether a notebook's pod runs.
type NotebookState string

// Notebook states: a stopped notebook keeps its workspace.
const (
	NotebookRunning NotebookState = "running"
	NotebookStopped NotebookState = "stopped"
)

// NotebookCreate is the body of a notebook's creation. Omitted fields get
// the server's defaults (cpu 1, memory 2Gi, gpu 0, workspace 1Gi).
type NotebookCreate struct {
	Name      string    `json:"name" maxLength:"50" doc:"DNS-1123 label, unique in the tenant"`
	Image     string    `json:"image" maxLength:"512" doc:"image with Jupyter (python3 -m notebook)" example:"ferry.local/workload:1"`
	Resources Resources `json:"resources,omitempty"`
	Workspace string    `json:"workspace,omitempty" maxLength:"32" doc:"workspace volume size (default 1Gi, 1Mi to 16Ti), kept while the notebook is stopped"`
}

// Notebook is a tenant's Jupyter server.
type Notebook struct {
	Tenant       string        `json:"tenant"`
	Name         string        `json:"name"`
	Image        string        `json:"image"`
	Resources    Resources     `json:"resources"`
	Workspace    string        `json:"workspace"`
	State        NotebookState `json:"state"`
	Reason       string        `json:"reason,omitempty"`
	LastActivity time.Time     `json:"lastActivity"`
	CreatedBy    string        `json:"createdBy"`
	CreatedAt    time.Time     `json:"createdAt"`
	UpdatedAt    time.Time     `json:"updatedAt"`
	// URL is the notebook's path behind the authenticated proxy.
	URL string `json:"url"`
}

// NotebookPath is a notebook's base path behind the proxy.
func NotebookPath(tenant, name string) string {
	return NotebookProxyPrefix + tenant + "/notebooks/" + name + "/"
}

// Environment variables ferry sets in a notebook's pod (with EnvTrackingURI
// and EnvTrackingToken), so that ferry.Client() and MLflow clients work there
// without arguments: as the notebook's creator, within its tenant only.
// EnvGateway is the serving gateway's in-cluster URL (client.infer's
// default), set when the server knows it.
const (
	EnvServer   = "FERRY_SERVER"
	EnvToken    = "FERRY_TOKEN"
	EnvTenant   = "FERRY_TENANT"
	EnvNotebook = "FERRY_NOTEBOOK"
	EnvGateway  = "FERRY_GATEWAY"
)
