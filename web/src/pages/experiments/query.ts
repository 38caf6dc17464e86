// The runs table's state lives in the URL, so a view (columns, filter,
// sort, page) is a stable link.
export type RunsView = { params: string[]; metrics: string[]; filter: string; order: string; page: string };

const list = (s: string | null) => (s ?? '').split(',').map((x) => x.trim()).filter(Boolean);

export function readView(q: URLSearchParams): RunsView {
  return { params: list(q.get('params')), metrics: list(q.get('metrics')), filter: q.get('filter') ?? '', order: q.get('order') ?? '', page: q.get('page') ?? '' };
}

export function writeView(v: RunsView): string {
  const q = new URLSearchParams();
  if (v.params.length) q.set('params', v.params.join(','));
  if (v.metrics.length) q.set('metrics', v.metrics.join(','));
  if (v.filter) q.set('filter', v.filter);
  if (v.order) q.set('order', v.order);
  if (v.page) q.set('page', v.page);
  const s = q.toString();
  return s ? `?${s}` : '';
}

/** nextOrder cycles a column's sort: none, descending, ascending (MLflow order_by syntax). */
export function nextOrder(current: string, column: string): string {
  if (current === `${column} DESC`) return `${column} ASC`;
  if (current === `${column} ASC`) return '';
  return `${column} DESC`;
}

/** column quotes an MLflow key for filters and order_by: metrics.`val loss`. */
export function column(kind: 'params' | 'metrics' | 'attributes', key: string): string {
  return /^[A-Za-z_][A-Za-z0-9_]*$/.test(key) ? `${kind}.${key}` : `${kind}.\`${key}\``;
}
