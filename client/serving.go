package client

import (
	"context"
	"net/http"

	v1 "github.com/ferry-ml/ferry/api/v1"
)

// CreateDeployment serves a registered model version.
func (c *Client) CreateDeployment(ctx context.Context, tenant string, in v1.DeploymentCreate) (v1.Deployment, error) {
	var out v1.Deployment
	return out, c.do(ctx, http.MethodPost, Path(v1.PathDeployments, tenant), nil, in, &out)
}

// ListDeployments is one page of a tenant's deployments.
func (c *Client) ListDeployments(ctx context.Context, tenant string, o v1.ListOptions) (v1.List[v1.Deployment], error) {
	var out v1.List[v1.Deployment]
	return out, c.do(ctx, http.MethodGet, Path(v1.PathDeployments, tenant), listQuery(o), nil, &out)
}

// GetDeployment reads a deployment with its revisions, measurements and decisions.
func (c *Client) GetDeployment(ctx context.Context, tenant, name string) (v1.Deployment, error) {
	var out v1.Deployment
	return out, c.do(ctx, http.MethodGet, Path(v1.PathDeployment, tenant, name), nil, nil, &out)
}

// UpdateDeployment changes a deployment; a new model version becomes the canary.
func (c *Client) UpdateDeployment(ctx context.Context, tenant, name string, in v1.DeploymentUpdate) (v1.Deployment, error) {
	var out v1.Deployment
	return out, c.do(ctx, http.MethodPatch, Path(v1.PathDeployment, tenant, name), nil, in, &out)
}

// PromoteDeployment makes the canary stable.
func (c *Client) PromoteDeployment(ctx context.Context, tenant, name string) (v1.Deployment, error) {
	var out v1.Deployment
	return out, c.do(ctx, http.MethodPost, Path(v1.PathDeploymentPromote, tenant, name), nil, nil, &out)
}

// RollbackDeployment rolls the canary back (or returns to the previous stable revision).
func (c *Client) RollbackDeployment(ctx context.Context, tenant, name string) (v1.Deployment, error) {
	var out v1.Deployment
	return out, c.do(ctx, http.MethodPost, Path(v1.PathDeploymentRollback, tenant, name), nil, nil, &out)
}

// DeleteDeployment deletes a deployment.
func (c *Client) DeleteDeployment(ctx context.Context, tenant, name string) error {
	return c.do(ctx, http.MethodDelete, Path(v1.PathDeployment, tenant, name), nil, nil, nil)
}

// CreateDeploymentKey makes a deployment-scoped API key (its Secret is in this answer only).
func (c *Client) CreateDeploymentKey(ctx context.Context, tenant, name string, in v1.APIKeyCreate) (v1.APIKey, error) {
	var out v1.APIKey
	return out, c.do(ctx, http.MethodPost, Path(v1.PathDeploymentKeys, tenant, name), nil, in, &out)
}

// ListDeploymentKeys lists a deployment's keys without secrets.
func (c *Client) ListDeploymentKeys(ctx context.Context, tenant, name string) (v1.List[v1.APIKey], error) {
	var out v1.List[v1.APIKey]
	return out, c.do(ctx, http.MethodGet, Path(v1.PathDeploymentKeys, tenant, name), nil, nil, &out)
}

// DeleteDeploymentKey revokes a key.
func (c *Client) DeleteDeploymentKey(ctx context.Context, tenant, name, id string) error {
	return c.do(ctx, http.MethodDelete, Path(v1.PathDeploymentKey, tenant, name, id), nil, nil, nil)
}

// ServingRoutes is the gateway's routing table.
func (c *Client) ServingRoutes(ctx context.Context) (v1.RoutingTable, error) {
	var out v1.RoutingTable
	return out, c.do(ctx, http.MethodGet, v1.PathServingRoutes, nil, nil, &out)
}

// ServingReport pushes a gateway's measurements.
func (c *Client) ServingReport(ctx context.Context, r v1.GatewayReport) error {
	return c.do(ctx, http.MethodPost, v1.PathServingReport, nil, r, nil)
}

// CanCall says whether token may call a deployment: whether it may read it
// (a tenant's viewer may call its deployments).
func (c *Client) CanCall(ctx context.Context, token, tenant, deployment string) (bool, error) {
	as := New(c.server, WithToken(token), WithHTTPClient(c.http))
	_, err := as.GetDeployment(ctx, tenant, deployment)
	switch {
	case err == nil:
		return true, nil
	case IsStatus(err, http.StatusUnauthorized), IsStatus(err, http.StatusForbidden), IsStatus(err, http.StatusNotFound):
		return false, nil
	default:
		return false, err
	}
}
