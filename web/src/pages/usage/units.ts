// Units of the monitoring contract: CPU in millicores, memory in bytes.
import type { S } from '../../api/client';
import { tenantPath } from '../../router';

export const cpu = (m?: number) => (m === undefined ? '—' : `${Number((m / 1000).toFixed(m < 100 ? 3 : 2))} CPU`);
export function mem(b?: number): string {
  if (b === undefined) return '—';
  if (b >= 2 ** 30) return `${(b / 2 ** 30).toFixed(1)} GiB`;
  return `${Math.round(b / 2 ** 20)} MiB`;
}
export const use = (u?: S['ResourceUse'] | null) => (u ? `${cpu(u.cpuMillicores)}, ${mem(u.memoryBytes)}${u.gpuPercent ? `, GPU ${u.gpuPercent}%` : ''}` : '—');

/** objectHref links a measured workload to its page (a step's name is <run>.<step>, a revision's <deployment>-r<N>). */
export function objectHref(t: string, kind: string, name: string): string | undefined {
  switch (kind) {
    case 'job': return tenantPath(t, 'jobs', name);
    case 'notebook': return tenantPath(t, 'notebooks');
    case 'step': {
      const i = name.indexOf('.');
      return i > 0 ? `${tenantPath(t, 'pipeline-runs', name.slice(0, i))}?step=${encodeURIComponent(name.slice(i + 1).replace(/\[\d+\]$/, ''))}` : undefined;
    }
    case 'revision': {
      const m = /^(.+)-r\d+$/.exec(name);
      return m ? tenantPath(t, 'deployments', m[1]) : undefined;
    }
  }
  return undefined;
}
