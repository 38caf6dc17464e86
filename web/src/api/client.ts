// The typed client: every call names a path of api/v1/openapi.json (via the
// generated schema.d.ts) and gets its contract type back. Browser sessions
// authenticate with the HttpOnly cookie plus the X-Ferry-UI header (CSRF).
import type { components, paths } from './schema';

export type S = components['schemas'];
type Method = 'get' | 'post' | 'put' | 'patch' | 'delete';
type JSONOf<R> = R extends { content: { 'application/json': infer B } } ? B : void;
type Ok<O> = O extends { responses: infer R }
  ? R extends { 200: infer A } ? JSONOf<A> : R extends { 201: infer A } ? JSONOf<A> : void
  : never;
type Body<O> = O extends { requestBody?: { content: { 'application/json': infer B } } } ? B : never;
type PathOf<O> = O extends { parameters: { path: infer P } } ? P : Record<string, never>;
type QueryOf<O> = O extends { parameters: { query?: infer Q } } ? Q : never;
export type Opts<O> = { path?: PathOf<O>; query?: QueryOf<O>; body?: Body<O>; signal?: AbortSignal };

/** An API answer that is not 2xx: message is the problem's detail. */
export class ApiError extends Error {
  constructor(public status: number, message: string, public problem?: unknown) {
    super(message);
  }
}

export const CSRF_HEADER = 'X-Ferry-UI';

export function fill(path: string, params?: Record<string, unknown>, query?: Record<string, unknown>): string {
  let p = path.replace(/\{(\w+)\}/g, (_, k) => encodeURIComponent(String(params?.[k] ?? '')));
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  const qs = q.toString();
  return qs ? `${p}?${qs}` : p;
}

/** problemMessage turns an RFC 9457 problem into one line: detail, then each error's location and message. */
export function problemMessage(status: number, body: unknown): string {
  const p = (body ?? {}) as { detail?: string; title?: string; errors?: { location?: string; message?: string }[] };
  const parts = [p.detail || p.title || `HTTP ${status}`];
  for (const e of p.errors ?? []) parts.push(`${e.location ?? ''}: ${e.message ?? ''}`.replace(/^: /, ''));
  return parts.join(' — ');
}

export async function raw(method: string, url: string, body?: unknown, signal?: AbortSignal): Promise<Response> {
  const headers: Record<string, string> = { [CSRF_HEADER]: '1', Accept: 'application/json, application/problem+json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const r = await fetch(url, { method, headers, credentials: 'same-origin', body: body === undefined ? undefined : JSON.stringify(body), signal });
  if (!r.ok) {
    let b: unknown;
    try { b = await r.json(); } catch { b = undefined; }
    throw new ApiError(r.status, problemMessage(r.status, b), b);
  }
  return r;
}

export async function call<P extends keyof paths, M extends Method & keyof paths[P]>(
  method: M, path: P, opts: Opts<paths[P][M]> = {},
): Promise<Ok<paths[P][M]>> {
  const url = fill(path as string, opts.path as Record<string, unknown>, opts.query as Record<string, unknown>);
  const r = await raw(method.toUpperCase(), url, opts.body, opts.signal);
  if (r.status === 204) return undefined as Ok<paths[P][M]>;
  return (await r.json()) as Ok<paths[P][M]>;
}

export const api = {
  get: <P extends keyof paths>(path: P, opts?: Opts<paths[P]['get' & keyof paths[P]]>) => call('get' as 'get' & keyof paths[P], path, opts as never),
};
