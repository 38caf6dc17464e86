// One deployment: traffic split, revisions with replicas and the gateways'
// measurements, plots of them over the time the page is open, the rollout's
// decisions, and promote, roll back and start-a-canary actions.
import { useEffect, useState } from 'preact/hooks';

import type { S } from '../../api/client';
import { Chart } from '../../components/chart';
import { ErrorBox, Field, Loading, Page, State, Table, Time } from '../../components/ui';
import type { PageProps } from '../../router';
import { tenantPath } from '../../router';
import { live, ms, pct, promote, rollback, updateDeployment, useDeployment } from './data';
import { add, series, type Sample } from './samples';
import { Keys } from './keys';
import { Traffic } from './traffic';

const modelLink = (t: string, r: Pick<S['Revision'], 'model' | 'version'>) => <a href={tenantPath(t, 'models', r.model)}>{r.model} v{r.version}</a>;

function CanaryForm(props: { tenant: string; name: string; done: () => void }) {
  const [model, setModel] = useState('');
  const [weight, setWeight] = useState('10');
  const [err, setErr] = useState('');
  const submit = async (e: Event) => {
    e.preventDefault();
    setErr('');
    try { await updateDeployment(props.tenant, props.name, { model, canaryWeight: Number(weight) } as never); setModel(''); props.done(); } catch (x) { setErr((x as Error).message); }
  };
  return (
    <form class="inline" onSubmit={submit} aria-label="Start a canary">
      <Field label="New model version (NAME/VERSION or NAME@ALIAS)" id="canary-model"><input id="canary-model" required size={24} value={model} onInput={(e) => setModel((e.target as HTMLInputElement).value)} /></Field>
      <Field label="Canary weight (%)" id="canary-weight"><input id="canary-weight" type="number" min={0} max={100} size={3} value={weight} onInput={(e) => setWeight((e.target as HTMLInputElement).value)} /></Field>
      <button type="submit">Start canary</button>
      <ErrorBox error={err} />
    </form>
  );
}

function Plots(props: { samples: Sample[] }) {
  if (props.samples.length < 2) return <p class="muted">Plots fill in as the page polls the gateways' measurements (every 3 s).</p>;
  const plots: [keyof S['RevisionStats'], string][] = [['rps', 'requests/s'], ['errorRate', 'error rate'], ['p50Ms', 'p50 ms'], ['p99Ms', 'p99 ms']];
  return (
    <div class="plots">
      {plots.map(([f, title]) => {
        const s = series(props.samples, f);
        return <Chart key={f} title={title} x="time" time labels={s.labels} data={s.data} testid={`plot-${f}`}
          describe={`${title} of ${s.labels.length} revisions over the last ${props.samples.length} polls`} />;
      })}
    </div>
  );
}

export function DeploymentDetail({ params }: PageProps) {
  const { tenant: t, name } = params;
  const d = useDeployment(t, name);
  const [err, setErr] = useState('');
  const [samples, setSamples] = useState<Sample[]>([]);
  const [showRetired, setShowRetired] = useState(false);
  useEffect(() => { if (d.data) setSamples((s) => add(s, d.data!, Date.now())); }, [d.data]);
  const x = d.data;
  const revs = x ? live(x) : [];
  const canary = revs.find((r) => r.role === 'canary');
  const retired = (x?.revisions ?? []).filter((r) => r.role === 'retired');
  const act = async (what: string, fn: () => Promise<unknown>) => {
    if (!confirm(`${what} ${name}?`)) return;
    setErr('');
    try { await fn(); d.reload(); } catch (e) { setErr((e as Error).message); }
  };
  const actions = x && (
    <>
      {canary && <button type="button" class="primary" onClick={() => act(`Promote the canary (${canary.model} v${canary.version}) of`, () => promote(t, name))}>Promote canary</button>}
      {(canary || retired.length > 0) && <button type="button" onClick={() => act(canary ? 'Roll back the canary of' : 'Roll back to the previous stable revision of', () => rollback(t, name))}>Roll back</button>}
    </>
  );
  const shown = showRetired ? [...revs, ...retired.sort((a, b) => b.number - a.number)] : revs;
  return (
    <Page title={`Deployment ${name}`} actions={actions}>
      <ErrorBox error={d.error ?? err} status={d.status} />
      <Loading when={d.loading} />
      {x && (
        <>
          <dl class="kv">
            <dt>Model</dt><dd><code>{x.spec.model}</code> ({x.spec.runtime}{x.spec.image ? ` ${x.spec.image}` : ''})</dd>
            <dt>Endpoint</dt><dd><code>{x.url}</code> on the gateway</dd>
            <dt>Scaling</dt><dd>{x.spec.min}–{x.spec.max} replicas, {x.spec.concurrency} in flight each{x.spec.min === 0 ? `, to zero after ${x.spec.idleSeconds}s idle` : ''}</dd>
            <dt>Resources</dt><dd>{x.spec.resources.cpu ?? '—'} CPU, {x.spec.resources.memory ?? '—'}{x.spec.resources.gpu ? `, ${x.spec.resources.gpu} GPU` : ''} per replica</dd>
            <dt>Rollout</dt><dd>{x.spec.rollout.stepWeight ? `+${x.spec.rollout.stepWeight}% every ${x.spec.rollout.bakeSeconds}s` : 'manual promotion'}; rolled back when errors exceed stable's by {pct(x.spec.rollout.maxErrorRateDelta ?? 0)} or p99 by {x.spec.rollout.maxP99Ratio}×</dd>
            <dt>Created</dt><dd><Time at={x.createdAt} /> by {x.createdBy}</dd>
          </dl>
          <h2>Traffic</h2>
          <Traffic deployment={x} />
          <h2>Revisions</h2>
          <Table label="Revisions" head={['Revision', 'Role', 'Model', 'Weight', 'Replicas (ready/asked)', 'Requests/s', 'Error rate', 'p50', 'p99', 'In flight', 'Created']}
            rows={shown.map((r) => [
              r.name, <State state={r.role} />, modelLink(t, r), `${r.weight}%`, `${r.readyReplicas}/${r.replicas}`, r.stats.rps.toFixed(1),
              r.stats.requests ? pct(r.stats.errorRate) : '—', ms(r.stats.p50Ms), ms(r.stats.p99Ms), r.stats.inFlight, <Time at={r.createdAt} />,
            ])} />
          {retired.length > 0 && (
            <p><input type="checkbox" id="show-retired" checked={showRetired} onChange={() => setShowRetired(!showRetired)} /> <label for="show-retired">Show {retired.length} retired revision(s)</label></p>
          )}
          <p class="muted">Measurements are the gateways' over the last minute.</p>
          <h2>Requests, errors and latency</h2>
          <Plots samples={samples} />
          <h2>Rollout events</h2>
          <Table label="Rollout events" head={['When', 'Event', 'Detail']} empty="No decisions yet."
            rows={(x.events ?? []).map((e) => [<Time at={e.at} />, <State state={e.kind} />, e.message])} />
          <h2>API keys</h2>
          <Keys tenant={t} name={name} url={x.url} />
          <h2>New version</h2>
          {canary && <p class="muted">A canary ({canary.model} v{canary.version}) is rolling out; a new version replaces it.</p>}
          <CanaryForm tenant={t} name={name} done={d.reload} />
        </>
      )}
    </Page>
  );
}
