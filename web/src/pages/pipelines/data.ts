// Every read of the pipelines pages, in one place: the pages call these
// hooks and never the API directly.
import { useEffect, useState } from 'preact/hooks';

import { api, call } from '../../api/client';
import { useData } from '../../components/data';

export type RunFilter = { pipeline?: string; state?: string; after?: string };

const ended = (s?: string) => s === 'succeeded' || s === 'failed' || s === 'cancelled';

export const usePipelines = (t: string) =>
  useData((signal) => api.get('/api/v1/tenants/{tenant}/pipelines', { path: { tenant: t }, query: { limit: 200 }, signal }), [t]);

export const usePipeline = (t: string, p: string) =>
  useData(async (signal) => {
    const [pipeline, versions] = await Promise.all([
      api.get('/api/v1/tenants/{tenant}/pipelines/{pipeline}', { path: { tenant: t, pipeline: p }, signal }),
      api.get('/api/v1/tenants/{tenant}/pipelines/{pipeline}/versions', { path: { tenant: t, pipeline: p }, query: { limit: 200 }, signal }),
    ]);
    return { pipeline, versions: versions.items };
  }, [t, p]);

export const usePipelineRuns = (t: string, f: RunFilter) =>
  useData((signal) => api.get('/api/v1/tenants/{tenant}/pipeline-runs', {
    path: { tenant: t }, query: { pipeline: f.pipeline || undefined, state: (f.state || undefined) as never, after: f.after || undefined, limit: 50 }, signal,
  }), [t, f.pipeline, f.state, f.after], 5000);

/** usePipelineRun reads a run (polled while it is not over) and the spec of its version, for the graph. */
export function usePipelineRun(t: string, id: string) {
  // Polled every 2 s until the run is over: a finished run no longer changes.
  const [live, setLive] = useState(true);
  const run = useData((signal) => api.get('/api/v1/tenants/{tenant}/pipeline-runs/{run}', { path: { tenant: t, run: id }, signal }), [t, id], live ? 2000 : 0);
  const r = run.data;
  useEffect(() => setLive(!r || !ended(r.state)), [r?.state]);
  const spec = useData(async (signal) => {
    if (!r) return undefined;
    for (let after: string | undefined; ;) {
      const page = await api.get('/api/v1/tenants/{tenant}/pipelines/{pipeline}/versions', { path: { tenant: t, pipeline: r.pipeline }, query: { limit: 200, after }, signal });
      const v = page.items.find((x) => x.version === r.version);
      if (v || !page.next) return v;
      after = page.next;
    }
  }, [t, r?.pipeline, r?.version]);
  return { run, spec };
}

export const submitRun = (t: string, pipeline: string, version: number, parameters: Record<string, string>) =>
  call('post', '/api/v1/tenants/{tenant}/pipelines/{pipeline}/runs', { path: { tenant: t, pipeline }, body: { version, parameters } as never });

export const cancelRun = (t: string, run: string) => call('post', '/api/v1/tenants/{tenant}/pipeline-runs/{run}/cancel', { path: { tenant: t, run } });
export const retryRun = (t: string, run: string) => call('post', '/api/v1/tenants/{tenant}/pipeline-runs/{run}/retry', { path: { tenant: t, run } });

export { ended };

export const useSchedules = (t: string) =>
  useData((signal) => api.get('/api/v1/tenants/{tenant}/schedules', { path: { tenant: t }, query: { limit: 1000 }, signal }), [t], 15000);
export const createSchedule = (t: string, body: Record<string, unknown>) =>
  call('post', '/api/v1/tenants/{tenant}/schedules', { path: { tenant: t }, body: body as never });
export const pauseSchedule = (t: string, s: string) => call('post', '/api/v1/tenants/{tenant}/schedules/{schedule}/pause', { path: { tenant: t, schedule: s } });
export const resumeSchedule = (t: string, s: string) => call('post', '/api/v1/tenants/{tenant}/schedules/{schedule}/resume', { path: { tenant: t, schedule: s } });
export const deleteSchedule = (t: string, s: string) => call('delete', '/api/v1/tenants/{tenant}/schedules/{schedule}', { path: { tenant: t, schedule: s } });
