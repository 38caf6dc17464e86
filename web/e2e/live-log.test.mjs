// A running job's log streams into the job page, in Chromium. It needs a
// cluster, so it runs against one the environment names and is skipped
// without it (make web-test's server runs --kube off, where jobs stay queued):
//
//   FERRY_E2E_TENANT  a tenant the client config may submit jobs to (required)
//   FERRY_E2E_IMAGE   an image with python3 that the nodes have, e.g. `ferry workload-image build`'s (required)
//   FERRY_CONFIG      the logged-in client config (ferry's default when unset)
//   FERRY_BIN         the ferry binary (default bin/ferry)
//
// e.g. after `ferry up`: FERRY_E2E_TENANT=ml FERRY_E2E_IMAGE=$(ferry workload-image build) node --test web/e2e/live-log.test.mjs
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { openBrowser } from './browser.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '../..');
const bin = process.env.FERRY_BIN ?? join(root, 'bin/ferry');
const image = process.env.FERRY_E2E_IMAGE;
const tenant = image && process.env.FERRY_E2E_TENANT;
const shots = process.env.DASHBOARD_ARTIFACTS ?? join(root, 'e2e/artifacts/dashboard');
const ticks = 40;

const ferry = (...args) => execFileSync(bin, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 120_000 }).trim();

let browser, page, check;
const job = `live-log-${Date.now().toString(36)}`;

before(async () => {
  if (!tenant) return;
  // Refusals while the container starts are expected: the page retries them.
  ({ browser, page, check } = await openBrowser({
    shots, timeout: 60_000, allowed: (msg, url) => /status of 404/.test(msg) && url.includes(`/jobs/${job}/logs`),
  }));
});

after(async () => {
  await browser?.close();
  if (tenant) { try { ferry('job', '--tenant', tenant, 'cancel', job); } catch { /* finished already */ } }
});

test('a running job\'s log streams into the job page', { skip: !tenant && 'set FERRY_E2E_TENANT and FERRY_E2E_IMAGE (a cluster is needed to run a job)' }, async () => {
  const program = `import time\nfor i in range(${ticks}):\n    print("tick", i, flush=True)\n    time.sleep(0.5)\n`;
  ferry('job', '--tenant', tenant, 'submit', job, '--image', image, '--cpu', '200m', '--memory', '256Mi', '--', 'python3', '-u', '-c', program);
  const link = ferry('ui', '--no-open', '--path', `/tenants/${tenant}/jobs/${job}`);
  let navigations = 0;
  page.on('framenavigated', (f) => { if (f === page.mainFrame()) navigations++; });
  await page.goto(link);
  await page.waitForURL(new RegExp(`/tenants/${tenant}/jobs/${job}$`));
  const log = page.getByTestId('log');
  const started = navigations;
  // The first line arrives while the job is still running: streamed, not read after the end.
  await page.waitForFunction(() => /tick 0\n/.test(document.querySelector('[data-testid=log]')?.textContent ?? ''), null, { timeout: 180_000 });
  const first = await log.innerText();
  assert.ok(!first.includes(`tick ${ticks - 1}`), `the whole log was there at once:\n${first}`);
  assert.match(await page.locator('dl.kv').innerText(), /running/);
  assert.match(await page.getByTestId('log-status').innerText(), /Following/);
  await check('job-live-log');
  // Later lines follow on the same page, with no reload.
  await page.waitForFunction((n) => (document.querySelector('[data-testid=log]')?.textContent ?? '').includes(`tick ${n}\n`), ticks - 1, { timeout: 60_000 });
  assert.equal(navigations, started, 'the page did not reload to show new lines');
  // The controller saves the log before it marks the job succeeded; on a loaded machine that takes a while.
  await page.locator('dl.kv').getByText('succeeded').waitFor({ timeout: 120_000 });
  await page.getByTestId('log-status').getByText('End of log.').waitFor();
  const all = await log.innerText();
  for (let i = 0; i < ticks; i++) assert.ok(all.includes(`tick ${i}\n`), `line ${i} missing from the saved log`);
});
