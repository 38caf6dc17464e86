import { useState } from 'preact/hooks';

import { api, call } from '../../api/client';
import { useData } from '../../components/data';
import { ago, ErrorBox, Field, Loading, Page, State, Table, Time } from '../../components/ui';
import type { PageProps } from '../../router';
import { tenantPath } from '../../router';

export function Notebooks({ params }: PageProps) {
  const t = params.tenant;
  const [err, setErr] = useState('');
  const [form, setForm] = useState({ name: '', image: '', cpu: '1', memory: '2Gi' });
  const d = useData((signal) => api.get('/api/v1/tenants/{tenant}/notebooks', { path: { tenant: t }, query: { limit: 200 }, signal }), [t], 5000);
  const act = async (fn: () => Promise<unknown>) => {
    setErr('');
    try { await fn(); d.reload(); } catch (e) { setErr((e as Error).message); }
  };
  const create = (e: Event) => {
    e.preventDefault();
    act(() => call('post', '/api/v1/tenants/{tenant}/notebooks', { path: { tenant: t },
      body: { name: form.name, image: form.image || undefined, resources: { cpu: form.cpu, memory: form.memory } } as never }));
  };
  const open = (name: string) => act(async () => {
    const h = await call('post', '/api/v1/tenants/{tenant}/notebooks/{name}/session', { path: { tenant: t, name } });
    window.open(h.url, '_blank', 'noopener');
  });
  const set = (k: keyof typeof form) => (e: Event) => setForm({ ...form, [k]: (e.target as HTMLInputElement).value });
  return (
    <Page title="Notebooks">
      <form class="inline" onSubmit={create} aria-label="Create a notebook">
        <Field label="Name" id="nb-name"><input id="nb-name" required maxLength={50} value={form.name} onInput={set('name')} /></Field>
        <Field label="Image (optional)" id="nb-image"><input id="nb-image" value={form.image} onInput={set('image')} /></Field>
        <Field label="CPU" id="nb-cpu"><input id="nb-cpu" size={4} value={form.cpu} onInput={set('cpu')} /></Field>
        <Field label="Memory" id="nb-mem"><input id="nb-mem" size={6} value={form.memory} onInput={set('memory')} /></Field>
        <button type="submit" class="primary">Create notebook</button>
      </form>
      <ErrorBox error={err || d.error} status={d.status} />
      <Loading when={d.loading} />
      {d.data && (
        <Table label="Notebooks" head={['Name', 'State', 'Idle for', 'Last activity', 'Resources', 'Actions']} empty="No notebooks yet."
          rows={d.data.items.map((n) => [
            <a href={tenantPath(t, 'notebooks', n.name)}>{n.name}</a>, <><State state={n.state} /> {n.reason ?? ''}</>, n.state === 'running' ? ago(n.lastActivity) : '—', <Time at={n.lastActivity} />,
            `${n.resources?.cpu ?? '—'} CPU, ${n.resources?.memory ?? '—'}`,
            <span class="actions">
              <button type="button" onClick={() => open(n.name)} aria-label={`Open ${n.name}`}>Open</button>{' '}
              {n.state === 'stopped'
                ? <button type="button" onClick={() => act(() => call('post', '/api/v1/tenants/{tenant}/notebooks/{name}/start', { path: { tenant: t, name: n.name } }))} aria-label={`Start ${n.name}`}>Start</button>
                : <button type="button" onClick={() => act(() => call('post', '/api/v1/tenants/{tenant}/notebooks/{name}/stop', { path: { tenant: t, name: n.name } }))} aria-label={`Stop ${n.name}`}>Stop</button>}{' '}
              <button type="button" onClick={() => confirm(`Delete notebook ${n.name} and its workspace?`) && act(() => call('delete', '/api/v1/tenants/{tenant}/notebooks/{name}', { path: { tenant: t, name: n.name } }))} aria-label={`Delete ${n.name}`}>Delete</button>
            </span>,
          ])} />
      )}
    </Page>
  );
}
