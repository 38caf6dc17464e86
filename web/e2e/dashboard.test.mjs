// Browser tests: Debian's Chromium (headless, driven by playwright-core)
// against a real `ferry server --kube off` with seeded data. Each page gets
// a screenshot under e2e/artifacts/dashboard/ and an axe-core check (no
// serious or critical violations); any console error fails the run.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { openBrowser } from './browser.mjs';
import { seed, seedPipelines, seedServing, seedTuning, startServer } from './server.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '../..');
const bin = process.env.FERRY_BIN ?? join(root, 'bin/ferry');
const shots = process.env.DASHBOARD_ARTIFACTS ?? join(root, 'e2e/artifacts/dashboard');

let server, data, pipes, browser, page, check;
let allowHTTPError = false;

before(async () => {
  server = await startServer(bin);
  data = await seed(server);
  pipes = await seedPipelines(server);
  await seedServing(server, data);
  await seedTuning(server);
  ({ browser, page, check } = await openBrowser({
    shots, allowed: (msg) => allowHTTPError && /Failed to load resource: the server responded with a status of 404/.test(msg),
  }));
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

const text = (sel) => page.locator(sel).first().innerText();

test('dashboard', async (t) => {
  await t.test('ferry ui prints a one-time link that logs the browser in', async () => {
    const link = server.uiLink();
    assert.match(link, /^http:\/\/127\.0\.0\.1:\d+\/ui\/login\?code=fuh_/);
    assert.ok(!link.includes(server.token), 'the link carries the code, never the token');
    await page.goto(link);
    await page.waitForURL(server.url + '/');
    await page.getByText('Signed in as').waitFor();
    assert.match(await text('main'), /Signed in as admin/);
    const cookie = (await page.context().cookies()).find((c) => c.name === 'ferry_ui');
    assert.ok(cookie && cookie.httpOnly && cookie.sameSite === 'Strict', `session cookie ${JSON.stringify(cookie)}`);
    await page.getByRole('link', { name: 'acme' }).waitFor();
    await check('tenants');
  });

  await t.test('switch tenant from the picker', async () => {
    await page.getByRole('combobox', { name: 'Tenant', exact: true }).selectOption('acme');
    await page.waitForURL(/\/tenants\/acme$/);
    await page.getByText('Quota usage').waitFor();
    await page.getByText('of 8 CPU').waitFor();
    await check('overview');
    await page.getByRole('combobox', { name: 'Tenant', exact: true }).selectOption('beta');
    await page.waitForURL(/\/tenants\/beta$/);
    await page.getByText('of 2 CPU').waitFor();
    await page.getByRole('combobox', { name: 'Tenant', exact: true }).selectOption('acme');
    await page.waitForURL(/\/tenants\/acme$/);
  });

  await t.test('jobs: the queued job and its state (no cluster: it does not run)', async () => {
    await page.getByRole('navigation', { name: 'Tenant' }).getByRole('link', { name: 'Jobs' }).click();
    await page.waitForURL(/\/tenants\/acme\/jobs$/);
    const row = page.getByRole('row', { name: /train/ });
    await row.getByText('queued').waitFor();
    await check('jobs');
    await row.getByRole('link', { name: 'train' }).click();
    await page.waitForURL(/\/tenants\/acme\/jobs\/train$/);
    await page.getByRole('heading', { name: 'Job train' }).waitFor();
    assert.match(await text('dl.kv'), /queued/);
    assert.match(await text('main'), /its log starts when it runs/);
    await check('job');
  });

  await t.test('notebooks: list, create, stop', async () => {
    await page.goto(server.url + '/tenants/acme/notebooks');
    await page.getByRole('row', { name: /nb1/ }).waitFor();
    await page.getByLabel('Name').fill('nb2');
    await page.getByLabel('Image (optional)').fill('ferry.local/workload:1');
    await page.getByRole('button', { name: 'Create notebook' }).click();
    await page.getByRole('row', { name: /nb2/ }).waitFor();
    await check('notebooks');
    // Its own page, at a stable URL.
    await page.getByRole('link', { name: 'nb1', exact: true }).click();
    await page.waitForURL(/\/tenants\/acme\/notebooks\/nb1$/);
    await page.getByRole('heading', { name: 'Notebook nb1' }).waitFor();
    assert.match(await text('dl.kv'), /\/t\/acme\/notebooks\/nb1\//);
    await page.getByRole('button', { name: /^(Stop|Start)$/ }).waitFor();
    await check('notebook');
  });

  await t.test('runs table with chosen columns, sorted server-side', async () => {
    await page.goto(server.url + '/tenants/acme/experiments');
    await page.getByRole('link', { name: 'digits', exact: true }).click();
    await page.waitForURL(new RegExp(`/experiments/${data.exp}$`));
    await page.getByLabel('Param columns (comma-separated)').fill('lr, seed');
    await page.getByLabel('Metric columns (comma-separated)').fill('loss');
    await page.getByRole('button', { name: 'Apply' }).click();
    await page.waitForURL(/params=lr%2Cseed&metrics=loss/);
    await page.getByRole('columnheader', { name: 'loss' }).waitFor();
    await page.getByRole('button', { name: 'loss' }).click(); // descending
    await page.waitForURL(/order=metrics\.loss\+DESC/);
    await page.waitForFunction(() => document.querySelectorAll('tbody tr').length === 3);
    const first = await page.locator('tbody tr').first().innerText();
    assert.match(first, /lr-0\.001/, 'highest final loss first (lr 0.001)');
    for (const lr of ['0.1', '0.01', '0.001']) await page.getByLabel(`Select run lr-${lr}`).check();
    await check('runs');
  });

  await t.test('compare three runs: param diff and a chart with three series', async () => {
    await page.getByRole('link', { name: /Compare 3 selected/ }).click();
    await page.waitForURL(/\/tenants\/acme\/compare\?runs=/);
    await page.getByRole('row', { name: /lr \(differs\)/ }).waitFor();
    await page.waitForSelector('[data-testid=metric-chart][data-series="3"] canvas');
    const legend = await page.locator('[data-testid=metric-chart] .u-legend .u-series').count();
    assert.equal(legend - 1, 3, 'the legend lists three runs besides the step axis');
    await check('compare');
  });

  await t.test('models: versions and the link to the source run', async () => {
    await page.goto(server.url + '/tenants/acme/models');
    await page.getByRole('link', { name: 'digits-clf' }).click();
    await page.waitForURL(/\/models\/digits-clf$/);
    const run = page.getByRole('link', { name: data.runs[0].slice(0, 12) });
    await run.waitFor();
    await page.getByText(/Served by: digits \(v1 stable 75%\), digits \(v2 canary 25%\)/).waitFor();
    await check('model');
    await page.getByRole('link', { name: 'v1', exact: true }).click();
    await page.waitForURL(/\/models\/digits-clf\/versions\/1$/);
    await page.getByRole('heading', { name: 'Lineage' }).waitFor();
    await page.getByText(`Made by: run ${data.runs[0].slice(0, 12)} (no job or pipeline step)`).waitFor();
    assert.match(await text('dl.kv'), new RegExp(`runs:/${data.runs[0]}/model`));
    await check('model-version');
    await page.getByRole('link', { name: data.runs[0].slice(0, 12) }).first().click();
    await page.waitForURL(new RegExp(`/runs/${data.runs[0]}$`));
    await page.getByRole('heading', { name: 'Run lr-0.1' }).waitFor();
    await check('run');
  });

  await t.test('pipelines: the DAG drawn from the spec, a run submitted from the form, cancel (no cluster: steps never start)', async () => {
    await page.getByRole('navigation', { name: 'Tenant' }).getByRole('link', { name: 'Pipelines' }).click();
    await page.waitForURL(/\/tenants\/acme\/pipelines$/);
    await page.getByRole('row', { name: new RegExp(pipes.run.slice(0, 12)) }).getByText('pending').waitFor();
    await check('pipelines');
    await page.getByRole('link', { name: 'digits-train' }).first().click(); // the pipelines table, above the runs
    await page.waitForURL(/\/pipelines\/digits-train$/);
    await page.locator('a.dag-node').nth(3).waitFor();
    const nodes = () => page.locator('a.dag-node').evaluateAll((ns) => ns.map((n) => `${n.dataset.step}:${n.dataset.state}`).sort());
    assert.deepEqual(await nodes(), ['eval:spec', 'notify:spec', 'prep:spec', 'train:spec']);
    assert.equal(await page.locator('path.dag-edge').count(), 3, 'prep→train, train→eval, eval⇢notify');
    await page.locator('a.dag-node[data-step=train]').click();
    await page.waitForURL(/\?step=train$/);
    await page.getByRole('heading', { name: 'Step train' }).waitFor();
    assert.match(await text('section.card'), /over \{\{params\.lrs\}\}/);
    await check('pipeline');
    await page.getByLabel('Schedule name').fill('nightly');
    await page.getByRole('button', { name: 'Add schedule' }).click();
    const sched = page.getByRole('region', { name: 'Schedules' }).getByRole('row', { name: /nightly/ });
    await sched.getByText('active').waitFor();
    await sched.getByRole('button', { name: 'Pause nightly' }).click();
    await sched.getByText('paused').waitFor();
    await page.getByRole('button', { name: 'Run v1' }).click();
    await page.waitForURL(/\/pipeline-runs\/[0-9a-f]+$/);
    await page.locator('dl.kv').getByText('pending').waitFor();
    await page.locator('a.dag-node').nth(3).waitFor();
    assert.deepEqual(await nodes(), ['eval:pending', 'notify:pending', 'prep:pending', 'train:pending']);
    await page.locator('a.dag-node[data-step=prep]').click();
    await page.getByText(/Not started yet: it runs when/).waitFor();
    await check('pipeline-run');
    await page.getByRole('button', { name: 'Cancel run' }).click();
    await page.locator('dl.kv').getByText('cancelled').waitFor();
    await page.locator('a.dag-node[data-step=prep][data-state="not run"]').waitFor();
    await page.getByRole('button', { name: 'Retry from failed steps' }).waitFor();
    await check('pipeline-run-cancelled');
    // Its tracking run links back to it.
    const runURL = page.url().split('?')[0];
    await page.locator('dl.kv').getByRole('link', { name: /^[0-9a-f]{32}$/ }).click();
    await page.waitForURL(/\/runs\/[0-9a-f]{32}$/);
    await page.locator('dl.kv').getByRole('link', { name: 'digits-train' }).click();
    await page.waitForURL(runURL);
  });

  await t.test('deployments: the traffic split of stable and canary, promote', async () => {
    await page.getByRole('navigation', { name: 'Tenant' }).getByRole('link', { name: 'Deployments' }).click();
    await page.waitForURL(/\/tenants\/acme\/deployments$/);
    await page.getByRole('row', { name: /digits/ }).getByText('stable v1 75% · canary v2 25%').waitFor();
    await check('deployments');
    await page.getByRole('link', { name: 'digits', exact: true }).click();
    await page.waitForURL(/\/deployments\/digits$/);
    await page.getByTestId('traffic').waitFor();
    const split = () => page.locator('[data-testid=traffic] [data-weight]').evaluateAll((ns) => ns.map((n) => `${n.dataset.role}:${n.dataset.weight}`));
    assert.deepEqual(await split(), ['stable:75', 'canary:25']);
    await page.getByRole('region', { name: 'Rollout events' }).getByText('canary', { exact: true }).waitFor();
    await check('deployment');
    page.once('dialog', (d) => d.accept());
    await page.getByRole('button', { name: 'Promote canary' }).click();
    await page.getByRole('region', { name: 'Rollout events' }).getByText('promoted', { exact: true }).waitFor();
    assert.deepEqual(await split(), ['stable:100']);
    await page.getByRole('button', { name: 'Roll back' }).waitFor();
    await page.getByLabel('Key name (what it is for)').fill('batch scoring');
    await page.getByRole('button', { name: 'Make key' }).click();
    assert.match(await page.getByTestId('new-key').innerText(), /ferry_dk_/);
    await page.getByRole('region', { name: 'API keys' }).getByText('batch scoring').waitFor();
    await check('deployment-promoted');
  });

  await t.test('tuning: the experiment, its search and trials table (no cluster: no trials), stop', async () => {
    await page.getByRole('navigation', { name: 'Tenant' }).getByRole('link', { name: 'Tuning' }).click();
    await page.waitForURL(/\/tenants\/acme\/tunings$/);
    await page.getByRole('row', { name: /lr-search/ }).getByText('minimize loss').waitFor();
    await check('tunings');
    await page.getByRole('link', { name: 'lr-search' }).click();
    await page.waitForURL(/\/tunings\/lr-search$/);
    await page.getByText(/lr ∈ \[0\.001, 0\.1\] log/).waitFor();
    await page.getByText('No trials yet: the first starts when the controller suggests it.').waitFor();
    await check('tuning');
    page.once('dialog', (d) => d.accept());
    await page.getByRole('button', { name: 'Stop tuning' }).click();
    await page.locator('dl.kv').getByText('stopped', { exact: true }).waitFor();
  });

  await t.test('usage: the quota against what is requested and queued (the seeded job waits), workloads, reads', async () => {
    await page.getByRole('navigation', { name: 'Tenant' }).getByRole('link', { name: 'Usage' }).click();
    await page.waitForURL(/\/tenants\/acme\/usage$/);
    const meter = page.getByRole('meter', { name: 'CPU requested' });
    await meter.waitFor();
    assert.equal(await meter.getAttribute('aria-valuetext'), '0 CPU of 8 CPU', 'nothing runs without a cluster, so nothing is requested');
    await page.getByText(/Queued: 1 job\(s\), 2 replica\(s\) asking 2 CPU, 2\.0 GiB/).waitFor();
    await page.getByTestId('sampled').getByText(/Not sampled yet/).waitFor();
    await page.getByText('No workload has been measured.').waitFor();
    await check('usage');
  });

  await t.test('audit: filter and verify the chain', async () => {
    await page.goto(server.url + '/audit');
    await page.getByLabel('Actor').fill('admin');
    await page.getByRole('button', { name: 'Filter' }).click();
    await page.waitForURL(/actor=admin/);
    await page.getByRole('cell', { name: 'redeemUISession' }).waitFor();
    await page.getByRole('button', { name: 'Verify chain' }).click();
    await page.getByTestId('verify-result').waitFor();
    assert.match(await page.getByTestId('verify-result').innerText(), /Chain verified/);
    await check('audit');
  });

  await t.test('admin: tokens, users and members', async () => {
    await page.goto(server.url + '/admin');
    await page.getByRole('region', { name: 'Your tokens' }).getByText('dashboard session').waitFor();
    await page.getByRole('region', { name: 'Members of acme' }).getByText('owner').waitFor();
    await check('admin');
  });

  await t.test('an API error shows the problem detail', async () => {
    allowHTTPError = true;
    await page.goto(server.url + '/tenants/nope');
    await page.getByRole('alert').waitFor();
    assert.match(await page.getByRole('alert').innerText(), /nope/);
    allowHTTPError = false;
  });

  await t.test('keyboard: skip link and tenant navigation, readable when narrow', async () => {
    await page.goto(server.url + '/tenants/acme');
    await page.getByText('Quota usage').waitFor();
    await page.keyboard.press('Tab');
    assert.equal(await page.evaluate(() => document.activeElement?.textContent), 'Skip to content');
    await page.setViewportSize({ width: 390, height: 844 });
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    assert.ok(overflow <= 1, `the page scrolls sideways by ${overflow}px at 390px`);
    await check('overview-narrow');
    for (const [name, path, ready] of [
      ['pipeline-run-narrow', `/tenants/acme/pipeline-runs/${pipes.run}`, 'a.dag-node'],
      ['deployment-narrow', '/tenants/acme/deployments/digits', '[data-testid=traffic]'],
      ['tuning-narrow', '/tenants/acme/tunings/lr-search', 'dl.kv'],
      ['usage-narrow', '/tenants/acme/usage', '[data-testid=sampled]'],
    ]) {
      await page.goto(server.url + path);
      await page.locator(ready).first().waitFor();
      const wide = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
      assert.ok(wide <= 1, `${path} scrolls sideways by ${wide}px at 390px`);
      await check(name);
    }
    await page.setViewportSize({ width: 1280, height: 860 });
  });

  await t.test('initial JavaScript gzipped is within budget', () => {
    const out = execFileSync(process.execPath, [join(here, '../scripts/size.mjs')], { encoding: 'utf8' });
    console.log(out.trim());
  });
});
