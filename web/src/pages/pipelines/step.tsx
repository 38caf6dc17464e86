// A step's definition (from the spec) and, in a run, its attempts, cache
// hit, outputs and log.
import { useState } from 'preact/hooks';

import type { S } from '../../api/client';
import { fill } from '../../api/client';
import { LogStream } from '../../components/logstream';
import { Field, State, Table, Time } from '../../components/ui';
import { tenantPath } from '../../router';
import type { StepView } from './graph';
import { duration } from './graph';

const kv = (m?: Record<string, string> | null) => Object.entries(m ?? {}).map(([k, v]) => `${k}=${v}`).join(', ');

export function StepSpec(props: { step: S['Step'] }) {
  const s = props.step;
  const outs = s.outputs ?? {};
  return (
    <section aria-labelledby="step-spec" class="card">
      <h2 id="step-spec">Step {s.name}</h2>
      <dl class="kv">
        <dt>Image</dt><dd><code>{s.image}</code></dd>
        <dt>Command</dt><dd><code>{[...(s.command ?? []), ...(s.args ?? [])].join(' ')}</code></dd>
        {s.dependsOn?.length ? <><dt>Depends on</dt><dd>{s.dependsOn.join(', ')}</dd></> : null}
        {s.when && <><dt>When</dt><dd><code>{s.when}</code></dd></>}
        {s.parallelFor && <><dt>Fan-out</dt><dd>over <code>{s.parallelFor.items}</code>{s.parallelFor.parallelism ? `, ${s.parallelFor.parallelism} at once` : ''}</dd></>}
        <dt>Inputs</dt><dd>{[kv(s.inputs?.parameters), kv(s.inputs?.artifacts)].filter(Boolean).join('; ') || '—'}</dd>
        <dt>Outputs</dt><dd>{[...(outs.parameters ?? []).map((p) => `parameter ${p}`), ...(outs.artifacts ?? []).map((a) => `artifact ${a}`), ...(outs.metrics ?? []).map((m) => `metric ${m}`)].join(', ') || '—'}</dd>
        <dt>Resources</dt><dd>{s.resources?.cpu ?? '—'} CPU, {s.resources?.memory ?? '—'}, {s.resources?.gpu ?? 0} GPU</dd>
        <dt>Cache</dt><dd>{s.cache === false ? 'off' : `on${s.cacheMaxAge ? `, results up to ${s.cacheMaxAge} old` : ''}`}</dd>
        {s.retries && <><dt>Retries</dt><dd>{s.retries.limit}{s.retries.onFailures?.length ? ` on ${s.retries.onFailures.join(', ')}` : ''}</dd></>}
        {s.timeout && <><dt>Timeout</dt><dd>{s.timeout}</dd></>}
      </dl>
    </section>
  );
}

/** noLog says why a step run has no log to show, or '' when it has one. */
export function noLog(r: S['StepRun']): string {
  if (r.state === 'cached') return `Answered from the cache${r.cachedFrom ? ` of run ${r.cachedFrom}` : ''}: no pod ran, so there is no log.`;
  if (r.state === 'skipped') return `Skipped${r.reason ? ` (${r.reason})` : ''}: no pod ran.`;
  if (r.state === 'pending' && !r.pod) return 'Pending: the log starts when its pod runs.';
  return '';
}

export function StepRuns(props: { tenant: string; run: string; step: S['Step'] | undefined; name: string; view: StepView; now: number }) {
  const { tenant: t, view } = props;
  const runs = view.runs;
  // Open on the item that matters: the running one, else a failed one.
  const [pick, setPick] = useState(() => {
    const first = (s: string) => runs.findIndex((r) => r.state === s);
    return Math.max(0, first('running') >= 0 ? first('running') : first('failed'));
  });
  const cur = runs[Math.min(pick, runs.length - 1)];
  const live = cur && (cur.state === 'running' || cur.state === 'pending');
  return (
    <section aria-labelledby="step-run" class="card step-panel">
      <h2 id="step-run">Step {props.name} <State state={view.state} /></h2>
      {!runs.length && <p class="muted">Not started yet{view.state === 'not run' ? ', and the run is over.' : ': it runs when the steps it depends on have succeeded.'}</p>}
      {runs.length > 0 && (
        <Table label={`Runs of step ${props.name}`} head={['Name', 'State', 'Attempt', 'Started', 'Duration', 'Cache', 'Outputs', 'Tracking run']}
          rows={runs.map((r) => [
            r.name, <><State state={r.state} /> {r.reason ?? ''}</>, r.attempt, <Time at={r.startedAt} />, duration(r.startedAt, r.finishedAt, props.now),
            r.state === 'cached' ? <span>hit{r.cachedFrom ? <> from <a href={tenantPath(t, 'runs', r.cachedFrom)}>{r.cachedFrom.slice(0, 12)}</a></> : ''}</span> : r.cacheKey ? 'miss' : '—',
            kv(r.outputs) || '—', r.runId ? <a href={tenantPath(t, 'runs', r.runId)}>{r.runId.slice(0, 12)}</a> : '—',
          ])} />
      )}
      {cur && (
        <>
          <h3>Log</h3>
          {runs.length > 1 && (
            <Field label="Item" id="step-item">
              <select id="step-item" value={String(pick)} onChange={(e) => setPick(Number((e.target as HTMLSelectElement).value))}>
                {runs.map((r, i) => <option key={r.name} value={String(i)}>{r.name}</option>)}
              </select>
            </Field>
          )}
          {noLog(cur)
            ? <p class="muted">{noLog(cur)}</p>
            : <LogStream key={`${cur.name}:${cur.attempt}:${live}`} label={`Log of step ${cur.name}`} follow={!!live}
                url={fill('/api/v1/tenants/{tenant}/pipeline-runs/{run}/steps/{step}/logs', { tenant: t, run: props.run, step: cur.name }, { follow: live ? true : undefined })} />}
        </>
      )}
      {props.step && <details><summary>Definition</summary><StepSpec step={props.step} /></details>}
    </section>
  );
}
