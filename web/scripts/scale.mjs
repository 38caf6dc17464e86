// The runs page at scale (issue 18's figure): a real ferry server with N
// runs (default 1,000,000) in one experiment, written straight into SQLite
// with sqlite3 (the API would take hours), then: the server time of the
// runs page's query (MLflow runs/search, 50 rows, newest first) over
// loopback, and the time to content of the page in headless Chromium.
// Usage: node web/scripts/scale.mjs [N]   (needs bin/ferry, sqlite3, chromium)
import { execFileSync } from 'node:child_process';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { chromium } from 'playwright-core';

import { startServer } from '../e2e/server.mjs';

const root = resolve(fileURLToPath(import.meta.url), '../../..');
const bin = process.env.FERRY_BIN ?? join(root, 'bin/ferry');
const n = Number(process.argv[2] ?? 1_000_000);

let s = await startServer(bin);
await s.call('POST', '/api/v1/tenants', { name: 'big', owner: 'admin' });
const exp = (await s.call('POST', '/mlflow/big/api/2.0/mlflow/experiments/create', { name: 'big' })).experiment_id;
await s.stop(true);
let t0 = Date.now();
execFileSync('sqlite3', [join(s.dir, 'data', 'ferry.db')], {
  input: `PRAGMA journal_mode=WAL;
WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < ${n})
INSERT INTO runs (run_uuid, tenant, experiment_id, name, user_id, status, start_time, lifecycle_stage, artifact_uri, parent_run_id)
SELECT printf('%032x', i), 'big', ${exp}, 'run-' || i, 'admin', 'FINISHED', 1700000000000 + i, 'active', 'mlflow-artifacts:/big/' || i, '' FROM c;
WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < ${n})
INSERT INTO run_params (run_uuid, key, value) SELECT printf('%032x', i), 'lr', printf('%.4f', (i % 100) / 1000.0) FROM c;
`,
});
console.log(`seeded ${n} runs with a param each in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
s = await startServer(bin, { dir: s.dir });
try {
  const times = [];
  for (let i = 0; i < 7; i++) {
    t0 = performance.now();
    const r = await s.call('POST', '/mlflow/big/api/2.0/mlflow/runs/search', { experiment_ids: [exp], max_results: 50 });
    times.push(performance.now() - t0);
    if (r.runs.length !== 50) throw new Error(`runs/search gave ${r.runs.length} runs`);
  }
  times.sort((a, b) => a - b);
  console.log(`runs/search, first page of 50 of ${n}: median ${times[3].toFixed(0)} ms, max ${times[6].toFixed(0)} ms (goal <= 300 ms)`);
  for (const [label, q] of [['filtered by a param', { filter: "params.lr = '0.0500'" }], ['oldest first', { order_by: ['attributes.start_time ASC'] }]]) {
    t0 = performance.now();
    await s.call('POST', '/mlflow/big/api/2.0/mlflow/runs/search', { experiment_ids: [exp], max_results: 50, ...q });
    console.log(`runs/search ${label}: ${(performance.now() - t0).toFixed(0)} ms`);
  }
  const browser = await chromium.launch({ executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium', headless: true, args: ['--no-sandbox'] });
  const page = await browser.newPage({ viewport: { width: 1280, height: 860 } });
  await page.goto(s.url + new URL(s.uiLink()).pathname + new URL(s.uiLink()).search);
  await page.waitForURL(s.url + '/');
  const ttc = [];
  for (let i = 0; i < 3; i++) {
    t0 = performance.now();
    await page.goto(`${s.url}/tenants/big/experiments/${exp}?params=lr`);
    await page.getByRole('link', { name: `run-${n}` }).waitFor({ timeout: 30_000 });
    ttc.push(performance.now() - t0);
  }
  ttc.sort((a, b) => a - b);
  console.log(`runs page in Chromium, navigation to the first row: median ${ttc[1].toFixed(0)} ms (goal <= 1000 ms)`);
  await browser.close();
} finally {
  await s.stop();
}
