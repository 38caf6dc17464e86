import { api } from '../../api/client';
import { useData } from '../../components/data';
import { ErrorBox, Loading, Page, Table, Time } from '../../components/ui';
import type { PageProps } from '../../router';
import { tenantPath } from '../../router';

export function Experiments({ params }: PageProps) {
  const t = params.tenant;
  const d = useData((signal) => api.get('/api/v1/tenants/{tenant}/experiments', { path: { tenant: t }, query: { limit: 200 }, signal }), [t]);
  return (
    <Page title="Experiments">
      <ErrorBox error={d.error} status={d.status} />
      <Loading when={d.loading} />
      {d.data && (
        <Table label="Experiments" head={['Name', 'ID', 'Created', 'Updated']} empty="No experiments yet."
          rows={d.data.items.map((e) => [<a href={tenantPath(t, 'experiments', e.id)}>{e.name}</a>, e.id, <Time at={e.createdAt} />, <Time at={e.updatedAt} />])} />
      )}
    </Page>
  );
}
