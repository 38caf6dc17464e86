// A tiny router over the History API. Each page folder under pages/ exports
// `routes` from its routes.ts; registry.ts collects them, so a new page is
// one folder to add. Paths are stable object URLs the CLI and SDK can print.
import { signal } from './signal';
import type { ComponentType } from 'preact';

export type Params = Record<string, string>;
export type PageProps = { params: Params; query: URLSearchParams };
export type Nav = { label: string; scope: 'tenant' | 'global'; order: number };
export type Route = { path: string; title: string; nav?: Nav; component: ComponentType<PageProps> };

export const location$ = signal(typeof window === 'undefined' ? '/' : window.location.pathname + window.location.search);

export function navigate(to: string, replace = false): void {
  if (replace) history.replaceState(null, '', to);
  else history.pushState(null, '', to);
  location$.set(window.location.pathname + window.location.search);
  window.scrollTo?.(0, 0);
}

if (typeof window !== 'undefined') {
  window.addEventListener('popstate', () => location$.set(window.location.pathname + window.location.search));
}

export function match(pattern: string, path: string): Params | null {
  const a = pattern.split('/').filter(Boolean);
  const b = path.split('/').filter(Boolean);
  if (a.length !== b.length) return null;
  const out: Params = {};
  for (let i = 0; i < a.length; i++) {
    if (a[i].startsWith(':')) out[a[i].slice(1)] = decodeURIComponent(b[i]);
    else if (a[i] !== b[i]) return null;
  }
  return out;
}

export function resolve(routes: Route[], url: string): { route: Route; props: PageProps } | null {
  const [path, qs] = url.split('?');
  for (const r of routes) {
    const p = match(r.path, path);
    if (p) return { route: r, props: { params: p, query: new URLSearchParams(qs ?? '') } };
  }
  return null;
}

/** href builds a stable URL: tenantPath('acme', 'jobs', 'train') is /tenants/acme/jobs/train. */
export function tenantPath(tenant: string, ...rest: string[]): string {
  return ['', 'tenants', tenant, ...rest].map((s, i) => (i < 2 ? s : encodeURIComponent(s))).join('/');
}

/** onLink makes a plain <a href> navigate in-app (keeps middle-click and modifiers). */
export function onLink(e: MouseEvent): void {
  const a = (e.target as HTMLElement).closest?.('a');
  if (!a || e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
  const href = a.getAttribute('href');
  if (!href || !href.startsWith('/') || a.getAttribute('target') || a.hasAttribute('download') || a.dataset.external !== undefined) return;
  e.preventDefault();
  navigate(href);
}
