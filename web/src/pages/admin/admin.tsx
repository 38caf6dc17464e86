import { useState } from 'preact/hooks';

import { api, call, type S } from '../../api/client';
import { useData } from '../../components/data';
import { ErrorBox, Field, Page, Table, Time } from '../../components/ui';

function Tokens() {
  const [name, setName] = useState('');
  const [err, setErr] = useState('');
  const [secret, setSecret] = useState('');
  const d = useData((signal) => api.get('/api/v1/tokens', { signal }), []);
  const run = async (fn: () => Promise<unknown>) => { setErr(''); try { await fn(); d.reload(); } catch (e) { setErr((e as Error).message); } };
  return (
    <>
      <h2>Your tokens</h2>
      <form class="inline" aria-label="Create a token" onSubmit={(e) => { e.preventDefault(); run(async () => { const t = await call('post', '/api/v1/tokens', { body: { name } as never }); setSecret(t.secret); }); }}>
        <Field label="Token name" id="tok-name"><input id="tok-name" required value={name} onInput={(e) => setName((e.target as HTMLInputElement).value)} /></Field>
        <button type="submit">Create token</button>
      </form>
      {secret && <p role="status">New token (shown once): <code>{secret}</code></p>}
      <ErrorBox error={err || d.error} status={d.status} />
      {d.data && <Table label="Your tokens" head={['Name', 'ID', 'Created', 'Expires', '']} rows={d.data.items.map((t) => [t.name, <code>{t.id}</code>, <Time at={t.createdAt} />, <Time at={t.expiresAt} />,
        <button type="button" aria-label={`Revoke token ${t.name}`} onClick={() => run(() => call('delete', '/api/v1/tokens/{id}', { path: { id: t.id } }))}>Revoke</button>])} />}
    </>
  );
}

function Users() {
  const [name, setName] = useState('');
  const [who, setWho] = useState('');
  const [err, setErr] = useState('');
  const [msg, setMsg] = useState('');
  const [tokens, setTokens] = useState<S['Token'][] | null>(null);
  const run = async (fn: () => Promise<unknown>) => { setErr(''); setMsg(''); try { await fn(); } catch (e) { setErr((e as Error).message); } };
  const look = () => run(async () => setTokens((await api.get('/api/v1/users/{user}/tokens', { path: { user: who } })).items));
  return (
    <>
      <h2>Users</h2>
      <form class="inline" aria-label="Create a user" onSubmit={(e) => { e.preventDefault(); run(async () => { const u = await call('post', '/api/v1/users', { body: { name } as never }); setMsg(`User ${u.user.name} created; first token (shown once): ${u.token}`); }); }}>
        <Field label="New user" id="user-name"><input id="user-name" required value={name} onInput={(e) => setName((e.target as HTMLInputElement).value)} /></Field>
        <button type="submit">Create user</button>
      </form>
      <form class="inline" aria-label="Manage a user" onSubmit={(e) => { e.preventDefault(); look(); }}>
        <Field label="User" id="user-who"><input id="user-who" required value={who} onInput={(e) => setWho((e.target as HTMLInputElement).value)} /></Field>
        <button type="submit">Show tokens</button>
        <button type="button" onClick={() => run(async () => { await call('post', '/api/v1/users/{user}/disable', { path: { user: who } }); setMsg(`${who} disabled`); })}>Disable</button>
        <button type="button" onClick={() => run(async () => { await call('post', '/api/v1/users/{user}/enable', { path: { user: who } }); setMsg(`${who} enabled`); })}>Enable</button>
      </form>
      {msg && <p role="status">{msg}</p>}
      <ErrorBox error={err} />
      {tokens && <Table label={`Tokens of ${who}`} head={['Name', 'ID', 'Created', 'Expires', '']} rows={tokens.map((t) => [t.name, <code>{t.id}</code>, <Time at={t.createdAt} />, <Time at={t.expiresAt} />,
        <button type="button" aria-label={`Revoke ${who}'s token ${t.name}`} onClick={() => run(async () => { await call('delete', '/api/v1/users/{user}/tokens/{id}', { path: { user: who, id: t.id } }); await look(); })}>Revoke</button>])} />}
    </>
  );
}

function Members() {
  const ts = useData((signal) => api.get('/api/v1/tenants', { query: { limit: 200 }, signal }), []);
  const [tenant, setTenant] = useState('');
  const [form, setForm] = useState({ user: '', role: 'viewer' });
  const [err, setErr] = useState('');
  const t = tenant || ts.data?.items[0]?.name || '';
  const d = useData((signal) => (t ? api.get('/api/v1/tenants/{tenant}/members', { path: { tenant: t }, signal }) : Promise.resolve({ items: [] as S['Member'][] })), [t]);
  const run = async (fn: () => Promise<unknown>) => { setErr(''); try { await fn(); d.reload(); } catch (e) { setErr((e as Error).message); } };
  return (
    <>
      <h2>Members</h2>
      <form class="inline" aria-label="Add or change a member" onSubmit={(e) => { e.preventDefault(); run(() => call('put', '/api/v1/tenants/{tenant}/members/{user}', { path: { tenant: t, user: form.user }, body: { role: form.role } as never })); }}>
        <Field label="Tenant" id="mem-tenant">
          <select id="mem-tenant" value={t} onChange={(e) => setTenant((e.target as HTMLSelectElement).value)}>
            {(ts.data?.items ?? []).map((x) => <option key={x.name} value={x.name}>{x.name}</option>)}
          </select>
        </Field>
        <Field label="User" id="mem-user"><input id="mem-user" required value={form.user} onInput={(e) => setForm({ ...form, user: (e.target as HTMLInputElement).value })} /></Field>
        <Field label="Role" id="mem-role">
          <select id="mem-role" value={form.role} onChange={(e) => setForm({ ...form, role: (e.target as HTMLSelectElement).value })}>
            <option value="viewer">viewer</option><option value="editor">editor</option><option value="owner">owner</option>
          </select>
        </Field>
        <button type="submit">Set role</button>
      </form>
      <ErrorBox error={err || d.error || ts.error} status={d.status} />
      {d.data && <Table label={`Members of ${t}`} head={['User', 'Role', '']} empty="No members." rows={d.data.items.map((m) => [m.user, m.role,
        <button type="button" aria-label={`Remove ${m.user}`} onClick={() => run(() => call('delete', '/api/v1/tenants/{tenant}/members/{user}', { path: { tenant: t, user: m.user } }))}>Remove</button>])} />}
    </>
  );
}

export function Admin() {
  const me = useData((signal) => api.get('/api/v1/whoami', { signal }), []);
  return (
    <Page title="Admin">
      <ErrorBox error={me.error} status={me.status} />
      <Tokens />
      {me.data?.admin && <Users />}
      <Members />
    </Page>
  );
}
