// Package api is ferry's control-plane HTTP API: REST/JSON under /api/v1 with
// an OpenAPI 3.1 document generated from the Go types (huma v2 on chi),
// bearer-token authentication, per-tenant roles, RFC 9457 problem+json errors
// and an audit row, in the same transaction as the change, for every mutating
// request.
package api
