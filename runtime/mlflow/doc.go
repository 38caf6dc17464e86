// Package mlflow serves MLflow's REST API (tracking, model registry and the
// artifact proxy) per tenant at /mlflow/{tenant}/, over ferry's store and
// blob bucket, so that code written for MLflow works against ferry with
// MLFLOW_TRACKING_URI=<ferry>/mlflow/<tenant> and MLFLOW_TRACKING_TOKEN=<token>.
//
// The wire format is MLflow's (mlflow/protos/service.proto and
// model_registry.proto in their JSON mapping, snake_case), not ferry's
// contract: it lives here and nowhere else. Errors have MLflow's shape
// {"error_code": "...", "message": "..."} and status codes.
//
// Requests are authenticated (bearer token, or HTTP Basic with the token as
// password) before anything is read or written; viewers read, editors and
// owners write, and a caller with no role in the tenant gets 404 on every
// path. Run creation, experiment and registry changes write an audit row in
// the transaction of the change; metric points, params and tags are data
// and are not audited one by one.
package mlflow
