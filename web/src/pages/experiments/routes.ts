import type { Route } from '../../router';
import { Experiments } from './experiments';
import { RunDetail } from './run';
import { Runs } from './runs';

export const routes: Route[] = [
  { path: '/tenants/:tenant/experiments', title: 'Experiments', nav: { label: 'Experiments', scope: 'tenant', order: 30 }, component: Experiments },
  { path: '/tenants/:tenant/experiments/:experiment', title: 'Runs', component: Runs },
  { path: '/tenants/:tenant/runs/:run', title: 'Run', component: RunDetail },
];
