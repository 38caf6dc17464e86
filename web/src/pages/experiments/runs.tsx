import { useState } from 'preact/hooks';

import { searchRuns } from '../../api/mlflow';
import { useData } from '../../components/data';
import { ErrorBox, Field, Loading, Page, State, Time } from '../../components/ui';
import type { PageProps } from '../../router';
import { navigate, tenantPath } from '../../router';
import { column, nextOrder, readView, writeView, type RunsView } from './query';

const PAGE = 50;

export function Runs({ params, query }: PageProps) {
  const t = params.tenant, exp = params.experiment;
  const view = readView(query);
  const [draft, setDraft] = useState({ params: view.params.join(', '), metrics: view.metrics.join(', '), filter: view.filter });
  const [picked, setPicked] = useState<string[]>([]);
  const [history, setHistory] = useState<string[]>([]);
  const go = (v: RunsView) => navigate(tenantPath(t, 'experiments', exp) + writeView(v), true);
  const d = useData((signal) => {
    void signal;
    return searchRuns(t, { experimentIds: [exp], filter: view.filter, orderBy: view.order ? [view.order] : [], maxResults: PAGE, pageToken: view.page });
  }, [t, exp, view.filter, view.order, view.page]);
  const apply = (e: Event) => {
    e.preventDefault();
    const split = (s: string) => s.split(',').map((x) => x.trim()).filter(Boolean);
    setHistory([]);
    go({ params: split(draft.params), metrics: split(draft.metrics), filter: draft.filter.trim(), order: view.order, page: '' });
  };
  const sortBy = (col: string) => { setHistory([]); go({ ...view, order: nextOrder(view.order, col), page: '' }); };
  const sortState = (col: string) => (view.order === `${col} DESC` ? 'descending' : view.order === `${col} ASC` ? 'ascending' : 'none');
  const Sort = (p: { col: string; label: string }) => (
    <th scope="col" aria-sort={sortState(p.col)}><button type="button" onClick={() => sortBy(p.col)}>{p.label}{sortState(p.col) === 'descending' ? ' ↓' : sortState(p.col) === 'ascending' ? ' ↑' : ''}</button></th>
  );
  const toggle = (id: string) => setPicked((p) => (p.includes(id) ? p.filter((x) => x !== id) : p.length >= 10 ? p : [...p, id]));
  const runs = d.data?.runs ?? [];
  return (
    <Page title={`Runs of experiment ${exp}`} actions={
      <a class={picked.length < 2 ? 'disabled' : ''} aria-disabled={picked.length < 2} href={picked.length >= 2 ? tenantPath(t, 'compare') + `?runs=${picked.join(',')}` : undefined}>
        Compare {picked.length} selected (2–10)
      </a>}>
      <form class="filters" onSubmit={apply} aria-label="Columns and filter">
        <Field label="Param columns (comma-separated)" id="cols-params"><input id="cols-params" value={draft.params} onInput={(e) => setDraft({ ...draft, params: (e.target as HTMLInputElement).value })} /></Field>
        <Field label="Metric columns (comma-separated)" id="cols-metrics"><input id="cols-metrics" value={draft.metrics} onInput={(e) => setDraft({ ...draft, metrics: (e.target as HTMLInputElement).value })} /></Field>
        <Field label="Filter (MLflow syntax, e.g. metrics.loss < 0.5)" id="runs-filter"><input id="runs-filter" size={36} value={draft.filter} onInput={(e) => setDraft({ ...draft, filter: (e.target as HTMLInputElement).value })} /></Field>
        <button type="submit" class="primary">Apply</button>
      </form>
      <ErrorBox error={d.error} status={d.status} />
      <Loading when={d.loading} />
      {d.data && (
        <div class="table-wrap" tabIndex={0} role="region" aria-label="Runs">
          <table>
            <thead>
              <tr>
                <th scope="col"><span class="sr">Select</span></th>
                <Sort col="attributes.run_name" label="Run" />
                <th scope="col">Status</th>
                <Sort col="attributes.start_time" label="Started" />
                {view.params.map((p) => <Sort key={p} col={column('params', p)} label={p} />)}
                {view.metrics.map((m) => <Sort key={m} col={column('metrics', m)} label={m} />)}
              </tr>
            </thead>
            <tbody>
              {runs.map((r) => {
                const ps = new Map((r.data.params ?? []).map((p) => [p.key, p.value]));
                const ms = new Map((r.data.metrics ?? []).map((m) => [m.key, m.value]));
                const id = r.info.run_id;
                return (
                  <tr key={id}>
                    <td><input type="checkbox" aria-label={`Select run ${r.info.run_name || id}`} checked={picked.includes(id)} onChange={() => toggle(id)} /></td>
                    <td><a href={tenantPath(t, 'runs', id)}>{r.info.run_name || id}</a></td>
                    <td><State state={r.info.status} /></td>
                    <td><Time at={r.info.start_time} /></td>
                    {view.params.map((p) => <td key={p}>{ps.get(p) ?? ''}</td>)}
                    {view.metrics.map((m) => <td key={m}>{ms.has(m) ? String(ms.get(m)) : ''}</td>)}
                  </tr>
                );
              })}
            </tbody>
          </table>
          {!runs.length && <p class="muted">No runs match.</p>}
        </div>
      )}
      <nav aria-label="Pages" class="filters">
        <button type="button" disabled={!history.length} onClick={() => { const h = [...history]; const prev = h.pop()!; setHistory(h); go({ ...view, page: prev }); }}>Previous page</button>
        <button type="button" disabled={!d.data?.next_page_token} onClick={() => { setHistory([...history, view.page]); go({ ...view, page: d.data!.next_page_token! }); }}>Next page</button>
      </nav>
    </Page>
  );
}
