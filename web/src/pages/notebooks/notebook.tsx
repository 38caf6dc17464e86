// One notebook: its state and why, image, resources, workspace, idle time,
// and open, stop or start (its stable URL is /tenants/{t}/notebooks/{name}).
import { useState } from 'preact/hooks';

import { api, call } from '../../api/client';
import { useData } from '../../components/data';
import { ago, ErrorBox, Loading, Page, State, Time } from '../../components/ui';
import type { PageProps } from '../../router';
import { tenantPath } from '../../router';

export function NotebookDetail({ params }: PageProps) {
  const { tenant: t, name } = params;
  const [err, setErr] = useState('');
  const d = useData((signal) => api.get('/api/v1/tenants/{tenant}/notebooks/{name}', { path: { tenant: t, name }, signal }), [t, name], 5000);
  const n = d.data;
  const act = async (fn: () => Promise<unknown>) => {
    setErr('');
    try { await fn(); d.reload(); } catch (e) { setErr((e as Error).message); }
  };
  const open = () => act(async () => {
    const h = await call('post', '/api/v1/tenants/{tenant}/notebooks/{name}/session', { path: { tenant: t, name } });
    window.open(h.url, '_blank', 'noopener');
  });
  const toggle = (verb: 'start' | 'stop') => act(() => call('post', `/api/v1/tenants/{tenant}/notebooks/{name}/${verb}`, { path: { tenant: t, name } }));
  const actions = n && (
    <>
      <button type="button" onClick={open}>Open</button>
      {n.state === 'stopped' ? <button type="button" onClick={() => toggle('start')}>Start</button> : <button type="button" onClick={() => toggle('stop')}>Stop</button>}
    </>
  );
  return (
    <Page title={`Notebook ${name}`} actions={actions}>
      <ErrorBox error={d.error ?? err} status={d.status} />
      <Loading when={d.loading} />
      {n && (
        <dl class="kv">
          <dt>State</dt><dd><State state={n.state} /> {n.reason && <span>{n.reason}</span>}</dd>
          <dt>Image</dt><dd><code>{n.image}</code></dd>
          <dt>Resources</dt><dd>{n.resources?.cpu ?? '—'} CPU, {n.resources?.memory ?? '—'}, {n.resources?.gpu ?? 0} GPU</dd>
          <dt>Workspace</dt><dd>{n.workspace || '—'}</dd>
          <dt>Idle for</dt><dd>{n.state === 'running' ? ago(n.lastActivity) : '—'} (last activity <Time at={n.lastActivity} />)</dd>
          <dt>Created</dt><dd><Time at={n.createdAt} /> by {n.createdBy}</dd>
          <dt>Proxy path</dt><dd><code>{n.url}</code></dd>
          <dt>All notebooks</dt><dd><a href={tenantPath(t, 'notebooks')}>{t}'s notebooks</a></dd>
        </dl>
      )}
    </Page>
  );
}
