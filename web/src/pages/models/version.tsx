// One model version: its status, source, run, tags and aliases, and its
// lineage: the run, job or pipeline step that made it and the pipeline
// steps upstream of it with their input artifacts.
import { api, ApiError, type S } from '../../api/client';
import { useData } from '../../components/data';
import { ErrorBox, Loading, Page, State, Table, Time } from '../../components/ui';
import type { PageProps } from '../../router';
import { tenantPath } from '../../router';

type Lineage = S['ModelVersionLineage'];
type Made = S['LineageRun'];

/** versionNumber is the route's version as the API's integer, or an error naming it. */
export function versionNumber(v: string): number {
  const n = Number(v);
  if (!/^\d+$/.test(v) || !Number.isSafeInteger(n) || n < 1) throw new ApiError(404, `model version ${JSON.stringify(v)} is not a version number`);
  return n;
}

/** short shows a sha256 digest by its first 12 hex digits. */
export const short = (digest: string) => digest.replace(/^(sha256:[0-9a-f]{12})[0-9a-f]+$/, '$1…');

/** stepHref is the pipeline run's page with the step selected (an item of a fan-out selects its step). */
const stepHref = (t: string, run: string, step?: string) =>
  tenantPath(t, 'pipeline-runs', run) + (step ? `?step=${encodeURIComponent(step.replace(/\[\d+\]$/, ''))}` : '');

const runLink = (t: string, id?: string) => (id ? <a href={tenantPath(t, 'runs', id)}>{id.slice(0, 12)}</a> : <span class="muted">—</span>);

function Digests(props: { of?: Record<string, string> }) {
  const e = Object.entries(props.of ?? {});
  if (!e.length) return <span class="muted">—</span>;
  return <>{e.map(([name, d], i) => <span key={name}>{i > 0 && ', '}{name} <code title={d}>{short(d)}</code></span>)}</>;
}

/** MadeBy says what made the version: a pipeline step, a job, or a run alone. */
function MadeBy(props: { tenant: string; by: Made }) {
  const { tenant: t, by } = props;
  if (by.pipelineRun) {
    return <>step <a href={stepHref(t, by.pipelineRun, by.step)}>{by.step ?? '?'}</a> of pipeline run <a href={tenantPath(t, 'pipeline-runs', by.pipelineRun)}>{by.pipelineRun.slice(0, 12)}</a>{by.pipeline && <> ({by.pipeline})</>}, run {runLink(t, by.runId)}</>;
  }
  if (by.job) return <>job <a href={tenantPath(t, 'jobs', by.job)}>{by.job}</a>, run {runLink(t, by.runId)}</>;
  if (by.runId) return <>run {runLink(t, by.runId)} (no job or pipeline step)</>;
  return <span class="muted">no run: registered from a source outside tracking</span>;
}

function LineageView(props: { tenant: string; lineage: Lineage }) {
  const { tenant: t, lineage: l } = props;
  const steps = l.steps ?? [];
  const artifacts = l.artifacts ?? [];
  return (
    <section aria-labelledby="lineage-title">
      <h2 id="lineage-title">Lineage</h2>
      <p>Made by: <MadeBy tenant={t} by={l.madeBy} /></p>
      {l.truncated && <p class="muted">The lineage was cut short at its depth or step limit.</p>}
      <Table label="Upstream steps" head={['Step', 'Pipeline run', 'State', 'Depth', 'Run', 'Inputs', 'Outputs', 'Upstream']}
        empty="No pipeline steps: the version's run is no pipeline step's."
        rows={steps.map((s) => [
          <a href={stepHref(t, s.pipelineRun, s.step)}>{s.step}</a>,
          <><a href={tenantPath(t, 'pipeline-runs', s.pipelineRun)}>{s.pipelineRun.slice(0, 12)}</a> ({s.pipeline})</>,
          <><State state={s.state} />{s.cachedFrom && <> cached from <a href={tenantPath(t, 'pipeline-runs', s.cachedFrom)}>{s.cachedFrom.slice(0, 12)}</a></>}</>,
          s.depth, runLink(t, s.runId), <Digests of={s.inputs} />, <Digests of={s.outputs} />,
          (s.upstream ?? []).join(', ') || '—',
        ])} />
      {artifacts.length > 0 && (
        <>
          <h3>Input artifacts</h3>
          <ul aria-label="Input artifacts">{artifacts.map((d) => <li key={d}><code>{d}</code></li>)}</ul>
        </>
      )}
    </section>
  );
}

export function ModelVersionDetail({ params }: PageProps) {
  const { tenant: t, model, version } = params;
  const d = useData(async (signal) => {
    const n = versionNumber(version);
    const [v, lineage] = await Promise.all([
      api.get('/api/v1/tenants/{tenant}/models/{model}/versions/{version}', { path: { tenant: t, model, version: n }, signal }),
      api.get('/api/v1/tenants/{tenant}/models/{model}/versions/{version}/lineage', { path: { tenant: t, model, version: n }, signal }),
    ]);
    return { v, lineage };
  }, [t, model, version]);
  const v = d.data?.v;
  const tags = Object.entries(v?.tags ?? {});
  return (
    <Page title={`Model ${model} version ${version}`}>
      <p><a href={tenantPath(t, 'models', model)}>All versions of {model}</a></p>
      <ErrorBox error={d.error} status={d.status} />
      <Loading when={d.loading} />
      {d.data && v && (
        <>
          <dl class="kv">
            <dt>Status</dt><dd><State state={v.status} /></dd>
            <dt>Source</dt><dd><code>{v.source}</code></dd>
            <dt>Run</dt><dd>{runLink(t, v.runId)}</dd>
            <dt>Aliases</dt><dd>{(v.aliases ?? []).join(', ') || 'none'}</dd>
            <dt>Description</dt><dd>{v.description || <span class="muted">none</span>}</dd>
            <dt>Created</dt><dd><Time at={v.createdAt} />{v.createdBy && <> by {v.createdBy}</>}</dd>
            <dt>Updated</dt><dd><Time at={v.updatedAt} /></dd>
          </dl>
          <Table label="Tags" head={['Tag', 'Value']} empty="No tags." rows={tags.map(([k, val]) => [k, val])} />
          <LineageView tenant={t} lineage={d.data.lineage} />
        </>
      )}
    </Page>
  );
}
