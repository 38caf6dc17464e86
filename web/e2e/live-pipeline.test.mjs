// A pipeline run's page follows its steps live, in Chromium. It needs a
// cluster (make web-test's server runs --kube off, where no step starts),
// so it runs a pipeline the environment names and is skipped without it:
//
//   FERRY_E2E_TENANT          the pipeline's tenant (required)
//   FERRY_E2E_PIPELINE        a pipeline whose steps each wait for the one before and then sleep
//                             a few seconds, longer than the page's 2 s poll (required; see
//                             livePipelineSpec in e2e/dashboard_test.go)
//   FERRY_E2E_PIPELINE_PARAMS its parameters, NAME=VALUE,... (values that make the first run miss the cache)
//   FERRY_E2E_PIPELINE_STEPS  its steps, comma-separated (default: the boxes the page draws first)
//   FERRY_CONFIG              the logged-in client config (ferry's default when unset)
//   FERRY_BIN                 the ferry binary (default bin/ferry)
//
// Once Chromium is up (its start can take longer than a step) it submits a
// run with the CLI and opens the run's page, then watches the graph without
// reloading: every step box shows running, then succeeded, and every step
// after the first (in FERRY_E2E_PIPELINE_STEPS' order) pending before that.
// Then it runs the pipeline again from its page with the same parameters
// and checks that each step of the second run is marked cached, from the
// first.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { openBrowser } from './browser.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '../..');
const bin = process.env.FERRY_BIN ?? join(root, 'bin/ferry');
const pipeline = process.env.FERRY_E2E_PIPELINE;
const tenant = pipeline && process.env.FERRY_E2E_TENANT;
const params = (process.env.FERRY_E2E_PIPELINE_PARAMS ?? '').split(',').filter(Boolean);
const shots = process.env.DASHBOARD_ARTIFACTS ?? join(root, 'e2e/artifacts/dashboard');
// A loaded 2-core machine starts a step pod in tens of seconds; a short chain ends in minutes.
const runTimeout = Number(process.env.FERRY_E2E_RUN_TIMEOUT_MS ?? 360_000);

const ferry = (...args) => execFileSync(bin, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 120_000 }).trim();
const order = ['pending', 'running', 'succeeded'];

let browser, page, check, run;

before(async () => {
  if (!tenant) return;
  ({ browser, page, check } = await openBrowser({ shots, timeout: 60_000 }));
  // Every state each step box shows, in order, recorded in the page as the
  // DOM changes (a poll every 2 s could miss a short state; this cannot).
  await page.addInitScript(() => {
    const seen = {};
    window.__stepStates = seen;
    const note = () => {
      for (const n of document.querySelectorAll('a.dag-node[data-step]')) {
        const h = (seen[n.dataset.step] ??= []);
        if (h[h.length - 1] !== n.dataset.state) h.push(n.dataset.state);
      }
    };
    new MutationObserver(note).observe(document, { subtree: true, childList: true, attributes: true, attributeFilter: ['data-state'] });
  });
});

after(async () => {
  await browser?.close();
  if (run) { try { ferry('run', 'cancel', run, '--tenant', tenant); } catch { /* over already */ } }
});

const runState = () => page.locator('dl.kv dd span.state').first().innerText();

/** untilEnded waits for the run on the page to end and says how it ended. */
async function untilEnded() {
  await page.waitForFunction(() => /^(succeeded|failed|cancelled)$/.test(document.querySelector('dl.kv dd span.state')?.textContent ?? ''), null, { timeout: runTimeout });
  return runState();
}

