// Every read of the usage page, in one place.
import { api } from '../../api/client';
import { useData } from '../../components/data';

export type Kind = 'job' | 'notebook' | 'step' | 'revision';

export const useQuota = (t: string) =>
  useData((signal) => api.get('/api/v1/tenants/{tenant}/quota', { path: { tenant: t }, signal }), [t], 10000);

export const useTop = (t: string) =>
  useData((signal) => api.get('/api/v1/usage', { query: { tenant: t, limit: 200 }, signal }), [t], 10000);

export const useWorkload = (t: string, kind: Kind | '', name: string, window: string) =>
  useData(async (signal) => (kind && name
    ? api.get('/api/v1/tenants/{tenant}/usage/{kind}/{name}', { path: { tenant: t, kind, name }, query: { window }, signal })
    : undefined), [t, kind, name, window], 15000);

export const useReads = (t: string, kind: string) =>
  useData((signal) => api.get('/api/v1/tenants/{tenant}/reads', { path: { tenant: t }, query: { kind: (kind || undefined) as never, limit: 100 }, signal }), [t, kind]);
