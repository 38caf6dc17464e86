import { lazy } from '../../components/lazy';
import type { Route } from '../../router';

export const routes: Route[] = [
  { path: '/tenants/:tenant/pipelines', title: 'Pipelines', nav: { label: 'Pipelines', scope: 'tenant', order: 35 }, component: lazy(() => import('./pipelines').then((m) => m.Pipelines)) },
  { path: '/tenants/:tenant/pipelines/:pipeline', title: 'Pipeline', component: lazy(() => import('./pipeline').then((m) => m.PipelineDetail)) },
  { path: '/tenants/:tenant/pipeline-runs/:run', title: 'Pipeline run', component: lazy(() => import('./run').then((m) => m.PipelineRunDetail)) },
];
