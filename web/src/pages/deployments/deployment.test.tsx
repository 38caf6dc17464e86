import { cleanup, fireEvent, render, screen, waitFor } from '@testing-library/preact';
import { afterEach, describe, expect, it, vi } from 'vitest';

import { DeploymentDetail } from './deployment';
import { add, MAX_SAMPLES, series } from './samples';

afterEach(() => { cleanup(); vi.unstubAllGlobals(); });

const json = (b: unknown, status = 200) => new Response(JSON.stringify(b), { status, headers: { 'Content-Type': 'application/json' } });
const t0 = '2026-01-01T00:00:00Z';
const stats = (rps: number, p99: number) => ({ requests: rps * 60, errors: 0, rps, errorRate: 0, p50Ms: p99 / 3, p99Ms: p99, inFlight: 1 });
const rev = (n: number, role: string, weight: number, extra = {}) => ({
  name: `iris-${n}`, number: n, model: 'iris', version: n, role, weight, replicas: 2, readyReplicas: role === 'retired' ? 0 : 1, stats: stats(role === 'retired' ? 0 : 10, 20), createdAt: t0, ...extra,
});
const dep = {
  tenant: 'acme', name: 'iris', url: '/serve/acme/iris/', createdBy: 'alice', createdAt: t0, updatedAt: t0,
  spec: { model: 'iris@champion', runtime: 'sklearn', port: 8080, min: 1, max: 4, concurrency: 4, idleSeconds: 300, resources: { cpu: '500m', memory: '512Mi' }, rollout: { stepWeight: 20, bakeSeconds: 60, maxErrorRateDelta: 0.05, maxP99Ratio: 2, minRequests: 20 } },
  revisions: [rev(1, 'retired', 0), rev(2, 'stable', 80), rev(3, 'canary', 20)],
  events: [{ at: t0, kind: 'canary', message: 'iris version 3 as canary at 20%' }],
};

describe('deployment page', () => {
  it('shows the traffic split, revisions and events, and promotes the canary', async () => {
    const fetch = vi.fn(async (url: string, init?: RequestInit) => {
      if (url.startsWith('/api/v1/tenants/acme/deployments/iris/keys')) return json({ items: [{ id: 'k1', name: 'ci', createdBy: 'alice', createdAt: t0 }] });
      if (url === '/api/v1/tenants/acme/deployments/iris/promote' && init?.method === 'POST') return json({ ...dep, revisions: [rev(2, 'retired', 0), rev(3, 'stable', 100)] });
      if (url.startsWith('/api/v1/tenants/acme/deployments/iris')) return json(dep);
      return json({ detail: 'unexpected ' + url }, 500);
    });
    vi.stubGlobal('fetch', fetch);
    vi.stubGlobal('confirm', () => true);
    render(<DeploymentDetail params={{ tenant: 'acme', name: 'iris' }} query={new URLSearchParams()} />);
    await waitFor(() => expect(screen.getByTestId('traffic')).toBeTruthy());
    const split = [...screen.getByTestId('traffic').querySelectorAll('[data-weight]')].map((e) => `${e.getAttribute('data-role')}:${e.getAttribute('data-weight')}`);
    expect(split).toEqual(['stable:80', 'canary:20']);
    expect(screen.getByRole('region', { name: 'Revisions' }).textContent).not.toContain('iris-1'); // retired, hidden until asked
    fireEvent.click(screen.getByLabelText('Show 1 retired revision(s)'));
    expect(screen.getByRole('region', { name: 'Revisions' }).textContent).toContain('iris-1');
    expect(screen.getByRole('region', { name: 'Rollout events' }).textContent).toContain('as canary at 20%');
    fireEvent.click(screen.getByRole('button', { name: 'Promote canary' }));
    await waitFor(() => expect(fetch.mock.calls.some(([u, i]) => u === '/api/v1/tenants/acme/deployments/iris/promote' && i?.method === 'POST')).toBe(true));
  });

  it('shows the API\'s problem when a rollback is refused', async () => {
    vi.stubGlobal('fetch', vi.fn(async (url: string, init?: RequestInit) => {
      if (url.endsWith('/rollback')) return json({ status: 409, detail: 'deployment iris has no canary to rollBack' }, 409);
      if (init?.method === undefined || init.method === 'GET') return json({ ...dep, revisions: [rev(1, 'retired', 0), rev(2, 'stable', 100)] });
      return json({ detail: 'unexpected' }, 500);
    }));
    vi.stubGlobal('confirm', () => true);
    render(<DeploymentDetail params={{ tenant: 'acme', name: 'iris' }} query={new URLSearchParams()} />);
    fireEvent.click(await screen.findByRole('button', { name: 'Roll back' }));
    await waitFor(() => expect(screen.getByRole('alert').textContent).toContain('has no canary'));
    expect(screen.queryByRole('button', { name: 'Promote canary' })).toBeNull();
  });
});

describe('deployment keys', () => {
  it('shows a new key\'s secret once and lists keys without secrets', async () => {
    const { Keys } = await import('./keys');
    let keys = [{ id: 'k1', name: 'ci', createdBy: 'alice', createdAt: t0 }];
    vi.stubGlobal('fetch', vi.fn(async (url: string, init?: RequestInit) => {
      if (init?.method === 'POST') {
        const k = { id: 'k2', name: JSON.parse(String(init.body)).name, createdBy: 'alice', createdAt: t0 };
        keys = [...keys, k];
        return json({ ...k, secret: 'ferry_dk_s3cret' }, 201);
      }
      return json({ items: keys });
    }));
    render(<Keys tenant="acme" name="iris" url="/serve/acme/iris/" />);
    await waitFor(() => expect(screen.getByRole('region', { name: 'API keys' }).textContent).toContain('k1'));
    fireEvent.input(screen.getByLabelText('Key name (what it is for)'), { target: { value: 'batch' } });
    fireEvent.click(screen.getByRole('button', { name: 'Make key' }));
    await waitFor(() => expect(screen.getByTestId('new-key').textContent).toContain('ferry_dk_s3cret'));
    await waitFor(() => expect(screen.getByRole('region', { name: 'API keys' }).textContent).toContain('batch'));
    expect(screen.getByRole('region', { name: 'API keys' }).textContent).not.toContain('s3cret');
  });
});

describe('measurement samples', () => {
  it('keeps one column per live revision, null before it appeared, and caps the history', () => {
    let s = add([], { revisions: [rev(2, 'stable', 100)] as never }, 1000);
    s = add(s, { revisions: [rev(2, 'stable', 90), rev(3, 'canary', 10, { stats: stats(1, 50) })] as never }, 4000);
    expect(series(s, 'p99Ms')).toEqual({ labels: ['iris-2', 'iris-3'], data: [[1, 4], [20, 20], [null, 50]] });
    for (let i = 0; i < MAX_SAMPLES + 5; i++) s = add(s, { revisions: [rev(2, 'stable', 100)] as never }, i);
    expect(s).toHaveLength(MAX_SAMPLES);
  });
});
