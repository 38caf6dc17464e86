import type { Route } from '../../router';
import { Notebooks } from './notebooks';

export const routes: Route[] = [
  { path: '/tenants/:tenant/notebooks', title: 'Notebooks', nav: { label: 'Notebooks', scope: 'tenant', order: 20 }, component: Notebooks },
];
