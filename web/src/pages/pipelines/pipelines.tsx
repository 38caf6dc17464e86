import { ErrorBox, Loading, Page, Table, Time } from '../../components/ui';
import type { PageProps } from '../../router';
import { tenantPath } from '../../router';
import { usePipelines } from './data';
import { RunsTable } from './runs';
import { Schedules } from './schedules';

export function Pipelines({ params, query }: PageProps) {
  const t = params.tenant;
  const d = usePipelines(t);
  return (
    <Page title="Pipelines">
      <ErrorBox error={d.error} status={d.status} />
      <Loading when={d.loading} />
      {d.data && (
        <Table label="Pipelines" head={['Name', 'Latest version', 'Description', 'Updated', 'By']} empty="No pipelines yet: ferry pipeline create -f pipeline.yaml"
          rows={d.data.items.map((p) => [
            <a href={tenantPath(t, 'pipelines', p.name)}>{p.name}</a>, `v${p.latestVersion}`, p.description ?? '', <Time at={p.updatedAt} />, p.createdBy,
          ])} />
      )}
      <h2>Schedules</h2>
      <Schedules tenant={t} />
      <h2>Runs</h2>
      <RunsTable tenant={t} query={query} base={tenantPath(t, 'pipelines')} />
    </Page>
  );
}
