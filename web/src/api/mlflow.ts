// The MLflow REST API at /mlflow/{tenant}/ (not in ferry's contract): the
// runs table pages, sorts and filters server-side through runs/search.
import { raw } from './client';

export type MlflowRun = {
  info: { run_id: string; run_name?: string; experiment_id: string; status: string; start_time?: number; end_time?: number; user_id?: string };
  data: { params?: { key: string; value: string }[]; metrics?: { key: string; value: number; step: number }[]; tags?: { key: string; value: string }[] };
};
export type SearchRuns = { experimentIds: string[]; filter?: string; orderBy?: string[]; maxResults?: number; pageToken?: string };

const base = (tenant: string) => `/mlflow/${encodeURIComponent(tenant)}/api/2.0/mlflow`;

export async function searchRuns(tenant: string, q: SearchRuns): Promise<{ runs: MlflowRun[]; next_page_token?: string }> {
  const r = await raw('POST', `${base(tenant)}/runs/search`, {
    experiment_ids: q.experimentIds, filter: q.filter ?? '', order_by: q.orderBy ?? [], max_results: q.maxResults ?? 50,
    page_token: q.pageToken || undefined,
  });
  const b = await r.json();
  return { runs: b.runs ?? [], next_page_token: b.next_page_token };
}

export async function metricHistory(tenant: string, runId: string, key: string): Promise<{ step: number; value: number }[]> {
  const r = await raw('GET', `${base(tenant)}/metrics/get-history?run_id=${encodeURIComponent(runId)}&metric_key=${encodeURIComponent(key)}&max_results=25000`);
  const b = await r.json();
  return (b.metrics ?? []).map((m: { step?: number; value: number | string }) => ({ step: Number(m.step ?? 0), value: Number(m.value) }));
}
