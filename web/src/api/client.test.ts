import { afterEach, describe, expect, it, vi } from 'vitest';

import { ApiError, call, fill, problemMessage } from './client';

afterEach(() => vi.unstubAllGlobals());

describe('client', () => {
  it('fills path parameters escaped and drops empty query values', () => {
    expect(fill('/api/v1/tenants/{tenant}/jobs/{name}', { tenant: 'a b', name: 'x/y' }, { limit: 5, after: '' }))
      .toBe('/api/v1/tenants/a%20b/jobs/x%2Fy?limit=5');
  });

  it('turns a problem into its detail and field errors', () => {
    expect(problemMessage(422, { title: 'Unprocessable', detail: 'validation failed', errors: [{ location: 'body.name', message: 'required' }] }))
      .toBe('validation failed — body.name: required');
    expect(problemMessage(500, undefined)).toBe('HTTP 500');
  });

  it('sends the CSRF header with the cookie and throws the problem detail', async () => {
    const fetch = vi.fn(async () => new Response(JSON.stringify({ detail: 'tenant nope not found' }), { status: 404, headers: { 'Content-Type': 'application/problem+json' } }));
    vi.stubGlobal('fetch', fetch);
    const err = await call('get', '/api/v1/tenants/{tenant}', { path: { tenant: 'nope' } }).catch((e) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect(err.status).toBe(404);
    expect(err.message).toBe('tenant nope not found');
    const [url, init] = fetch.mock.calls[0] as unknown as [string, RequestInit];
    expect(url).toBe('/api/v1/tenants/nope');
    expect((init.headers as Record<string, string>)['X-Ferry-UI']).toBe('1');
    expect(init.credentials).toBe('same-origin');
  });
});
