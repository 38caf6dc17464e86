// One pipeline run: its graph with live step states (polled until the run
// is over), the selected step's attempts, cache hit, outputs and log.
import { useMemo, useState } from 'preact/hooks';

import { ErrorBox, Loading, Page, State, Table, Time } from '../../components/ui';
import type { PageProps } from '../../router';
import { tenantPath } from '../../router';
import { Dag } from './dag';
import { cancelRun, ended, retryRun, usePipelineRun } from './data';
import { duration, specGraph, stepViews } from './graph';
import { StepRuns } from './step';

export function PipelineRunDetail({ params, query }: PageProps) {
  const { tenant: t, run: id } = params;
  const { run, spec } = usePipelineRun(t, id);
  const [err, setErr] = useState('');
  const r = run.data;
  const v = spec.data;
  const nodes = useMemo(() => {
    if (v) return specGraph(v.spec);
    // Without the spec (an old version gone), the steps the run has.
    const seen = new Map<string, string[]>();
    for (const s of r?.steps ?? []) seen.set(s.step, s.dependsOn ?? []);
    return [...seen].map(([id, deps]) => ({ id, deps, finally: false }));
  }, [v, r?.steps?.map((s) => s.step).join()]);
  const views = useMemo(() => stepViews(nodes, r?.steps, r?.state), [nodes, r]);
  const now = Date.now();
  const step = query.get('step') ?? '';
  const base = tenantPath(t, 'pipeline-runs', id);
  const act = async (fn: () => Promise<unknown>) => {
    setErr('');
    try { await fn(); run.reload(); } catch (e) { setErr((e as Error).message); }
  };
  const actions = r && (
    <>
      {!ended(r.state) && <button type="button" onClick={() => act(() => cancelRun(t, id))}>Cancel run</button>}
      {(r.state === 'failed' || r.state === 'cancelled') && <button type="button" onClick={() => act(() => retryRun(t, id))}>Retry from failed steps</button>}
    </>
  );
  const all = v ? [...(v.spec.steps ?? []), ...(v.spec.finally ?? [])] : [];
  return (
    <Page title={`Pipeline run ${id.slice(0, 12)}`} actions={actions}>
      <ErrorBox error={run.error ?? err} status={run.status} />
      <Loading when={run.loading} />
      {r && (
        <>
          <dl class="kv">
            <dt>State</dt><dd><State state={r.state} /> {r.reason ?? ''}</dd>
            <dt>Pipeline</dt><dd><a href={tenantPath(t, 'pipelines', r.pipeline)}>{r.pipeline}</a> v{r.version}</dd>
            <dt>Parameters</dt><dd>{Object.entries(r.parameters ?? {}).map(([k, val]) => `${k}=${val}`).join(', ') || '—'}</dd>
            <dt>Created</dt><dd><Time at={r.createdAt} /> by {r.createdBy}{r.schedule ? ` (schedule ${r.schedule})` : ''}</dd>
            <dt>Duration</dt><dd>{duration(r.startedAt, r.finishedAt, now)}</dd>
            <dt>Tracking run</dt><dd><a href={tenantPath(t, 'runs', r.id)}>{r.id}</a></dd>
          </dl>
          <h2>Graph</h2>
          {spec.error && <p class="muted">The graph shows the run's steps only: {spec.error}</p>}
          <Dag nodes={nodes} views={views} selected={step} now={now} href={(s) => (s === step ? base : `${base}?step=${encodeURIComponent(s)}`)} />
          {step && views.get(step) && (
            <StepRuns key={step} tenant={t} run={id} name={step} step={all.find((s) => s.name === step)} view={views.get(step)!} now={now} />
          )}
          <h2>Steps</h2>
          <Table label="Steps" head={['Step', 'State', 'Items', 'Started', 'Duration', 'Cached']}
            rows={nodes.map((n) => {
              const sv = views.get(n.id)!;
              return [<a href={`${base}?step=${encodeURIComponent(n.id)}`}>{n.id}</a>, <><State state={sv.state} />{sv.reason && <> {sv.reason}</>}</>,
                sv.runs.length > 1 ? `${sv.done}/${sv.runs.length}` : '', <Time at={sv.startedAt} />, duration(sv.startedAt, sv.finishedAt, now),
                sv.cached ? (sv.runs.length > 1 ? `${sv.cached} of ${sv.runs.length}` : 'yes') : ''];
            })} />
        </>
      )}
    </Page>
  );
}
