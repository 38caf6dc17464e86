package mlflow

import "net/http"

const api = "/api/2.0/mlflow"

// routes maps MLflow's REST paths (service.proto, model_registry.proto) to handlers.
var routes = map[string]endpoint{
	api + "/experiments/create":             post((*Handler).createExperiment),
	api + "/experiments/get":                get((*Handler).getExperiment),
	api + "/experiments/get-by-name":        get((*Handler).getExperimentByName),
	api + "/experiments/search":             {methods: []string{http.MethodGet, http.MethodPost}, fn: (*Handler).searchExperiments},
	api + "/experiments/update":             post((*Handler).updateExperiment),
	api + "/experiments/delete":             post((*Handler).deleteExperiment),
	api + "/experiments/restore":            post((*Handler).restoreExperiment),
	api + "/experiments/set-experiment-tag": post((*Handler).setExperimentTag),

	api + "/runs/create":         post((*Handler).createRun),
	api + "/runs/get":            get((*Handler).getRun),
	api + "/runs/update":         runOnly(post((*Handler).updateRun)),
	api + "/runs/delete":         post((*Handler).deleteRun),
	api + "/runs/restore":        post((*Handler).restoreRun),
	api + "/runs/search":         {methods: []string{http.MethodPost, http.MethodGet}, fn: (*Handler).searchRuns},
	api + "/runs/log-metric":     runOnly(post((*Handler).logMetric)),
	api + "/runs/log-parameter":  runOnly(post((*Handler).logParam)),
	api + "/runs/set-tag":        runOnly(post((*Handler).setTag)),
	api + "/runs/delete-tag":     runOnly(post((*Handler).deleteTag)),
	api + "/runs/log-batch":      runOnly(post((*Handler).logBatch)),
	api + "/runs/outputs":        runOnly(post((*Handler).logOutputs)),
	api + "/metrics/get-history": get((*Handler).metricHistory),
	api + "/artifacts/list":      get((*Handler).listRunArtifacts),

	api + "/registered-models/create":              runOnly(post((*Handler).createModel)),
	api + "/registered-models/get":                 get((*Handler).getModel),
	api + "/registered-models/search":              get((*Handler).searchModels),
	api + "/registered-models/rename":              post((*Handler).renameModel),
	api + "/registered-models/update":              {methods: []string{http.MethodPatch}, write: true, fn: (*Handler).updateModel},
	api + "/registered-models/delete":              {methods: []string{http.MethodDelete}, write: true, fn: (*Handler).deleteModel},
	api + "/registered-models/get-latest-versions": {methods: []string{http.MethodPost, http.MethodGet}, fn: (*Handler).latestVersions},
	api + "/registered-models/set-tag":             post((*Handler).setModelTag),
	api + "/registered-models/delete-tag":          {methods: []string{http.MethodDelete}, write: true, fn: (*Handler).deleteModelTag},
	api + "/registered-models/alias":               {methods: []string{http.MethodGet, http.MethodPost, http.MethodDelete}, fn: (*Handler).alias},

	api + "/model-versions/create":           runOnly(post((*Handler).createVersion)),
	api + "/model-versions/get":              get((*Handler).getVersion),
	api + "/model-versions/search":           get((*Handler).searchVersions),
	api + "/model-versions/update":           {methods: []string{http.MethodPatch}, write: true, fn: (*Handler).updateVersion},
	api + "/model-versions/delete":           {methods: []string{http.MethodDelete}, write: true, fn: (*Handler).deleteVersion},
	api + "/model-versions/get-download-uri": get((*Handler).downloadURI),
	api + "/model-versions/set-tag":          post((*Handler).setVersionTag),
	api + "/model-versions/delete-tag":       {methods: []string{http.MethodDelete}, write: true, fn: (*Handler).deleteVersionTag},
}

// route finds the endpoint of a path (already without a trailing slash and
// with /ajax-api/ as /api/) for a method: the fixed paths above, then the
// logged-models paths, which carry the model id.
func route(path, method string) (endpoint, bool) {
	if ep, ok := routes[path]; ok {
		return ep, true
	}
	return loggedModelRoute(path, method)
}
