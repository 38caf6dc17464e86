import { api } from '../../api/client';
import { useData } from '../../components/data';
import { ErrorBox, Loading, Page, State, Time, Table } from '../../components/ui';
import type { PageProps } from '../../router';
import { tenantPath } from '../../router';

export function Jobs({ params }: PageProps) {
  const t = params.tenant;
  const d = useData((signal) => api.get('/api/v1/tenants/{tenant}/jobs', { path: { tenant: t }, query: { limit: 200 }, signal }), [t], 5000);
  return (
    <Page title="Jobs">
      <ErrorBox error={d.error} status={d.status} />
      <Loading when={d.loading} />
      {d.data && (
        <Table label="Jobs" head={['Name', 'State', 'Replicas', 'Image', 'Created', 'By', 'Reason']} empty="No jobs yet: ferry job submit"
          rows={d.data.items.map((j) => [
            <a href={tenantPath(t, 'jobs', j.name)}>{j.name}</a>, <State state={j.state} />,
            `${(j.replicas ?? []).filter((r) => r.phase === 'Running').length}/${j.spec.replicas ?? 1}`,
            j.spec.image, <Time at={j.createdAt} />, j.createdBy, j.reason ?? '',
          ])} />
      )}
    </Page>
  );
}
