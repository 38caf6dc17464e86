import { api } from '../../api/client';
import { useData } from '../../components/data';
import { ErrorBox, Loading, Page, State } from '../../components/ui';
import type { PageProps } from '../../router';
import { tenantPath } from '../../router';
import { quantity, usage } from './quantity';

function Meter(props: { label: string; used: number; total: number; fmt: (n: number) => string }) {
  const pct = props.total > 0 ? Math.min(100, (100 * props.used) / props.total) : 0;
  return (
    <div class="card">
      <h2>{props.label}</h2>
      <div class="bar" role="meter" aria-label={`${props.label} used`} aria-valuemin={0} aria-valuemax={props.total} aria-valuenow={props.used}>
        <span style={{ width: `${pct}%` }} />
      </div>
      <p>{props.fmt(props.used)} of {props.total > 0 ? props.fmt(props.total) : 'no quota'} ({pct.toFixed(0)}%)</p>
    </div>
  );
}

const gib = (n: number) => `${(n / 2 ** 30).toFixed(1)} GiB`;
const cores = (n: number) => `${Number(n.toFixed(2))} CPU`;

export function Overview({ params }: PageProps) {
  const t = params.tenant;
  const d = useData(async (signal) => {
    const [tenant, jobs, nbs] = await Promise.all([
      api.get('/api/v1/tenants/{tenant}', { path: { tenant: t }, signal }),
      api.get('/api/v1/tenants/{tenant}/jobs', { path: { tenant: t }, query: { limit: 200 }, signal }),
      api.get('/api/v1/tenants/{tenant}/notebooks', { path: { tenant: t }, query: { limit: 200 }, signal }),
    ]);
    return { tenant, jobs: jobs.items, nbs: nbs.items };
  }, [t], 10000);
  const u = d.data ? usage(d.data.jobs as never, d.data.nbs as never) : undefined;
  const q = d.data?.tenant.quota;
  const counts = new Map<string, number>();
  for (const j of d.data?.jobs ?? []) counts.set(j.state, (counts.get(j.state) ?? 0) + 1);
  return (
    <Page title={`Tenant ${t}`}>
      <ErrorBox error={d.error} status={d.status} />
      <Loading when={d.loading} />
      {d.data && u && (
        <>
          {d.data.tenant.displayName && <p>{d.data.tenant.displayName}</p>}
          <h2>Quota usage</h2>
          <div class="cards">
            <Meter label="CPU" used={u.cpu} total={quantity(q?.cpu)} fmt={cores} />
            <Meter label="Memory" used={u.memory} total={quantity(q?.memory)} fmt={gib} />
            <Meter label="GPU" used={u.gpu} total={q?.gpu ?? 0} fmt={(n) => `${n} GPU`} />
          </div>
          <h2>Jobs</h2>
          <p>
            {[...counts].map(([s, n]) => <span key={s}><State state={s} /> {n} </span>)}
            {!counts.size && 'No jobs yet. '}<a href={tenantPath(t, 'jobs')}>All jobs</a>
          </p>
          <h2>Notebooks</h2>
          <p>{d.data.nbs.length} notebook(s). <a href={tenantPath(t, 'notebooks')}>All notebooks</a></p>
        </>
      )}
    </Page>
  );
}
