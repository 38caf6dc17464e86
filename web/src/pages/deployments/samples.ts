// The API gives each revision's measurements over the last minute; the
// deployment page keeps what it has polled so the request rate, error
// rate and latency can be plotted over the time the page is open.
import type { S } from '../../api/client';

export type Sample = { at: number; stats: Record<string, S['RevisionStats']> };

export const MAX_SAMPLES = 600;

/** add appends a poll's stats, one sample per poll, the oldest dropped past MAX_SAMPLES. */
export function add(prev: Sample[], d: Pick<S['Deployment'], 'revisions'>, at: number): Sample[] {
  const stats = Object.fromEntries((d.revisions ?? []).filter((r) => r.role !== 'retired').map((r) => [r.name, r.stats]));
  const next = [...prev, { at, stats }];
  return next.length > MAX_SAMPLES ? next.slice(next.length - MAX_SAMPLES) : next;
}

/** series is uPlot's data: time in seconds, then one column per revision (null where it was absent). */
export function series(samples: Sample[], field: keyof S['RevisionStats']): { labels: string[]; data: [number[], ...(number | null)[][]] } {
  const labels = [...new Set(samples.flatMap((s) => Object.keys(s.stats)))].sort();
  const data: [number[], ...(number | null)[][]] = [samples.map((s) => s.at / 1000)];
  for (const l of labels) data.push(samples.map((s) => (s.stats[l] ? Number(s.stats[l][field]) : null)));
  return { labels, data };
}
