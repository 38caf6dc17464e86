// Every page folder's routes.ts, collected at build time: adding a page
// (pipelines, deployments, ...) is adding one folder under pages/.
import type { Route } from './router';

const mods = import.meta.glob<{ routes: Route[] }>('./pages/*/routes.ts', { eager: true });

/** routes, most specific first (literal segments before parameters). */
export const routes: Route[] = Object.values(mods)
  .flatMap((m) => m.routes)
  .sort((a, b) => weight(b.path) - weight(a.path));

function weight(p: string): number {
  return p.split('/').filter(Boolean).reduce((w, s) => w * 4 + (s.startsWith(':') ? 1 : 2), 1);
}

export const navItems = (scope: 'tenant' | 'global') =>
  routes.filter((r) => r.nav?.scope === scope).sort((a, b) => a.nav!.order - b.nav!.order);
