import { lazy } from '../../components/lazy';
import type { Route } from '../../router';

export const routes: Route[] = [
  { path: '/tenants/:tenant/deployments', title: 'Deployments', nav: { label: 'Deployments', scope: 'tenant', order: 45 }, component: lazy(() => import('./deployments').then((m) => m.Deployments)) },
  { path: '/tenants/:tenant/deployments/:name', title: 'Deployment', component: lazy(() => import('./deployment').then((m) => m.DeploymentDetail)) },
];
