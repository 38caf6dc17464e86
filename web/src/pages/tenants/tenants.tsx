import { api } from '../../api/client';
import { useData } from '../../components/data';
import { ErrorBox, Loading, Page, Table } from '../../components/ui';
import { tenantPath } from '../../router';

export function Tenants() {
  const me = useData((signal) => api.get('/api/v1/whoami', { signal }), []);
  const d = useData((signal) => api.get('/api/v1/tenants', { query: { limit: 200 }, signal }), []);
  const roles = new Map((me.data?.memberships ?? []).map((m) => [m.tenant, m.role]));
  return (
    <Page title="Tenants">
      {me.data && <p>Signed in as <strong>{me.data.name}</strong>{me.data.admin ? ' (platform admin)' : ''}.</p>}
      <ErrorBox error={me.error ?? d.error} status={me.status ?? d.status} />
      <Loading when={d.loading} />
      {d.data && (
        <Table label="Tenants" head={['Tenant', 'Display name', 'Your role', 'Quota (CPU / memory / GPU)']} empty="No tenants you can see."
          rows={d.data.items.map((t) => [
            <a href={tenantPath(t.name)}>{t.name}</a>, t.displayName ?? '', roles.get(t.name) ?? (me.data?.admin ? 'admin' : ''),
            `${t.quota?.cpu ?? '—'} / ${t.quota?.memory ?? '—'} / ${t.quota?.gpu ?? 0}`,
          ])} />
      )}
    </Page>
  );
}
