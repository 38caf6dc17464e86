import { cleanup, render, screen, waitFor, within } from '@testing-library/preact';
import { afterEach, describe, expect, it, vi } from 'vitest';

import { short, ModelVersionDetail } from './version';

afterEach(() => { cleanup(); vi.unstubAllGlobals(); });

const json = (b: unknown, status = 200) => new Response(JSON.stringify(b), { status, headers: { 'Content-Type': 'application/json' } });
const t0 = '2026-01-01T00:00:00Z';
const dig = (c: string) => 'sha256:' + c.repeat(64);
const version = (n: number, extra = {}) => ({ model: 'digits', version: n, source: `runs:/run${n}/model`, status: 'READY', runId: `run${n}abcdefghijkl`, createdAt: t0, updatedAt: t0, ...extra });
const v2 = version(2, { description: 'the tuned one', tags: { team: 'vision' }, aliases: ['champion', 'prod'], pipelineRun: 'prun0123456789ab', step: 'train[1]' });
const lineage = {
  model: 'digits', version: 2, source: v2.source,
  madeBy: { runId: v2.runId, pipelineRun: 'prun0123456789ab', pipeline: 'digits-train', step: 'train[1]' },
  steps: [
    { key: 'prun0123456789ab/train[1]', pipelineRun: 'prun0123456789ab', pipeline: 'digits-train', step: 'train[1]', runId: v2.runId, state: 'succeeded', depth: 0,
      inputs: { data: dig('a') }, outputs: { model: dig('b') }, upstream: ['prun0123456789ab/prep'] },
    { key: 'prun0123456789ab/prep', pipelineRun: 'prun0123456789ab', pipeline: 'digits-train', step: 'prep', state: 'cached', cachedFrom: 'prunold456789abc', depth: 1,
      inputs: { raw: dig('c') }, outputs: { data: dig('a') } },
  ],
  artifacts: [dig('a'), dig('c')],
};

