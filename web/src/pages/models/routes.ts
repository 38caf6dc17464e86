import { lazy } from '../../components/lazy';
import type { Route } from '../../router';
import { Model, Models } from './models';

export const routes: Route[] = [
  { path: '/tenants/:tenant/models', title: 'Models', nav: { label: 'Models', scope: 'tenant', order: 40 }, component: Models },
  { path: '/tenants/:tenant/models/:model', title: 'Model', component: Model },
  { path: '/tenants/:tenant/models/:model/versions/:version', title: 'Model version', component: lazy(() => import('./version').then((m) => m.ModelVersionDetail)) },
];
