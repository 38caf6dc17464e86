package v1

import "time"

const (
	// PathNotebookSession trades the caller's API token for a one-time
	// hand-over code that a browser redeems at the notebook proxy.
	PathNotebookSession = PathNotebook + "/session"
	// NotebookHandoverParam is the query parameter that carries the code.
	NotebookHandoverParam = "ferry_handover"
	// NotebookHandoverPrefix starts every hand-over code; NotebookSessionPrefix
	// every notebook session cookie. Neither is an API token.
	NotebookHandoverPrefix = "fnh_"
	NotebookSessionPrefix  = "fns_"
)

// NotebookHandover is a one-time code for one notebook: the proxy redeems
// it once, within a minute, for a session cookie scoped to the notebook's
// path. The URL carries only the code, never the API token.
type NotebookHandover struct {
	Tenant    string    `json:"tenant"`
	Name      string    `json:"name"`
	Code      string    `json:"code" doc:"one-time hand-over code (fnh_...)"`
	ExpiresAt time.Time `json:"expiresAt" doc:"the code is refused after this time"`
	// URL is the path (relative to the server) that redeems the code.
	URL string `json:"url" doc:"path to open in a browser, relative to the server"`
}
