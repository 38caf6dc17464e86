// lineage reads where a run came from out of the tags ferry sets on it: the
// job that logged it, the pipeline step (or run) it is, the tuning it is a
// trial of, and its parent run.
import { tenantPath } from '../../router';

export type Link = { label: string; text: string; href: string };

export function lineage(t: string, runId: string, tags: Record<string, string> | undefined): Link[] {
  const g = tags ?? {};
  const out: Link[] = [];
  const parent = g['mlflow.parentRunId'];
  const step = g['ferry.pipeline.step'];
  if (g['ferry.pipeline'] && step && parent) {
    out.push({ label: 'Pipeline step', text: `${g['ferry.pipeline']} · ${step}`, href: `${tenantPath(t, 'pipeline-runs', parent)}?step=${encodeURIComponent(step.replace(/\[\d+\]$/, ''))}` });
  } else if (g['ferry.pipeline']) {
    out.push({ label: 'Pipeline run', text: g['ferry.pipeline'], href: tenantPath(t, 'pipeline-runs', runId) });
  }
  if (g['ferry.tuning']) out.push({ label: 'Tuning', text: g['ferry.tuning'], href: tenantPath(t, 'tunings', g['ferry.tuning']) });
  if (g['ferry.job']) out.push({ label: 'Job', text: g['ferry.job'], href: tenantPath(t, 'jobs', g['ferry.job']) });
  if (parent) out.push({ label: 'Parent run', text: parent, href: tenantPath(t, 'runs', parent) });
  return out;
}
