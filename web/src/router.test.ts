import { describe, expect, it } from 'vitest';

import { navItems, routes } from './registry';
import { match, resolve, tenantPath } from './router';

describe('router', () => {
  it('matches parameters and decodes them', () => {
    expect(match('/tenants/:tenant/jobs/:name', '/tenants/acme/jobs/tr%20ain')).toEqual({ tenant: 'acme', name: 'tr ain' });
    expect(match('/tenants/:tenant/jobs', '/tenants/acme/jobs/x')).toBeNull();
  });

  it('gives every page folder a stable URL, literal segments first', () => {
    expect(resolve(routes, '/tenants/acme/compare?runs=a,b')?.route.title).toBe('Compare runs');
    expect(resolve(routes, '/tenants/acme/jobs/train')?.props.params).toEqual({ tenant: 'acme', name: 'train' });
    expect(resolve(routes, '/tenants/acme')?.route.title).toBe('Overview');
    expect(resolve(routes, '/audit')?.route.title).toBe('Audit');
    expect(resolve(routes, '/nope/x')).toBeNull();
    expect(resolve(routes, '/tenants/acme/pipeline-runs/r1')?.props.params).toEqual({ tenant: 'acme', run: 'r1' });
    expect(resolve(routes, '/tenants/acme/deployments/iris')?.route.title).toBe('Deployment');
    expect(tenantPath('acme', 'runs', 'r/1')).toBe('/tenants/acme/runs/r%2F1');
  });

  it('builds the navigation from the page folders', () => {
    expect(navItems('tenant').map((r) => r.nav!.label)).toEqual(['Overview', 'Jobs', 'Notebooks', 'Experiments', 'Pipelines', 'Tuning', 'Models', 'Deployments', 'Usage']);
    expect(navItems('global').map((r) => r.nav!.label)).toEqual(['Tenants', 'Audit', 'Admin']);
  });
});
