// A tenant's usage: its quota against what its pods request and use and
// what is queued; every workload's live use (ferry top), one workload's
// series plotted; and who read the tenant's data (owners and admins).
import { Chart } from '../../components/chart';
import { ErrorBox, Field, Loading, Page, Table, Time } from '../../components/ui';
import type { PageProps } from '../../router';
import { navigate, tenantPath } from '../../router';
import { type Kind, useQuota, useReads, useTop, useWorkload } from './data';
import { cpu, mem, objectHref, use } from './units';

function Meter(props: { label: string; part: number; whole: number; text: string }) {
  const pct = props.whole > 0 ? Math.min(100, (100 * props.part) / props.whole) : 0;
  return (
    <div class="bar" role="meter" aria-label={props.label} aria-valuemin={0} aria-valuemax={props.whole} aria-valuenow={props.part} aria-valuetext={props.text}>
      <span style={{ width: `${pct}%` }} />
    </div>
  );
}

function Quota(props: { tenant: string }) {
  const d = useQuota(props.tenant);
  const q = d.data;
  const row = (name: string, limit: number, req: number, free: number, used: number, f: (n: number) => string) => [
    name, f(limit) + (limit ? '' : ' (no quota)'), <><Meter label={`${name} requested`} part={req} whole={limit} text={`${f(req)} of ${f(limit)}`} /> {f(req)}</>, f(free), f(used),
  ];
  return (
    <>
      <ErrorBox error={d.error} status={d.status} />
      <Loading when={d.loading} />
      {q && (
        <>
          <Table label="Quota" head={['Resource', 'Quota', 'Requested by running pods', 'Free', 'Used (measured)']} rows={[
            row('CPU', q.limit.cpuMillicores, q.requested.cpuMillicores, q.free.cpuMillicores, q.used.cpuMillicores, cpu),
            row('Memory', q.limit.memoryBytes, q.requested.memoryBytes, q.free.memoryBytes, q.used.memoryBytes, mem),
            ['GPU', String(q.limit.gpu), <><Meter label="GPU requested" part={q.requested.gpu} whole={q.limit.gpu} text={`${q.requested.gpu} of ${q.limit.gpu}`} /> {q.requested.gpu}</>, String(q.free.gpu), q.used.gpuPercent ? `${q.used.gpuPercent}% busy` : '—'],
          ]} />
          <p>Queued: {q.queued.jobs} job(s), {q.queued.replicas} replica(s) asking {cpu(q.queued.request.cpuMillicores)}, {mem(q.queued.request.memoryBytes)}{q.queued.request.gpu ? `, ${q.queued.request.gpu} GPU` : ''}.</p>
          <p class="muted" data-testid="sampled">{q.sampledAt ? <>Sampled <Time at={q.sampledAt} />{q.stale ? ' — stale: the sampler has not run for three intervals' : ''}.</> : 'Not sampled yet: requested and used fill in once the sampler runs (it needs a cluster).'}</p>
        </>
      )}
    </>
  );
}

const windows = ['1h', '6h', '1d', '7d'];

