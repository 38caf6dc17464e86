import { cleanup, render, screen, waitFor } from '@testing-library/preact';
import { afterEach, describe, expect, it, vi } from 'vitest';

import { PipelineRunDetail } from './run';

afterEach(() => { cleanup(); vi.unstubAllGlobals(); });

const json = (b: unknown, status = 200) => new Response(JSON.stringify(b), { status, headers: { 'Content-Type': 'application/json' } });
const t0 = '2026-01-01T00:00:00Z';
const spec = {
  apiVersion: 'ferry.dev/v1', kind: 'Pipeline',
  steps: [
    { name: 'prep', image: 'img', command: ['prep'] },
    { name: 'train', image: 'img', command: ['train'], args: ['{{steps.prep.outputs.artifacts.data}}'], parallelFor: { items: '{{params.lrs}}' } },
    { name: 'eval', image: 'img', command: ['eval'], dependsOn: ['train'] },
  ],
  finally: [{ name: 'notify', image: 'img', command: ['notify'] }],
};
const run = {
  id: 'r1abcdef0123456789', tenant: 'acme', pipeline: 'digits', version: 2, parameters: { lrs: '[0.1,0.2]' }, state: 'running', createdBy: 'alice', createdAt: t0, startedAt: t0,
  steps: [
    { name: 'prep', step: 'prep', state: 'cached', attempt: 0, cachedFrom: 'oldrun123456789', startedAt: t0, finishedAt: t0 },
    { name: 'train[0]', step: 'train', item: 0, state: 'succeeded', attempt: 1, pod: 'p0', startedAt: t0, finishedAt: '2026-01-01T00:00:30Z', outputs: { loss: '0.2' } },
    { name: 'train[1]', step: 'train', item: 1, state: 'running', attempt: 2, pod: 'p1', startedAt: t0 },
  ],
};

/** a log body that arrives in two chunks, the second after the first has shown. */
function slowLog(chunks: string[]) {
  const enc = new TextEncoder();
  return new Response(new ReadableStream({
    async start(c) {
      for (const ch of chunks) { c.enqueue(enc.encode(ch)); await new Promise((r) => setTimeout(r, 30)); }
      c.close();
    },
  }), { status: 200, headers: { 'Content-Type': 'text/plain' } });
}

