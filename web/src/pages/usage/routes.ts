import { lazy } from '../../components/lazy';
import type { Route } from '../../router';

export const routes: Route[] = [
  { path: '/tenants/:tenant/usage', title: 'Usage', nav: { label: 'Usage', scope: 'tenant', order: 50 }, component: lazy(() => import('./usage').then((m) => m.Usage)) },
];
