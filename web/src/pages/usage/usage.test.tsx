import { cleanup, render, screen, waitFor } from '@testing-library/preact';
import { afterEach, describe, expect, it, vi } from 'vitest';

import { cpu, mem, objectHref } from './units';
import { Usage } from './usage';

afterEach(() => { cleanup(); vi.unstubAllGlobals(); });

const json = (b: unknown, status = 200) => new Response(JSON.stringify(b), { status, headers: { 'Content-Type': 'application/json' } });
const amount = (c: number, m: number, g = 0) => ({ cpuMillicores: c, memoryBytes: m, gpu: g });

describe('usage units', () => {
  it('writes millicores and bytes for people and links workloads to their pages', () => {
    expect([cpu(8000), cpu(250), cpu(5), mem(3 * 2 ** 30), mem(512 * 2 ** 20)]).toEqual(['8 CPU', '0.25 CPU', '0.005 CPU', '3.0 GiB', '512 MiB']);
    expect(objectHref('acme', 'step', 'r1abc.train[2]')).toBe('/tenants/acme/pipeline-runs/r1abc?step=train');
    expect(objectHref('acme', 'revision', 'iris-r3')).toBe('/tenants/acme/deployments/iris');
    expect(objectHref('acme', 'job', 'train')).toBe('/tenants/acme/jobs/train');
  });
});

describe('usage page', () => {
  it('shows the quota against requested, free and used, the queue, workloads and reads', async () => {
    vi.stubGlobal('fetch', vi.fn(async (url: string) => {
      if (url.startsWith('/api/v1/tenants/acme/quota')) return json({
        tenant: 'acme', quota: { cpu: '8', memory: '16Gi', gpu: 1 }, limit: amount(8000, 16 * 2 ** 30, 1), requested: amount(2000, 4 * 2 ** 30), free: amount(6000, 12 * 2 ** 30, 1),
        used: { cpuMillicores: 1500, memoryBytes: 2 ** 30, gpuPercent: 0 }, queued: { jobs: 2, replicas: 3, request: amount(3000, 3 * 2 ** 30) }, sampledAt: '2026-01-01T00:00:00Z', stale: false,
      });
      if (url.startsWith('/api/v1/usage')) return json({ intervalSeconds: 15, stale: false, items: [
        { tenant: 'acme', kind: 'job', name: 'train', pods: 2, request: amount(2000, 4 * 2 ** 30), current: { cpuMillicores: 1500, memoryBytes: 2 ** 30, gpuPercent: 0 }, samples: 4, firstSeen: '2026-01-01T00:00:00Z', lastSeen: '2026-01-01T00:01:00Z' },
      ] });
      if (url.startsWith('/api/v1/tenants/acme/reads')) return json({ items: [{ id: 1, time: '2026-01-01T00:00:00Z', tenant: 'acme', actor: 'bob', kind: 'log', object: 'job/train/0' }] });
      return json({ detail: 'unexpected ' + url }, 500);
    }));
    render(<Usage params={{ tenant: 'acme' }} query={new URLSearchParams()} />);
    const quota = await screen.findByRole('region', { name: 'Quota' });
    expect(quota.textContent).toContain('8 CPU');
    expect(screen.getByRole('meter', { name: 'CPU requested' }).getAttribute('aria-valuetext')).toBe('2 CPU of 8 CPU');
    expect(screen.getByText(/Queued: 2 job\(s\), 3 replica\(s\) asking 3 CPU, 3.0 GiB/)).toBeTruthy();
    await waitFor(() => expect(screen.getByRole('region', { name: 'Workloads' }).textContent).toContain('1.5 CPU, 1.0 GiB'));
    expect(screen.getByRole('link', { name: 'Series of job train' }).getAttribute('href')).toBe('/tenants/acme/usage?object=job%2Ftrain');
    await waitFor(() => expect(screen.getByRole('region', { name: 'Reads' }).textContent).toContain('job/train/0'));
  });
});
