import type { Route } from '../../router';
import { Compare } from './compare';

export const routes: Route[] = [{ path: '/tenants/:tenant/compare', title: 'Compare runs', component: Compare }];
