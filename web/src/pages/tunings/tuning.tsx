// One tuning: its search, the objective per trial plotted with the best so
// far, and the trials table with their parameters as columns.
import { useEffect, useMemo, useState } from 'preact/hooks';

import { Chart } from '../../components/chart';
import { ErrorBox, Loading, Page, State, Table, Time } from '../../components/ui';
import type { PageProps } from '../../router';
import { tenantPath } from '../../router';
import { over, stopTuning, useTuning } from './data';
import { objective, paramNames } from './objective';
import { fmt, progress } from './tunings';

export function TuningDetail({ params }: PageProps) {
  const { tenant: t, tuning: name } = params;
  const [live, setLive] = useState(true);
  const d = useTuning(t, name, live);
  const [err, setErr] = useState('');
  const x = d.data?.tuning;
  const trials = d.data?.trials ?? [];
  useEffect(() => setLive(!x || !over(x.state)), [x?.state]);
  const obj = useMemo(() => objective(trials, x?.spec.objective.direction ?? 'minimize'), [trials, x?.spec.objective.direction]);
  const names = x ? paramNames(x.spec, trials) : [];
  const withValue = trials.filter((r) => r.value !== undefined && r.value !== null);
  const dir = x?.spec.objective.direction === 'maximize' ? -1 : 1;
  const top = [...withValue].sort((a, b) => dir * (a.value! - b.value!)).slice(0, 5).filter((r) => r.runId);
  const stop = async () => {
    if (!confirm(`Stop tuning ${name}? Running trials are cancelled.`)) return;
    setErr('');
    try { await stopTuning(t, name); d.reload(); } catch (e) { setErr((e as Error).message); }
  };
  return (
    <Page title={`Tuning ${name}`} actions={x && !over(x.state) && <button type="button" onClick={stop}>Stop tuning</button>}>
      <ErrorBox error={d.error ?? err} status={d.status} />
      <Loading when={d.loading} />
      {x && (
        <>
          <dl class="kv">
            <dt>State</dt><dd><State state={x.state} /> {x.reason ?? ''}</dd>
            <dt>Objective</dt><dd>{x.spec.objective.direction} <code>{x.spec.objective.metric}</code>{x.spec.objective.goal !== undefined ? `, goal ${x.spec.objective.goal}` : ''}</dd>
            <dt>Search</dt><dd>{x.spec.algorithm ?? 'tpe'}, {x.spec.maxTrials} trials, {x.spec.parallelTrials ?? 1} at once, seed {x.spec.seed ?? 0}{x.spec.earlyStopping ? `; ${x.spec.earlyStopping.type} stopping after ${x.spec.earlyStopping.startupTrials ?? 5} trials` : ''}</dd>
            <dt>Space</dt><dd>{(x.spec.parameters ?? []).map((p) => p.type === 'categorical' ? `${p.name} ∈ {${(p.values ?? []).join(', ')}}` : `${p.name} ∈ [${p.min}, ${p.max}]${p.log ? ' log' : ''}`).join('; ')}</dd>
            <dt>Trials</dt><dd>{progress(x)}; {x.trials.succeeded} succeeded, {x.trials.failed} failed, {x.trials.pruned} pruned, {x.trials.cancelled} cancelled</dd>
            <dt>Best</dt><dd>{x.best ? <>{fmt(x.best.value)} at trial {x.best.number} ({Object.entries(x.best.params ?? {}).map(([k, v]) => `${k}=${v}`).join(', ')})</> : '—'}</dd>
            <dt>Tracking</dt><dd><a href={tenantPath(t, 'experiments', x.experimentId)}>experiment {x.experimentId}</a>, run <a href={tenantPath(t, 'runs', x.runId)}>{x.runId.slice(0, 12)}</a></dd>
            <dt>Created</dt><dd><Time at={x.createdAt} /> by {x.createdBy}</dd>
          </dl>
          <h2>Objective per trial</h2>
          {withValue.length
            ? <Chart title={x.spec.objective.metric} x="trial" labels={obj.labels} data={obj.data} points={[true, false]} testid="objective-chart"
                describe={`${x.spec.objective.metric} of ${withValue.length} trials and the best so far`} />
            : <p class="muted">No trial has reported {x.spec.objective.metric} yet.</p>}
          {top.length >= 2 && <p><a href={`${tenantPath(t, 'compare')}?runs=${top.map((r) => r.runId).join(',')}&metric=${encodeURIComponent(x.spec.objective.metric)}`}>Compare the best {top.length} trials' runs</a></p>}
          <h2>Trials</h2>
          <Table label="Trials" head={['Trial', 'State', ...names, x.spec.objective.metric, 'Step', 'Job', 'Run', 'Created', 'Finished']}
            empty={x.state === 'running' ? 'No trials yet: the first starts when the controller suggests it.' : 'No trials.'}
            rows={trials.map((r) => [
              r.number, <><State state={r.state} /> {r.reason ?? ''}</>, ...names.map((n) => r.params?.[n] ?? '—'),
              <strong class={x.best?.number === r.number ? 'ok' : ''}>{fmt(r.value)}</strong>, r.step ?? '—',
              <a href={tenantPath(t, 'jobs', r.job)}>{r.job}</a>, r.runId ? <a href={tenantPath(t, 'runs', r.runId)}>{r.runId.slice(0, 12)}</a> : '—',
              <Time at={r.createdAt} />, <Time at={r.finishedAt} />,
            ])} />
        </>
      )}
    </Page>
  );
}
