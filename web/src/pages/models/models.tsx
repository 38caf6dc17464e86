import { api } from '../../api/client';
import { useData } from '../../components/data';
import { ErrorBox, Loading, Page, State, Table, Time } from '../../components/ui';
import type { PageProps } from '../../router';
import { tenantPath } from '../../router';
import { useDeployments } from '../deployments/data';

const aliasText = (a: unknown) => (Array.isArray(a) ? a.join(', ') : a && typeof a === 'object' ? Object.entries(a).map(([k, v]) => `${k} → v${v}`).join(', ') : '');

export function Models({ params }: PageProps) {
  const t = params.tenant;
  const d = useData((signal) => api.get('/api/v1/tenants/{tenant}/models', { path: { tenant: t }, query: { limit: 200 }, signal }), [t]);
  return (
    <Page title="Models">
      <ErrorBox error={d.error} status={d.status} />
      <Loading when={d.loading} />
      {d.data && (
        <Table label="Models" head={['Name', 'Latest version', 'Aliases', 'Updated', 'By']} empty="No registered models yet."
          rows={d.data.items.map((m) => [<a href={tenantPath(t, 'models', m.name)}>{m.name}</a>, m.latestVersion ?? '', aliasText(m.aliases), <Time at={m.updatedAt} />, m.createdBy ?? ''])} />
      )}
    </Page>
  );
}

export function Model({ params }: PageProps) {
  const { tenant: t, model } = params;
  const d = useData(async (signal) => {
    const [m, v] = await Promise.all([
      api.get('/api/v1/tenants/{tenant}/models/{model}', { path: { tenant: t, model }, signal }),
      api.get('/api/v1/tenants/{tenant}/models/{model}/versions', { path: { tenant: t, model }, query: { limit: 200 }, signal }),
    ]);
    return { m, versions: v.items };
  }, [t, model]);
  const deps = useDeployments(t);
  const served = (deps.data?.items ?? []).flatMap((d) => (d.revisions ?? []).filter((r) => r.model === model && r.role !== 'retired').map((r) => ({ d: d.name, r })));
  return (
    <Page title={`Model ${model}`}>
      <ErrorBox error={d.error} status={d.status} />
      <Loading when={d.loading} />
      {d.data && (
        <>
          {d.data.m.description && <p>{d.data.m.description}</p>}
          <p>Aliases: {aliasText(d.data.m.aliases) || 'none'}</p>
          <p>Served by: {served.length ? served.map(({ d: name, r }, i) => (
            <span key={r.name}>{i > 0 && ', '}<a href={tenantPath(t, 'deployments', name)}>{name}</a> (v{r.version} {r.role} {r.weight}%)</span>
          )) : 'no deployment'}</p>
          <Table label="Versions" head={['Version', 'Status', 'Aliases', 'Source run', 'Job', 'Created', 'By']} empty="No versions."
            rows={d.data.versions.map((v) => [
              <a href={tenantPath(t, 'models', model, 'versions', String(v.version))}>v{v.version}</a>, <State state={v.status} />, aliasText(v.aliases),
              v.runId ? <a href={tenantPath(t, 'runs', v.runId)}>{v.runId.slice(0, 12)}</a> : '—',
              v.job ? <a href={tenantPath(t, 'jobs', v.job)}>{v.job}</a> : '—', <Time at={v.createdAt} />, v.createdBy ?? '',
            ])} />
        </>
      )}
    </Page>
  );
}
