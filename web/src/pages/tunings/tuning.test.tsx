import { cleanup, fireEvent, render, screen, waitFor } from '@testing-library/preact';
import { afterEach, describe, expect, it, vi } from 'vitest';

import { objective, paramNames } from './objective';
import { TuningDetail } from './tuning';

afterEach(() => { cleanup(); vi.unstubAllGlobals(); });

const json = (b: unknown, status = 200) => new Response(JSON.stringify(b), { status, headers: { 'Content-Type': 'application/json' } });
const t0 = '2026-01-01T00:00:00Z';
const trial = (number: number, value: number | undefined, state = 'succeeded') => ({ number, params: { lr: String(0.1 / (number + 1)), depth: String(number + 2) }, state, job: `digits-t${number}`, runId: `run${number}abcdefghij`, value, step: 9, createdAt: t0 });
const tuning = {
  tenant: 'acme', name: 'digits', state: 'running', experimentId: '4', runId: 'tuningrun0123456', createdBy: 'alice', createdAt: t0, updatedAt: t0,
  spec: { apiVersion: 'ferry.dev/v1', kind: 'Tuning', name: 'digits', objective: { metric: 'val_loss', direction: 'minimize' }, algorithm: 'tpe', maxTrials: 10, parallelTrials: 2,
    parameters: [{ name: 'lr', type: 'float', min: 0.001, max: 0.1, log: true }, { name: 'depth', type: 'int', min: 2, max: 8 }], trial: { image: 'img', command: ['train'] } },
  trials: { total: 3, running: 1, succeeded: 2, failed: 0, pruned: 0, cancelled: 0 },
  best: trial(1, 0.2),
};

describe('tuning objective', () => {
  it('plots each trial\'s value and the best so far in the objective\'s direction', () => {
    const ts = [{ number: 2, value: 0.5 }, { number: 0, value: 0.4 }, { number: 1, value: 0.3 }, { number: 3, value: undefined }];
    expect(objective(ts, 'minimize').data).toEqual([[0, 1, 2, 3], [0.4, 0.3, 0.5, null], [0.4, 0.3, 0.3, 0.3]]);
    expect(objective(ts, 'maximize').data[2]).toEqual([0.4, 0.4, 0.5, 0.5]);
  });

  it('orders parameter columns as the search space does', () => {
    expect(paramNames({ parameters: [{ name: 'lr' }, { name: 'depth' }] as never }, [{ params: { depth: '3', extra: 'x', lr: '0.1' } }])).toEqual(['lr', 'depth', 'extra']);
  });
});

describe('tuning page', () => {
  it('lists trials with their parameters as columns, marks the best, and stops the tuning', async () => {
    const fetch = vi.fn(async (url: string, init?: RequestInit) => {
      if (url === '/api/v1/tenants/acme/tunings/digits/stop' && init?.method === 'POST') return json({ ...tuning, state: 'stopped' });
      if (url.startsWith('/api/v1/tenants/acme/tunings/digits/trials')) return json({ items: [trial(0, 0.4), trial(1, 0.2), trial(2, undefined, 'running')] });
      if (url.startsWith('/api/v1/tenants/acme/tunings/digits')) return json(tuning);
      return json({ detail: 'unexpected ' + url }, 500);
    });
    vi.stubGlobal('fetch', fetch);
    vi.stubGlobal('confirm', () => true);
    render(<TuningDetail params={{ tenant: 'acme', tuning: 'digits' }} query={new URLSearchParams()} />);
    const table = await screen.findByRole('region', { name: 'Trials' });
    const head = [...table.querySelectorAll('th')].map((th) => th.textContent);
    expect(head.slice(0, 5)).toEqual(['Trial', 'State', 'lr', 'depth', 'val_loss']);
    expect(table.querySelectorAll('tbody tr')).toHaveLength(3);
    expect(table.querySelector('strong.ok')!.textContent).toBe('0.2');
    expect(screen.getByTestId('objective-chart').getAttribute('aria-label')).toBe('val_loss of 2 trials and the best so far');
    expect(screen.getByRole('link', { name: "Compare the best 2 trials' runs" }).getAttribute('href')).toBe('/tenants/acme/compare?runs=run1abcdefghij,run0abcdefghij&metric=val_loss');
    fireEvent.click(screen.getByRole('button', { name: 'Stop tuning' }));
    await waitFor(() => expect(fetch.mock.calls.some(([u, i]) => u === '/api/v1/tenants/acme/tunings/digits/stop' && i?.method === 'POST')).toBe(true));
  });
});
