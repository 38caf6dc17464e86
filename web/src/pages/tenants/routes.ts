import type { Route } from '../../router';
import { Tenants } from './tenants';

export const routes: Route[] = [{ path: '/', title: 'Tenants', nav: { label: 'Tenants', scope: 'global', order: 0 }, component: Tenants }];
