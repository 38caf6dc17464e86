import { useState } from 'preact/hooks';

import { api, type S } from '../../api/client';
import { useData } from '../../components/data';
import { ErrorBox, Field, Loading, Page, Table, Time } from '../../components/ui';
import type { PageProps } from '../../router';
import { navigate } from '../../router';

export function Audit({ query }: PageProps) {
  const tenant = query.get('tenant') ?? '', actor = query.get('actor') ?? '', after = query.get('after') ?? '';
  const [draft, setDraft] = useState({ tenant, actor });
  const [verify, setVerify] = useState<{ v?: S['AuditVerify']; error?: string; busy?: boolean }>({});
  const d = useData((signal) => api.get('/api/v1/audit', { query: { tenant: tenant || undefined, actor: actor || undefined, after: after || undefined, limit: 100 }, signal }), [tenant, actor, after]);
  const go = (q: Record<string, string>) => navigate('/audit?' + new URLSearchParams(Object.entries(q).filter(([, v]) => v)).toString(), true);
  const check = async () => {
    setVerify({ busy: true });
    try { setVerify({ v: await api.get('/api/v1/audit/verify') }); } catch (e) { setVerify({ error: (e as Error).message }); }
  };
  return (
    <Page title="Audit log" actions={<button type="button" class="primary" onClick={check} disabled={verify.busy}>Verify chain</button>}>
      {verify.v && (
        <p role="status" data-testid="verify-result" class={verify.v.ok ? 'ok' : 'bad'}>
          {verify.v.ok ? 'Chain verified: every row links to the one before and matches the anchor.' : `Chain broken at row ${verify.v.brokenAt}. ${(verify.v.problems ?? []).join('; ')}`}
        </p>
      )}
      <ErrorBox error={verify.error} />
      <form class="filters" aria-label="Filter audit rows" onSubmit={(e) => { e.preventDefault(); go({ tenant: draft.tenant, actor: draft.actor }); }}>
        <Field label="Tenant" id="audit-tenant"><input id="audit-tenant" value={draft.tenant} onInput={(e) => setDraft({ ...draft, tenant: (e.target as HTMLInputElement).value })} /></Field>
        <Field label="Actor" id="audit-actor"><input id="audit-actor" value={draft.actor} onInput={(e) => setDraft({ ...draft, actor: (e.target as HTMLInputElement).value })} /></Field>
        <button type="submit">Filter</button>
      </form>
      <ErrorBox error={d.error} status={d.status} />
      <Loading when={d.loading} />
      {d.data && (
        <>
          <Table label="Audit rows" head={['ID', 'Time', 'Actor', 'Action', 'Tenant', 'Target', 'Result']} empty="No rows."
            rows={d.data.items.map((e) => [e.id, <Time at={e.time} />, e.actor, e.action, e.tenant ?? '', e.target ?? '', e.result])} />
          {d.data.next && <p><a href={'/audit?' + new URLSearchParams({ tenant, actor, after: d.data.next }).toString()}>Older rows</a></p>}
        </>
      )}
    </Page>
  );
}
