import { Fragment } from 'preact';

import { api } from '../../api/client';
import { useData } from '../../components/data';
import { ErrorBox, Loading, Page, State, Table, Time } from '../../components/ui';
import type { PageProps } from '../../router';
import { tenantPath } from '../../router';
import { lineage } from './lineage';

export function RunDetail({ params }: PageProps) {
  const { tenant: t, run } = params;
  const d = useData((signal) => api.get('/api/v1/tenants/{tenant}/runs/{run}', { path: { tenant: t, run }, signal }), [t, run]);
  const r = d.data;
  return (
    <Page title={`Run ${r?.name || run}`}>
      <ErrorBox error={d.error} status={d.status} />
      <Loading when={d.loading} />
      {r && (
        <>
          <dl class="kv">
            <dt>ID</dt><dd><code>{r.id}</code></dd>
            <dt>Status</dt><dd><State state={r.status} /></dd>
            <dt>Experiment</dt><dd><a href={tenantPath(t, 'experiments', r.experimentId)}>{r.experimentId}</a></dd>
            <dt>User</dt><dd>{r.user ?? ''}</dd>
            <dt>Started</dt><dd><Time at={r.startTime} /></dd>
            <dt>Ended</dt><dd><Time at={r.endTime} /></dd>
            {lineage(t, r.id, r.tags ?? undefined).map((l) => <Fragment key={l.label}><dt>{l.label}</dt><dd><a href={l.href}>{l.text}</a></dd></Fragment>)}
          </dl>
          <h2>Parameters</h2>
          <Table label="Parameters" head={['Key', 'Value']} rows={Object.entries(r.params ?? {}).map(([k, v]) => [k, v])} empty="No parameters." />
          <h2>Metrics (latest)</h2>
          <Table label="Metrics" head={['Key', 'Value', 'Step']} rows={(r.metrics ?? []).map((m) => [m.key, String(m.value), m.step])} empty="No metrics." />
          <h2>Tags</h2>
          <Table label="Tags" head={['Key', 'Value']} rows={Object.entries(r.tags ?? {}).map(([k, v]) => [k, v])} empty="No tags." />
        </>
      )}
    </Page>
  );
}