function Series(props: { tenant: string; kind: Kind; name: string; window: string; query: URLSearchParams }) {
  const d = useWorkload(props.tenant, props.kind, props.name, props.window);
  const pts = d.data?.series ?? [];
  const x = pts.map((p) => new Date(p.time).getTime() / 1000);
  return (
    <section class="card" aria-labelledby="series-title">
      <h2 id="series-title">{props.kind} {props.name}</h2>
      <div class="filters"><Field label="Window" id="usage-window">
        <select id="usage-window" value={props.window} onChange={(e) => {
          const q = new URLSearchParams(props.query); q.set('window', (e.target as HTMLSelectElement).value);
          navigate(`${tenantPath(props.tenant, 'usage')}?${q}`, true);
        }}>{windows.map((w) => <option key={w} value={w}>{w}</option>)}</select>
      </Field></div>
      <ErrorBox error={d.error} status={d.status} />
      {d.data && (
        <>
          <p>Request {cpu(d.data.request.cpuMillicores)}, {mem(d.data.request.memoryBytes)}; now {use(d.data.current)}; average {use(d.data.average)}; peak {use(d.data.peak)} over {d.data.samples} samples.</p>
          {pts.length > 1 ? (
            <div class="plots">
              <Chart title="CPU (cores)" x="time" time labels={['mean', 'peak', 'request']} testid="usage-cpu"
                data={[x, pts.map((p) => p.mean.cpuMillicores / 1000), pts.map((p) => p.peak.cpuMillicores / 1000), pts.map(() => d.data!.request.cpuMillicores / 1000)]} />
              <Chart title="memory (GiB)" x="time" time labels={['mean', 'peak', 'request']} testid="usage-memory"
                data={[x, pts.map((p) => p.mean.memoryBytes / 2 ** 30), pts.map((p) => p.peak.memoryBytes / 2 ** 30), pts.map(() => d.data!.request.memoryBytes / 2 ** 30)]} />
            </div>
          ) : <p class="muted">Too few samples in the last {props.window} to plot.</p>}
        </>
      )}
    </section>
  );
}

function Reads(props: { tenant: string; query: URLSearchParams }) {
  const kind = props.query.get('reads') ?? '';
  const d = useReads(props.tenant, kind);
  return (
    <>
      <div class="filters"><Field label="Kind of read" id="reads-kind">
        <select id="reads-kind" value={kind} onChange={(e) => {
          const q = new URLSearchParams(props.query); const v = (e.target as HTMLSelectElement).value;
          if (v) q.set('reads', v); else q.delete('reads');
          navigate(`${tenantPath(props.tenant, 'usage')}${q.size ? `?${q}` : ''}`, true);
        }}>{['', 'artifact', 'model', 'log'].map((k) => <option key={k} value={k}>{k || 'any'}</option>)}</select>
      </Field></div>
      <ErrorBox error={d.error} status={d.status} />
      {d.data && <Table label="Reads" head={['When', 'Who', 'Kind', 'Object']} empty="No reads recorded."
        rows={d.data.items.map((r) => [<Time at={r.time} />, r.actor, r.kind, <code>{r.object}</code>])} />}
    </>
  );
}

export function Usage({ params, query }: PageProps) {
  const t = params.tenant;
  const top = useTop(t);
  const [kind, name] = (query.get('object') ?? '').split('/', 2) as [Kind | '', string | undefined];
  const pick = (k: string, n: string) => { const q = new URLSearchParams(query); q.set('object', `${k}/${n}`); return `${tenantPath(t, 'usage')}?${q}`; };
  return (
    <Page title="Usage">
      <h2>Quota</h2>
      <Quota tenant={t} />
      <h2>Workloads</h2>
      <ErrorBox error={top.error} status={top.status} />
      <Loading when={top.loading} />
      {top.data && (
        <>
          {top.data.stale && <p class="muted">The last sample is stale{top.data.sampledAt ? <> (<Time at={top.data.sampledAt} />)</> : ''}: no sampler runs without a cluster.</p>}
          <Table label="Workloads" head={['Kind', 'Name', 'Pods', 'Request', 'Now', 'Average', 'Peak', 'Last seen', 'Series']} empty="No workload has been measured."
            rows={(top.data.items ?? []).map((w) => {
              const href = objectHref(t, w.kind, w.name);
              return [w.kind, href ? <a href={href}>{w.name}</a> : w.name, w.pods, `${cpu(w.request.cpuMillicores)}, ${mem(w.request.memoryBytes)}`,
                use(w.current), use(w.average), use(w.peak), <Time at={w.lastSeen} />, <a href={pick(w.kind, w.name)} aria-label={`Series of ${w.kind} ${w.name}`}>plot</a>];
            })} />
        </>
      )}
      {kind && name && <Series tenant={t} kind={kind} name={name} window={query.get('window') ?? '1h'} query={query} />}
      <h2>Who read this tenant's data</h2>
      <Reads tenant={t} query={query} />
    </Page>
  );
}
