// Every read and action of the deployments pages, in one place.
import { api, call } from '../../api/client';
import type { S } from '../../api/client';
import { useData } from '../../components/data';

export const useDeployments = (t: string) =>
  useData((signal) => api.get('/api/v1/tenants/{tenant}/deployments', { path: { tenant: t }, query: { limit: 200 }, signal }), [t], 5000);

/** useDeployment is polled: the gateways' measurements cover the last minute. */
export const useDeployment = (t: string, name: string) =>
  useData((signal) => api.get('/api/v1/tenants/{tenant}/deployments/{name}', { path: { tenant: t, name }, signal }), [t, name], 3000);

export const createDeployment = (t: string, body: S['DeploymentCreate']) =>
  call('post', '/api/v1/tenants/{tenant}/deployments', { path: { tenant: t }, body: body as never });

export const updateDeployment = (t: string, name: string, body: S['DeploymentUpdate']) =>
  call('patch', '/api/v1/tenants/{tenant}/deployments/{name}', { path: { tenant: t, name }, body: body as never });

export const promote = (t: string, name: string) => call('post', '/api/v1/tenants/{tenant}/deployments/{name}/promote', { path: { tenant: t, name } });
export const rollback = (t: string, name: string) => call('post', '/api/v1/tenants/{tenant}/deployments/{name}/rollback', { path: { tenant: t, name } });

/** live are the revisions that take traffic or may (stable and canary), stable first. */
export const live = (d: Pick<S['Deployment'], 'revisions'>) =>
  (d.revisions ?? []).filter((r) => r.role !== 'retired').sort((a, b) => (a.role === b.role ? a.number - b.number : a.role === 'stable' ? -1 : 1));

export const pct = (x: number) => `${(x * 100).toFixed(x < 0.1 ? 2 : 1)}%`;
export const ms = (x: number) => (x ? `${x < 10 ? x.toFixed(1) : Math.round(x)} ms` : '—');

export const useKeys = (t: string, name: string) =>
  useData((signal) => api.get('/api/v1/tenants/{tenant}/deployments/{name}/keys', { path: { tenant: t, name }, signal }), [t, name]);
export const createKey = (t: string, name: string, keyName: string) =>
  call('post', '/api/v1/tenants/{tenant}/deployments/{name}/keys', { path: { tenant: t, name }, body: { name: keyName } as never });
export const deleteKey = (t: string, name: string, id: string) =>
  call('delete', '/api/v1/tenants/{tenant}/deployments/{name}/keys/{id}', { path: { tenant: t, name, id } });
