import { useState } from 'preact/hooks';

import { api } from '../../api/client';
import { metricHistory } from '../../api/mlflow';
import { useData } from '../../components/data';
import { ErrorBox, Loading, Page, State } from '../../components/ui';
import type { PageProps } from '../../router';
import { tenantPath } from '../../router';
import { Chart } from './chart';
import { align, paramDiff } from './diff';

export function Compare({ params, query }: PageProps) {
  const t = params.tenant;
  const ids = (query.get('runs') ?? '').split(',').filter(Boolean);
  const [onlyDiff, setOnlyDiff] = useState(true);
  const bad = ids.length < 2 || ids.length > 10 ? `Compare takes 2 to 10 runs (?runs=a,b,c); this link names ${ids.length}.` : '';
  const runs = useData((signal) => (bad ? Promise.resolve([]) : Promise.all(ids.map((run) => api.get('/api/v1/tenants/{tenant}/runs/{run}', { path: { tenant: t, run }, signal })))), [t, ids.join(',')]);
  const keys = [...new Set((runs.data ?? []).flatMap((r) => (r.metrics ?? []).map((m) => m.key)))].sort();
  const metric = query.get('metric') && keys.includes(query.get('metric')!) ? query.get('metric')! : keys[0];
  const series = useData(async () => (metric && runs.data?.length ? Promise.all(ids.map((id) => metricHistory(t, id, metric))) : []), [t, ids.join(','), metric, runs.data]);
  const rows = paramDiff(runs.data ?? []).filter((r) => !onlyDiff || r.differs);
  const labels = (runs.data ?? []).map((r) => r.name || r.id.slice(0, 8));
  return (
    <Page title={`Compare ${ids.length} runs`}>
      <ErrorBox error={bad || runs.error || series.error} status={runs.status} />
      <Loading when={runs.loading} />
      {runs.data && runs.data.length > 0 && (
        <>
          <div class="table-wrap" tabIndex={0} role="region" aria-label="Runs compared">
            <table>
              <thead><tr><th scope="col">Run</th>{runs.data.map((r, i) => <th key={r.id} scope="col"><a href={tenantPath(t, 'runs', r.id)}>{labels[i]}</a></th>)}</tr></thead>
              <tbody>
                <tr><th scope="row">Status</th>{runs.data.map((r) => <td key={r.id}><State state={r.status} /></td>)}</tr>
                {rows.map((row) => (
                  <tr key={row.key} class={row.differs ? 'diff' : ''}>
                    <th scope="row">{row.key}{row.differs ? ' (differs)' : ''}</th>
                    {row.values.map((v, i) => <td key={i}>{v ?? '—'}</td>)}
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <p>
            <input type="checkbox" id="only-diff" checked={onlyDiff} onChange={() => setOnlyDiff(!onlyDiff)} />{' '}
            <label for="only-diff">Only parameters that differ</label>
          </p>
          <h2>Metrics over steps</h2>
          {keys.length ? (
            <>
              <label for="metric-pick">Metric </label>
              <select id="metric-pick" value={metric} onChange={(e) => {
                const q = new URLSearchParams(query); q.set('metric', (e.target as HTMLSelectElement).value);
                history.replaceState(null, '', `?${q}`); dispatchEvent(new PopStateEvent('popstate'));
              }}>
                {keys.map((k) => <option key={k} value={k}>{k}</option>)}
              </select>
              {series.data && series.data.length === ids.length && <Chart title={metric} labels={labels} data={align(series.data)} />}
            </>
          ) : <p class="muted">These runs logged no metrics.</p>}
        </>
      )}
    </Page>
  );
}
