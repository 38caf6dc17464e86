import type { Route } from '../../router';
import { NotebookDetail } from './notebook';
import { Notebooks } from './notebooks';

export const routes: Route[] = [
  { path: '/tenants/:tenant/notebooks', title: 'Notebooks', nav: { label: 'Notebooks', scope: 'tenant', order: 20 }, component: Notebooks },
  { path: '/tenants/:tenant/notebooks/:name', title: 'Notebook', component: NotebookDetail },
];