test('a running pipeline\'s step boxes change state live, and a rerun\'s steps are marked cached', { skip: !tenant && 'set FERRY_E2E_TENANT and FERRY_E2E_PIPELINE (a cluster is needed to run a pipeline)' }, async () => {
  const out = ferry('run', 'submit', pipeline, '--tenant', tenant, ...params.flatMap((p) => ['-p', p]), '-o', 'json');
  run = JSON.parse(out.slice(out.indexOf('{'))).id;
  assert.match(run ?? '', /^[0-9a-f]+$/, `run submit printed ${out}`);
  const link = ferry('ui', '--no-open', '--path', `/tenants/${tenant}/pipeline-runs/${run}`);
  let navigations = 0;
  page.on('framenavigated', (f) => { if (f === page.mainFrame()) navigations++; });
  await page.goto(link);
  await page.waitForURL(new RegExp(`/tenants/${tenant}/pipeline-runs/${run}$`));
  const started = navigations;
  // The graph is drawn from the spec: every step, started or not.
  const named = process.env.FERRY_E2E_PIPELINE_STEPS?.split(',').filter(Boolean) ?? [];
  await page.locator('a.dag-node').nth(Math.max(1, named.length - 1)).waitFor();
  const steps = named.length ? named : await page.locator('a.dag-node').evaluateAll((ns) => ns.map((n) => n.dataset.step));
  const first = await runState();
  assert.doesNotMatch(first, /succeeded|failed|cancelled/, `the run was over when its page opened (${first})`);
  await page.locator('a.dag-node[data-state=running]').first().waitFor({ timeout: runTimeout });
  await check('pipeline-run-live');
  assert.equal(await untilEnded(), 'succeeded', `the run ended ${await page.locator('dl.kv dd').first().innerText()}`);
  await page.waitForFunction((n) => document.querySelectorAll('a.dag-node[data-state=succeeded]').length === n, steps.length);
  assert.equal(navigations, started, 'the page reloaded to show the new states');
  const seen = await page.evaluate(() => window.__stepStates);
  // Each step shows its states in order; the first may be running before
  // the page opens, and each later one waits for it, then runs.
  for (const [i, s] of steps.entries()) {
    const h = seen[s] ?? [];
    const want = i === 0 ? ['running', 'succeeded'] : order;
    const idx = h.map((x) => order.indexOf(x));
    const inOrder = idx.every((x, k) => x >= 0 && (k === 0 || x > idx[k - 1]));
    assert.ok(inOrder && want.every((x) => h.includes(x)) && h.at(-1) === 'succeeded',
      `step ${s}'s box showed ${h.join(' → ') || 'nothing'}: want ${want.join(' → ')} (all seen: ${JSON.stringify(seen)})`);
  }
  await check('pipeline-run-live-done');

  // Run it again from its pipeline's page with the same parameters (as the run's page lists them): every step is a cache hit.
  const shown = (await page.locator('dl.kv dd').nth(2).innerText()).trim();
  await page.locator('dl.kv dd').nth(1).getByRole('link').click();
  await page.waitForURL(/\/tenants\/[^/]+\/pipelines\/[^/?]+$/);
  const form = page.getByRole('form', { name: /^Run version/ });
  await form.waitFor();
  for (const kv of shown === '—' ? [] : shown.split(', ')) {
    const [k, ...v] = kv.split('=');
    await form.getByLabel(new RegExp(`^${k} \\(`)).fill(v.join('='));
  }
  await form.getByRole('button', { name: /^Run v/ }).click();
  await page.waitForURL((u) => /\/pipeline-runs\/[0-9a-f]+$/.test(u.pathname) && !u.pathname.endsWith(`/${run}`));
  assert.equal(await untilEnded(), 'succeeded', `the second run ended ${await page.locator('dl.kv dd').first().innerText()}`);
  await page.waitForFunction((n) => document.querySelectorAll('a.dag-node[data-state=cached]').length === n, steps.length);
  for (const s of steps) {
    const node = page.locator(`a.dag-node[data-step="${s}"]`);
    assert.equal(await node.locator('rect.cached').count(), 1, `step ${s}'s box is not drawn dashed`);
    assert.equal(await node.locator('circle.dag-mark').count(), 1, `step ${s}'s box has no cache mark`);
  }
  const table = page.getByRole('region', { name: 'Steps' });
  for (const s of steps) assert.match(await table.getByRole('row', { name: new RegExp(`^${s} `) }).innerText(), /cached[\s\S]*yes/, `step ${s}'s row`);
  await page.locator(`a.dag-node[data-step="${steps[0]}"]`).click();
  await page.getByText(`Answered from the cache of run ${run}: no pod ran, so there is no log.`).waitFor();
  await check('pipeline-run-cached');
});
