import { cleanup, fireEvent, render, screen, waitFor } from '@testing-library/preact';
import { afterEach, describe, expect, it, vi } from 'vitest';

import { ErrorBox } from '../components/ui';
import { Audit } from './audit/audit';
import { JobDetail } from './jobs/job';
import { NotebookDetail } from './notebooks/notebook';

afterEach(() => { cleanup(); vi.unstubAllGlobals(); });

const json = (b: unknown, status = 200) => new Response(JSON.stringify(b), { status, headers: { 'Content-Type': 'application/json' } });

describe('components', () => {
  it('ErrorBox shows the detail, and a login hint on 401', () => {
    render(<ErrorBox error="missing bearer token" status={401} />);
    expect(screen.getByRole('alert').textContent).toContain('ferry ui');
    expect(screen.getByRole('alert').textContent).toContain('missing bearer token');
  });

  it('a queued job shows its state and reason and asks for no log', async () => {
    const fetch = vi.fn(async (url: string) => {
      if (url.startsWith('/api/v1/tenants/acme/jobs/train')) {
        return json({ name: 'train', tenant: 'acme', state: 'queued', reason: 'waiting for quota', createdAt: '2026-01-01T00:00:00Z', createdBy: 'alice', spec: { image: 'img:1', replicas: 2 }, replicas: [] });
      }
      return json({ detail: 'unexpected ' + url }, 500);
    });
    vi.stubGlobal('fetch', fetch);
    render(<JobDetail params={{ tenant: 'acme', name: 'train' }} query={new URLSearchParams()} />);
    await waitFor(() => expect(screen.getByText('queued')).toBeTruthy());
    expect(screen.getByText('waiting for quota')).toBeTruthy();
    expect(screen.getByText(/its log starts when it runs/)).toBeTruthy();
    expect(fetch.mock.calls.some(([u]) => String(u).includes('/logs'))).toBe(false);
  });

  it('a notebook\'s page shows its state and reason, and Stop stops it', async () => {
    const nb = { tenant: 'acme', name: 'lab', image: 'img:1', resources: { cpu: '1', memory: '2Gi' }, workspace: 'ferry-lab-ws', state: 'running', reason: 'image img:1 is being pulled',
      lastActivity: '2026-01-01T00:00:00Z', createdBy: 'alice', createdAt: '2026-01-01T00:00:00Z', updatedAt: '2026-01-01T00:00:00Z', url: '/t/acme/notebooks/lab/' };
    const fetch = vi.fn(async (url: string, init?: RequestInit) => {
      if (url === '/api/v1/tenants/acme/notebooks/lab/stop' && init?.method?.toUpperCase() === 'POST') return json({ ...nb, state: 'stopped', reason: undefined });
      if (url.startsWith('/api/v1/tenants/acme/notebooks/lab')) return json(nb);
      return json({ detail: 'unexpected ' + url }, 500);
    });
    vi.stubGlobal('fetch', fetch);
    render(<NotebookDetail params={{ tenant: 'acme', name: 'lab' }} query={new URLSearchParams()} />);
    await waitFor(() => expect(screen.getByText('image img:1 is being pulled')).toBeTruthy(), { timeout: 5000 });
    expect(screen.getByText('/t/acme/notebooks/lab/')).toBeTruthy();
    fireEvent.click(screen.getByRole('button', { name: 'Stop' }));
    await waitFor(() => expect(fetch.mock.calls.some(([u, i]) => u === '/api/v1/tenants/acme/notebooks/lab/stop' && (i as RequestInit)?.method?.toUpperCase() === 'POST')).toBe(true));
  });

  it('audit verify shows the broken row and the problem', async () => {
    vi.stubGlobal('fetch', vi.fn(async (url: string) => url.startsWith('/api/v1/audit/verify')
      ? json({ ok: false, brokenAt: 7, problems: ['row 7 altered'] })
      : json({ items: [{ id: 7, time: '2026-01-01T00:00:00Z', actor: 'admin', action: 'createTenant', result: 'ok', hash: 'h', prevHash: 'p' }] })));
    render(<Audit params={{}} query={new URLSearchParams()} />);
    await waitFor(() => expect(screen.getByText('createTenant')).toBeTruthy());
    fireEvent.click(screen.getByRole('button', { name: 'Verify chain' }));
    await waitFor(() => expect(screen.getByTestId('verify-result').textContent).toContain('broken at row 7'));
    expect(screen.getByTestId('verify-result').textContent).toContain('row 7 altered');
  });
});
