import { useState } from 'preact/hooks';

import { api, call } from '../../api/client';
import { useData } from '../../components/data';
import { ErrorBox, Loading, Page, State, Table, Time } from '../../components/ui';
import type { PageProps } from '../../router';
import { tenantPath } from '../../router';
import { Logs } from './logs';

const ended = (s: string) => s === 'succeeded' || s === 'failed' || s === 'cancelled';

export function JobDetail({ params }: PageProps) {
  const { tenant: t, name } = params;
  const [replica, setReplica] = useState(0);
  const [err, setErr] = useState('');
  const d = useData((signal) => api.get('/api/v1/tenants/{tenant}/jobs/{name}', { path: { tenant: t, name }, signal }), [t, name], 3000);
  const j = d.data;
  const reps = j?.replicas ?? [];
  const hasLogs = j && j.state !== 'queued' && reps.length > 0;
  const cancel = async () => {
    setErr('');
    try { await call('post', '/api/v1/tenants/{tenant}/jobs/{name}/cancel', { path: { tenant: t, name } }); d.reload(); } catch (e) { setErr((e as Error).message); }
  };
  return (
    <Page title={`Job ${name}`} actions={j && !ended(j.state) && <button type="button" onClick={cancel}>Cancel job</button>}>
      <ErrorBox error={d.error ?? err} status={d.status} />
      <Loading when={d.loading} />
      {j && (
        <>
          <dl class="kv">
            <dt>State</dt><dd><State state={j.state} /> {j.reason && <span>{j.reason}</span>}</dd>
            <dt>Image</dt><dd><code>{j.spec.image}</code></dd>
            <dt>Command</dt><dd><code>{[...(j.spec.command ?? []), ...(j.spec.args ?? [])].join(' ') || '—'}</code></dd>
            <dt>Resources</dt><dd>{j.spec.replicas ?? 1} × {j.spec.resources?.cpu ?? '—'} CPU, {j.spec.resources?.memory ?? '—'}, {j.spec.resources?.gpu ?? 0} GPU</dd>
            <dt>Created</dt><dd><Time at={j.createdAt} /> by {j.createdBy}</dd>
            <dt>Started</dt><dd><Time at={j.startedAt} /></dd>
            <dt>Finished</dt><dd><Time at={j.finishedAt} /></dd>
            {j.run && <><dt>Run</dt><dd><a href={tenantPath(t, 'runs', j.run.runId)}>{j.run.runId}</a></dd></>}
          </dl>
          <h2>Replicas</h2>
          <Table label="Replicas" head={['Rank', 'Phase', 'Pod', 'Node', 'Restarts', 'Exit code']} empty={j.state === 'queued' ? 'Queued: no replicas until the job is admitted.' : 'No replicas.'}
            rows={reps.map((r) => [r.index, <State state={r.phase} />, r.pod ?? '', r.node ?? '', r.restarts ?? 0, r.exitCode ?? ''])} />
          <h2>Logs</h2>
          {hasLogs ? (
            <>
              <label for="replica">Replica </label>
              <select id="replica" value={String(replica)} onChange={(e) => setReplica(Number((e.target as HTMLSelectElement).value))}>
                {reps.map((r) => <option key={r.index} value={String(r.index)}>{r.index}</option>)}
              </select>
              <Logs tenant={t} job={name} replica={replica} follow={!ended(j.state)} />
            </>
          ) : <p class="muted">{j.state === 'queued' ? 'The job is queued; its log starts when it runs.' : 'No log.'}</p>}
        </>
      )}
    </Page>
  );
}
