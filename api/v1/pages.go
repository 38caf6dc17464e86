package v1

import (
	"net/url"
	"strings"
)

// Page names a dashboard page of one object: its stable URL, relative to
// the server, is PagePath(kind, tenant, name). The CLI and the SDK print
// these links; the dashboard's routes (web/src/pages/*/routes.ts) serve
// them, which a test of this package checks.
type Page string

// The objects that have a page of their own. The name is the object's
// name, or its id where the API addresses it by id (runs, experiments,
// pipeline runs).
const (
	PageTenant     Page = "/tenants/:tenant"
	PageJob        Page = "/tenants/:tenant/jobs/:name"
	PageNotebook   Page = "/tenants/:tenant/notebooks/:name"
	PageExperiment Page = "/tenants/:tenant/experiments/:experiment"
	PageRun        Page = "/tenants/:tenant/runs/:run"
	PageModel      Page = "/tenants/:tenant/models/:model"
	// PageModelVersion is a version with its lineage: the run, job or
	// pipeline step that made it and the steps upstream of it.
	PageModelVersion Page = "/tenants/:tenant/models/:model/versions/:version"
	PagePipeline     Page = "/tenants/:tenant/pipelines/:pipeline"
	PagePipelineRun  Page = "/tenants/:tenant/pipeline-runs/:run"
	PageDeployment   Page = "/tenants/:tenant/deployments/:name"
	PageTuning       Page = "/tenants/:tenant/tunings/:tuning"
)

// Pages lists every Page, for the check against the dashboard's routes.
var Pages = []Page{PageTenant, PageJob, PageNotebook, PageExperiment, PageRun, PageModel, PageModelVersion, PagePipeline, PagePipelineRun, PageDeployment, PageTuning}

// PagePath fills p's parameters in order (the tenant, then the object's
// name or id), each path-escaped; a parameter with no value is left out
// with the rest of the path, which then names the nearest page above it.
func PagePath(p Page, values ...string) string {
	var b strings.Builder
	i := 0
	for _, seg := range strings.Split(strings.TrimPrefix(string(p), "/"), "/") {
		if strings.HasPrefix(seg, ":") {
			if i >= len(values) || values[i] == "" {
				break
			}
			seg = url.PathEscape(values[i])
			i++
		}
		b.WriteString("/" + seg)
	}
	return b.String()
}

// PageURL is PagePath joined to the server's base URL.
func PageURL(server string, p Page, values ...string) string {
	return strings.TrimSuffix(server, "/") + PagePath(p, values...)
}
