// Keys lists a deployment's API keys, makes one (its secret shown once)
// and revokes them.
import { useState } from 'preact/hooks';

import { ErrorBox, Field, Loading, Table, Time } from '../../components/ui';
import { createKey, deleteKey, useKeys } from './data';

export function Keys(props: { tenant: string; name: string; url: string }) {
  const { tenant: t, name } = props;
  const d = useKeys(t, name);
  const [keyName, setKeyName] = useState('');
  const [secret, setSecret] = useState('');
  const [err, setErr] = useState('');
  const make = async (e: Event) => {
    e.preventDefault();
    setErr(''); setSecret('');
    try { const k = await createKey(t, name, keyName); setSecret(k.secret ?? ''); setKeyName(''); d.reload(); } catch (x) { setErr((x as Error).message); }
  };
  const revoke = async (id: string, label: string) => {
    if (!confirm(`Revoke key ${label}? Callers using it are refused from now on.`)) return;
    setErr('');
    try { await deleteKey(t, name, id); d.reload(); } catch (x) { setErr((x as Error).message); }
  };
  return (
    <>
      <ErrorBox error={d.error ?? err} status={d.status} />
      <Loading when={d.loading} />
      {secret && (
        <div class="card" role="status" data-testid="new-key">
          <p>The new key, shown only now: <code>{secret}</code></p>
          <p class="muted">Send it as <code>X-Ferry-Key: {secret.slice(0, 12)}…</code> (or as a bearer token) to the gateway at <code>{props.url}</code>.</p>
        </div>
      )}
      {d.data && (
        <Table label="API keys" head={['Name', 'ID', 'Created', 'By', '']} empty="No keys: callers need a ferry token or a key made here."
          rows={(d.data.items ?? []).map((k) => [k.name || '—', <code>{k.id}</code>, <Time at={k.createdAt} />, k.createdBy,
            <button type="button" onClick={() => revoke(k.id, k.name || k.id)} aria-label={`Revoke key ${k.name || k.id}`}>Revoke</button>])} />
      )}
      <form class="inline" onSubmit={make} aria-label="Make an API key">
        <Field label="Key name (what it is for)" id="key-name"><input id="key-name" maxLength={100} value={keyName} onInput={(e) => setKeyName((e.target as HTMLInputElement).value)} /></Field>
        <button type="submit">Make key</button>
      </form>
    </>
  );
}
