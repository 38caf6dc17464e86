// Every read and action of the tuning pages, in one place.
import { api, call } from '../../api/client';
import type { S } from '../../api/client';
import { useData } from '../../components/data';

const over = (s?: string) => s === 'succeeded' || s === 'failed' || s === 'stopped';

export const useTunings = (t: string) =>
  useData((signal) => api.get('/api/v1/tenants/{tenant}/tunings', { path: { tenant: t }, query: { limit: 200 }, signal }), [t], 5000);

/** useTuning reads a tuning and all its trials (at most 1,000), polled until it is over. */
export function useTuning(t: string, name: string, live: boolean) {
  return useData(async (signal) => {
    const tuning = await api.get('/api/v1/tenants/{tenant}/tunings/{tuning}', { path: { tenant: t, tuning: name }, signal });
    const trials: S['Trial'][] = [];
    for (let after: string | undefined; ;) {
      const page = await api.get('/api/v1/tenants/{tenant}/tunings/{tuning}/trials', { path: { tenant: t, tuning: name }, query: { limit: 1000, after }, signal });
      trials.push(...page.items);
      if (!page.next) break;
      after = page.next;
    }
    return { tuning, trials };
  }, [t, name], live ? 3000 : 0);
}

export const stopTuning = (t: string, name: string) => call('post', '/api/v1/tenants/{tenant}/tunings/{tuning}/stop', { path: { tenant: t, tuning: name } });

export { over };
