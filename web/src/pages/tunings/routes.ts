import { lazy } from '../../components/lazy';
import type { Route } from '../../router';

export const routes: Route[] = [
  { path: '/tenants/:tenant/tunings', title: 'Tuning', nav: { label: 'Tuning', scope: 'tenant', order: 38 }, component: lazy(() => import('./tunings').then((m) => m.Tunings)) },
  { path: '/tenants/:tenant/tunings/:tuning', title: 'Tuning', component: lazy(() => import('./tuning').then((m) => m.TuningDetail)) },
];
