// One pipeline: a version's graph and parameters, a form that runs it, and its runs.
import { useMemo, useState } from 'preact/hooks';

import type { S } from '../../api/client';
import { ErrorBox, Field, Loading, Page, Table, Time } from '../../components/ui';
import type { PageProps } from '../../router';
import { navigate, tenantPath } from '../../router';
import { Dag } from './dag';
import { submitRun, usePipeline } from './data';
import { specGraph } from './graph';
import { RunsTable } from './runs';
import { Schedules } from './schedules';
import { StepSpec } from './step';

const text = (v: unknown) => (v === undefined || v === null ? '' : typeof v === 'string' ? v : JSON.stringify(v));

function RunForm(props: { tenant: string; pipeline: string; version: S['PipelineVersion'] }) {
  const ps = props.version.spec.parameters ?? [];
  const [vals, setVals] = useState<Record<string, string>>(() => Object.fromEntries(ps.map((p) => [p.name, text(p.default)])));
  const [err, setErr] = useState('');
  const submit = async (e: Event) => {
    e.preventDefault();
    setErr('');
    const given = Object.fromEntries(Object.entries(vals).filter(([k, v]) => v !== '' || ps.find((p) => p.name === k)?.default === undefined));
    try {
      const r = await submitRun(props.tenant, props.pipeline, props.version.version, given);
      navigate(tenantPath(props.tenant, 'pipeline-runs', r.id));
    } catch (x) { setErr((x as Error).message); }
  };
  return (
    <form class="inline" onSubmit={submit} aria-label={`Run version ${props.version.version}`}>
      {ps.map((p) => (
        <Field key={p.name} label={`${p.name} (${p.type ?? 'string'}${p.default === undefined ? ', required' : ''})`} id={`param-${p.name}`}>
          <input id={`param-${p.name}`} value={vals[p.name] ?? ''} title={p.description} onInput={(e) => setVals({ ...vals, [p.name]: (e.target as HTMLInputElement).value })} />
        </Field>
      ))}
      <button type="submit" class="primary">Run v{props.version.version}</button>
      <ErrorBox error={err} />
    </form>
  );
}

export function PipelineDetail({ params, query }: PageProps) {
  const { tenant: t, pipeline: name } = params;
  const d = usePipeline(t, name);
  const versions = d.data?.versions ?? [];
  const want = Number(query.get('version') ?? d.data?.pipeline.latestVersion ?? 0);
  const v = versions.find((x) => x.version === want) ?? versions[0];
  const nodes = useMemo(() => (v ? specGraph(v.spec) : []), [v]);
  const step = query.get('step') ?? '';
  const stepSpec = v && [...(v.spec.steps ?? []), ...(v.spec.finally ?? [])].find((s) => s.name === step);
  const base = tenantPath(t, 'pipelines', name);
  const href = (q: Record<string, string>) => {
    const u = new URLSearchParams(query);
    for (const [k, val] of Object.entries(q)) { if (val) u.set(k, val); else u.delete(k); }
    const qs = u.toString();
    return qs ? `${base}?${qs}` : base;
  };
  return (
    <Page title={`Pipeline ${name}`}>
      <ErrorBox error={d.error} status={d.status} />
      <Loading when={d.loading} />
      {d.data && v && (
        <>
          {d.data.pipeline.description && <p>{d.data.pipeline.description}</p>}
          <div class="filters">
            <Field label="Version" id="pipeline-version">
              <select id="pipeline-version" value={String(v.version)} onChange={(e) => navigate(href({ version: (e.target as HTMLSelectElement).value, step: '' }), true)}>
                {versions.map((x) => <option key={x.version} value={String(x.version)}>v{x.version} · {new Date(x.createdAt).toLocaleString()} · {x.createdBy}</option>)}
              </select>
            </Field>
            <span class="muted">digest <code>{v.digest.slice(0, 19)}</code></span>
          </div>
          <Dag nodes={nodes} selected={step} href={(s) => href({ step: s === step ? '' : s })} />
          {stepSpec && <StepSpec step={stepSpec} />}
          <h2>Parameters</h2>
          <Table label="Parameters" head={['Name', 'Type', 'Default', 'Description']} empty="No parameters."
            rows={(v.spec.parameters ?? []).map((p) => [p.name, p.type ?? 'string', p.default === undefined ? <span class="muted">required</span> : text(p.default), p.description ?? ''])} />
          <h2>Run it</h2>
          <RunForm key={v.version} tenant={t} pipeline={name} version={v} />
          <p class="muted">Created <Time at={d.data.pipeline.createdAt} /> by {d.data.pipeline.createdBy}; {versions.length} version(s).</p>
        </>
      )}
      <h2>Schedules</h2>
      <Schedules tenant={t} pipeline={name} />
      <h2>Runs</h2>
      <RunsTable tenant={t} pipeline={name} query={query} base={base} />
    </Page>
  );
}
