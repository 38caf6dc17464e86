// RunsTable lists pipeline runs, newest first, filtered by state through the
// URL (?state=), paged by the API's cursor (?after=).
import type { S } from '../../api/client';
import { ErrorBox, Field, Loading, State, Table, Time } from '../../components/ui';
import { navigate, tenantPath } from '../../router';
import { usePipelineRuns } from './data';
import { duration } from './graph';

const states = ['', 'pending', 'running', 'succeeded', 'failed', 'cancelled'];

export const runLink = (t: string, r: Pick<S['PipelineRun'], 'id'>) => <a href={tenantPath(t, 'pipeline-runs', r.id)}>{r.id.slice(0, 12)}</a>;

export function RunsTable(props: { tenant: string; pipeline?: string; query: URLSearchParams; base: string }) {
  const t = props.tenant;
  const state = props.query.get('state') ?? '';
  const after = props.query.get('after') ?? '';
  const d = usePipelineRuns(t, { pipeline: props.pipeline, state, after });
  const go = (q: Record<string, string>) => {
    const u = new URLSearchParams(props.query);
    for (const [k, v] of Object.entries(q)) { if (v) u.set(k, v); else u.delete(k); }
    const qs = u.toString();
    navigate(props.base + (qs ? `?${qs}` : ''), true);
  };
  return (
    <>
      <div class="filters">
        <Field label="State" id="runs-state">
          <select id="runs-state" value={state} onChange={(e) => go({ state: (e.target as HTMLSelectElement).value, after: '' })}>
            {states.map((s) => <option key={s} value={s}>{s || 'any'}</option>)}
          </select>
        </Field>
        {after && <button type="button" onClick={() => go({ after: '' })}>Newest runs</button>}
      </div>
      <ErrorBox error={d.error} status={d.status} />
      <Loading when={d.loading} />
      {d.data && (
        <>
          <Table label="Pipeline runs" head={['Run', 'Pipeline', 'Version', 'State', 'Created', 'Duration', 'By', 'Reason']}
            empty={state ? `No ${state} runs.` : 'No runs yet: ferry pipeline run NAME'}
            rows={d.data.items.map((r) => [
              runLink(t, r), <a href={tenantPath(t, 'pipelines', r.pipeline)}>{r.pipeline}</a>, `v${r.version}`, <State state={r.state} />,
              <Time at={r.createdAt} />, duration(r.startedAt, r.finishedAt), r.schedule ? `${r.createdBy} (schedule ${r.schedule})` : r.createdBy, r.reason ?? '',
            ])} />
          {d.data.next && <p><button type="button" onClick={() => go({ after: d.data!.next! })}>Older runs</button></p>}
        </>
      )}
    </>
  );
}
