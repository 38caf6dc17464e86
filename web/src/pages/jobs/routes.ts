import type { Route } from '../../router';
import { JobDetail } from './job';
import { Jobs } from './jobs';

export const routes: Route[] = [
  { path: '/tenants/:tenant/jobs', title: 'Jobs', nav: { label: 'Jobs', scope: 'tenant', order: 10 }, component: Jobs },
  { path: '/tenants/:tenant/jobs/:name', title: 'Job', component: JobDetail },
];
