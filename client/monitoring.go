package client

import (
	"context"
	"net/http"
	"net/url"
	"strconv"

	v1 "github.com/ferry-ml/ferry/api/v1"
)

// Top is the live use of every ferry object the caller may see.
func (c *Client) Top(ctx context.Context, o v1.TopOptions) (v1.Top, error) {
	q := url.Values{}
	if o.Tenant != "" {
		q.Set("tenant", o.Tenant)
	}
	if o.Limit > 0 {
		q.Set("limit", strconv.Itoa(o.Limit))
	}
	var out v1.Top
	return out, c.do(ctx, http.MethodGet, v1.PathUsage, q, nil, &out)
}

// WorkloadUsage is one ferry object's current, average and peak use
// against its request (with its series when o.Window is set).
func (c *Client) WorkloadUsage(ctx context.Context, tenant string, kind v1.WorkloadKind, name string, o v1.UsageOptions) (v1.WorkloadUsage, error) {
	q := url.Values{}
	if o.Window != "" {
		q.Set("window", o.Window)
	}
	var out v1.WorkloadUsage
	return out, c.do(ctx, http.MethodGet, Path(v1.PathWorkloadUsage, tenant, string(kind), name), q, nil, &out)
}

// TenantQuota is a tenant's quota against what its pods request and use.
func (c *Client) TenantQuota(ctx context.Context, tenant string) (v1.QuotaUse, error) {
	var out v1.QuotaUse
	return out, c.do(ctx, http.MethodGet, Path(v1.PathTenantQuota, tenant), nil, nil, &out)
}

// ListReads is one page of who read a tenant's data, newest first (owners, admins).
func (c *Client) ListReads(ctx context.Context, tenant string, f v1.ReadsFilter, o v1.ListOptions) (v1.List[v1.Access], error) {
	q := listQuery(o)
	if f.Actor != "" {
		q.Set("actor", f.Actor)
	}
	if f.Kind != "" {
		q.Set("kind", string(f.Kind))
	}
	var out v1.List[v1.Access]
	return out, c.do(ctx, http.MethodGet, Path(v1.PathTenantReads, tenant), q, nil, &out)
}