describe('model version page', () => {
  it('shows the version, its aliases and tags, and its lineage back through the upstream steps and their inputs', async () => {
    const fetch = vi.fn(async (url: string) => {
      if (url.startsWith('/api/v1/tenants/acme/models/digits/versions/2/lineage')) return json(lineage);
      if (url === '/api/v1/tenants/acme/models/digits/versions/2') return json(v2);
      return json({ detail: 'unexpected ' + url }, 500);
    });
    vi.stubGlobal('fetch', fetch);
    render(<ModelVersionDetail params={{ tenant: 'acme', model: 'digits', version: '2' }} query={new URLSearchParams()} />);
    expect(screen.getByRole('heading', { level: 1 }).textContent).toBe('Model digits version 2');
    const steps = await screen.findByRole('region', { name: 'Upstream steps' });
    // One read of the version (no paging through the version list) and one of its lineage.
    expect(fetch.mock.calls.map(([url]) => url.replace(/\?.*$/, '')).sort()).toEqual([
      '/api/v1/tenants/acme/models/digits/versions/2', '/api/v1/tenants/acme/models/digits/versions/2/lineage']);
    const main = document.body;
    expect(main.textContent).toContain('champion, prod');
    expect(main.textContent).toContain('the tuned one');
    expect(main.textContent).toContain('runs:/run2/model');
    expect(within(screen.getByRole('region', { name: 'Tags' })).getByText('vision')).toBeTruthy();
    const runLinks = screen.getAllByRole('link', { name: 'run2abcdefgh' }).map((a) => a.getAttribute('href'));
    expect(runLinks[0]).toBe('/tenants/acme/runs/run2abcdefghijkl');
    // Made by: the step (selected on its pipeline run's page, the fan-out item's step) of the pipeline run.
    const made = screen.getByText(/^Made by:/);
    expect(within(made).getByRole('link', { name: 'train[1]' }).getAttribute('href')).toBe('/tenants/acme/pipeline-runs/prun0123456789ab?step=train');
    expect(within(made).getByRole('link', { name: 'prun01234567' }).getAttribute('href')).toBe('/tenants/acme/pipeline-runs/prun0123456789ab');
    const rows = steps.querySelectorAll('tbody tr');
    expect(rows).toHaveLength(2);
    expect(rows[1].textContent).toContain('prep');
    expect(rows[1].textContent).toContain('cached from prunold45678');
    expect(rows[1].querySelector('code')!.getAttribute('title')).toBe(dig('c'));
    expect(rows[1].querySelector('code')!.textContent).toBe('sha256:cccccccccccc…');
    expect([...screen.getByRole('list', { name: 'Input artifacts' }).querySelectorAll('li')].map((li) => li.textContent)).toEqual([dig('a'), dig('c')]);
    expect(screen.getByRole('link', { name: 'All versions of digits' }).getAttribute('href')).toBe('/tenants/acme/models/digits');
  });

  it('names the job that made a version outside any pipeline', async () => {
    const v = version(1, { job: 'train' });
    vi.stubGlobal('fetch', vi.fn(async (url: string) => {
      if (url.includes('/lineage')) return json({ model: 'digits', version: 1, source: v.source, madeBy: { runId: v.runId, job: 'train' }, steps: [], artifacts: [] });
      if (url === '/api/v1/tenants/acme/models/digits/versions/1') return json(v);
      return json({ detail: 'unexpected ' + url }, 500);
    }));
    render(<ModelVersionDetail params={{ tenant: 'acme', model: 'digits', version: '1' }} query={new URLSearchParams()} />);
    const made = await screen.findByText(/^Made by:/);
    expect(within(made).getByRole('link', { name: 'train' }).getAttribute('href')).toBe('/tenants/acme/jobs/train');
    expect(screen.getByText("No pipeline steps: the version's run is no pipeline step's.")).toBeTruthy();
  });

  it('shows the API\'s problem detail when the version cannot be read', async () => {
    vi.stubGlobal('fetch', vi.fn(async () => json({ status: 403, title: 'Forbidden', detail: 'bob is no member of tenant acme' }, 403)));
    render(<ModelVersionDetail params={{ tenant: 'acme', model: 'digits', version: '9' }} query={new URLSearchParams()} />);
    await waitFor(() => expect(screen.getByRole('alert').textContent).toBe('bob is no member of tenant acme'));
    expect(screen.queryByRole('region', { name: 'Upstream steps' })).toBeNull();
  });

  it('says which version is missing when the model has no such version', async () => {
    const missing = 'not found: model version (name=digits, version=9)';
    vi.stubGlobal('fetch', vi.fn(async (url: string) => {
      if (url.includes('/lineage')) return new Promise<Response>(() => {});
      if (url === '/api/v1/tenants/acme/models/digits/versions/9') return json({ status: 404, title: 'Not Found', detail: missing }, 404);
      return json({ detail: 'unexpected ' + url }, 500);
    }));
    render(<ModelVersionDetail params={{ tenant: 'acme', model: 'digits', version: '9' }} query={new URLSearchParams()} />);
    await waitFor(() => expect(screen.getByRole('alert').textContent).toBe(missing));
  });

  it('asks for nothing when the route\'s version is no version number', async () => {
    const fetch = vi.fn(async () => json({ detail: 'unexpected' }, 500));
    vi.stubGlobal('fetch', fetch);
    render(<ModelVersionDetail params={{ tenant: 'acme', model: 'digits', version: 'latest' }} query={new URLSearchParams()} />);
    await waitFor(() => expect(screen.getByRole('alert').textContent).toBe('model version "latest" is not a version number'));
    expect(fetch).not.toHaveBeenCalled();
  });

  it('shortens digests to twelve hex digits and leaves other text alone', () => {
    expect(short(dig('f'))).toBe('sha256:ffffffffffff…');
    expect(short('not-a-digest')).toBe('not-a-digest');
  });
});
