import type { Route } from '../../router';
import { Admin } from './admin';

export const routes: Route[] = [{ path: '/admin', title: 'Admin', nav: { label: 'Admin', scope: 'global', order: 20 }, component: Admin }];
