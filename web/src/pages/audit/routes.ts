import type { Route } from '../../router';
import { Audit } from './audit';

export const routes: Route[] = [{ path: '/audit', title: 'Audit', nav: { label: 'Audit', scope: 'global', order: 10 }, component: Audit }];
