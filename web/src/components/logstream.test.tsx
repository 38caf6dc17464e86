import { cleanup, render, screen, waitFor } from '@testing-library/preact';
import { afterEach, describe, expect, it, vi } from 'vitest';

import { LogStream } from './logstream';

afterEach(() => { cleanup(); vi.unstubAllGlobals(); });

const problem = (detail: string, status = 404) => new Response(JSON.stringify({ status, detail }), { status, headers: { 'Content-Type': 'application/problem+json' } });

/** a body whose chunks arrive one at a time, each after the test lets it. */
function gated() {
  const enc = new TextEncoder();
  let ctl!: ReadableStreamDefaultController<Uint8Array>;
  const body = new ReadableStream<Uint8Array>({ start(c) { ctl = c; } });
  return { res: new Response(body, { status: 200 }), push: (s: string) => ctl.enqueue(enc.encode(s)), end: () => ctl.close() };
}

describe('log stream', () => {
  it('shows each chunk as it arrives while following, then the end', async () => {
    const g = gated();
    vi.stubGlobal('fetch', vi.fn(async () => g.res));
    render(<LogStream url="/api/v1/x/logs?follow=true" label="Log" follow />);
    await waitFor(() => expect(screen.getByTestId('log-status').textContent).toBe('Following…'));
    g.push('tick 0\n');
    await waitFor(() => expect(screen.getByTestId('log').textContent).toBe('tick 0\n'));
    expect(screen.getByTestId('log-status').textContent).toBe('Following…');
    g.push('tick 1\n');
    await waitFor(() => expect(screen.getByTestId('log').textContent).toBe('tick 0\ntick 1\n'));
    g.end();
    await waitFor(() => expect(screen.getByTestId('log-status').textContent).toBe('End of log.'));
  });

  it('while following, retries a refusal (container not started) and then streams', async () => {
    const g = gated();
    const fetch = vi.fn()
      .mockResolvedValueOnce(problem("ferry: replica 0's log: container \"main\" is waiting to start"))
      .mockResolvedValueOnce(g.res);
    vi.stubGlobal('fetch', fetch);
    render(<LogStream url="/api/v1/x/logs?follow=true" label="Log" follow retryMs={20} />);
    await waitFor(() => expect(fetch).toHaveBeenCalledTimes(2));
    g.push('started\n');
    await waitFor(() => expect(screen.getByTestId('log').textContent).toBe('started\n'));
    expect(screen.queryByRole('alert')).toBeNull();
  });

  it('without follow, shows the problem and stops', async () => {
    const fetch = vi.fn(async () => problem('replica 3 of job train has no pod yet (failed)'));
    vi.stubGlobal('fetch', fetch);
    render(<LogStream url="/api/v1/x/logs" label="Log" follow={false} retryMs={20} />);
    await waitFor(() => expect(screen.getByRole('alert').textContent).toContain('has no pod yet'));
    await new Promise((r) => setTimeout(r, 80));
    expect(fetch).toHaveBeenCalledTimes(1);
  });
});