describe('pipeline run page', () => {
  it('draws the DAG from the spec with each step\'s live state, the cache hit marked', async () => {
    vi.stubGlobal('fetch', vi.fn(async (url: string) => {
      if (url.startsWith('/api/v1/tenants/acme/pipeline-runs/r1abcdef0123456789')) return json(run);
      if (url.startsWith('/api/v1/tenants/acme/pipelines/digits/versions')) return json({ items: [{ pipeline: 'digits', version: 2, digest: 'sha256:x', spec, createdBy: 'alice', createdAt: t0 }] });
      return json({ detail: 'unexpected ' + url }, 500);
    }));
    const { container } = render(<PipelineRunDetail params={{ tenant: 'acme', run: 'r1abcdef0123456789' }} query={new URLSearchParams()} />);
    await waitFor(() => expect(container.querySelectorAll('[data-testid=dag] a.dag-node')).toHaveLength(4), { timeout: 5000 }); // the spec comes after the run: slow on a loaded machine
    const state = (s: string) => container.querySelector(`a.dag-node[data-step="${s}"]`)!.getAttribute('data-state');
    expect([state('prep'), state('train'), state('eval'), state('notify')]).toEqual(['cached', 'running', 'pending', 'pending']);
    expect(container.querySelector('a.dag-node[data-step="prep"]')!.querySelector('title')!.textContent).toContain('cached');
    expect(container.querySelector('a.dag-node[data-step="prep"] .dag-mark')).toBeTruthy();
    expect(container.querySelector('a.dag-node[data-step="train"]')!.querySelector('title')!.textContent).toContain('running 1/2');
    expect(container.querySelectorAll('path.dag-edge')).toHaveLength(3); // prep→train, train→eval, eval⇢notify
    expect(container.querySelectorAll('path.dag-edge.dashed')).toHaveLength(1);
    expect(screen.getByRole('button', { name: 'Cancel run' })).toBeTruthy();
  });

  it('shows a selected step\'s items and follows the running item\'s log', async () => {
    const fetch = vi.fn(async (url: string) => {
      if (url.includes('/steps/')) return slowLog(['epoch 1\n', 'epoch 2\n']);
      if (url.startsWith('/api/v1/tenants/acme/pipeline-runs/')) return json(run);
      if (url.startsWith('/api/v1/tenants/acme/pipelines/digits/versions')) return json({ items: [{ pipeline: 'digits', version: 2, digest: 'sha256:x', spec, createdBy: 'alice', createdAt: t0 }] });
      return json({ detail: 'unexpected ' + url }, 500);
    });
    vi.stubGlobal('fetch', fetch);
    render(<PipelineRunDetail params={{ tenant: 'acme', run: 'r1abcdef0123456789' }} query={new URLSearchParams('step=train')} />);
    await waitFor(() => expect(screen.getByRole('region', { name: 'Runs of step train' })).toBeTruthy());
    expect(screen.getByRole('region', { name: 'Runs of step train' }).textContent).toContain('loss=0.2');
    // It opens on the running item and follows its log as it arrives.
    await waitFor(() => expect(screen.getByTestId('log').textContent).toBe('epoch 1\n'));
    await waitFor(() => expect(screen.getByTestId('log').textContent).toBe('epoch 1\nepoch 2\n'));
    const logs = () => fetch.mock.calls.map(([u]) => String(u)).filter((u) => u.includes('/steps/'));
    expect(logs()[0]).toBe('/api/v1/tenants/acme/pipeline-runs/r1abcdef0123456789/steps/train%5B1%5D/logs?follow=true');
    // The finished item's saved log, not followed.
    const item = screen.getByLabelText('Item') as HTMLSelectElement;
    item.value = '0';
    item.dispatchEvent(new Event('change', { bubbles: true }));
    await waitFor(() => expect(logs().at(-1)).toBe('/api/v1/tenants/acme/pipeline-runs/r1abcdef0123456789/steps/train%5B0%5D/logs'));
  });

  it('says why a step waits, in its box\'s name and the steps table', async () => {
    const pull = 'image img:2 cannot be pulled: manifest unknown';
    const waiting = { ...run, steps: [...run.steps.slice(0, 2), { ...run.steps[2], reason: pull }] };
    vi.stubGlobal('fetch', vi.fn(async (url: string) => {
      if (url.startsWith('/api/v1/tenants/acme/pipeline-runs/')) return json(waiting);
      if (url.startsWith('/api/v1/tenants/acme/pipelines/digits/versions')) return json({ items: [{ pipeline: 'digits', version: 2, digest: 'sha256:x', spec, createdBy: 'alice', createdAt: t0 }] });
      return json({ detail: 'unexpected ' + url }, 500);
    }));
    const { container } = render(<PipelineRunDetail params={{ tenant: 'acme', run: 'r1abcdef0123456789' }} query={new URLSearchParams()} />);
    await waitFor(() => expect(container.querySelectorAll('[data-testid=dag] a.dag-node')).toHaveLength(4), { timeout: 5000 }); // the spec comes after the run: slow on a loaded machine
    expect(container.querySelector('a.dag-node[data-step="train"] title')!.textContent).toContain(pull);
    const row = [...screen.getByRole('region', { name: 'Steps' }).querySelectorAll('tr')].find((tr) => tr.textContent!.startsWith('train'))!;
    expect(row.textContent).toContain(`running ${pull}`);
  });

  it('says a cached step has no log instead of asking for one', async () => {
    const fetch = vi.fn(async (url: string) => {
      if (url.startsWith('/api/v1/tenants/acme/pipeline-runs/')) return json(run);
      if (url.startsWith('/api/v1/tenants/acme/pipelines/digits/versions')) return json({ items: [] });
      return json({ detail: 'unexpected ' + url }, 500);
    });
    vi.stubGlobal('fetch', fetch);
    render(<PipelineRunDetail params={{ tenant: 'acme', run: 'r1abcdef0123456789' }} query={new URLSearchParams('step=prep')} />);
    await waitFor(() => expect(screen.getByText(/Answered from the cache of run oldrun123456789/)).toBeTruthy());
    expect(fetch.mock.calls.some(([u]) => String(u).includes('/steps/'))).toBe(false);
  });
});
