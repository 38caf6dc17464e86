import type { Route } from '../../router';
import { Overview } from './overview';

export const routes: Route[] = [{ path: '/tenants/:tenant', title: 'Overview', nav: { label: 'Overview', scope: 'tenant', order: 0 }, component: Overview }];
