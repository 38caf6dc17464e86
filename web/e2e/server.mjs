// A real `ferry server --kube off` in a temporary data directory, seeded
// through ferry's API and the MLflow API, as python/tests does.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const freePort = () => new Promise((resolve, reject) => {
  const s = createServer();
  s.once('error', reject);
  s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
});

export async function startServer(bin, opts = {}) {
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'ferry-dashboard-'));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const proc = spawn(bin, ['server', '--data-dir', join(dir, 'data'), '--listen', `127.0.0.1:${port}`, '--kube', 'off'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  proc.stdout.on('data', (d) => { log += d; });
  proc.stderr.on('data', (d) => { log += d; });
  const tokenFile = join(dir, 'data', 'admin.token');
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`ferry server exited ${proc.exitCode}:\n${log}`);
    try {
      const r = await fetch(url + '/healthz');
      if (r.ok && existsSync(tokenFile)) break;
    } catch { /* not up yet */ }
    if (Date.now() > deadline) throw new Error(`ferry server not ready at ${url} in 30 s:\n${log}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  const token = readFileSync(tokenFile, 'utf8').trim();
  const call = async (method, path, body) => {
    const r = await fetch(url + path, { method, headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' }, body: body && JSON.stringify(body) });
    const text = await r.text();
    if (!r.ok) throw new Error(`${method} ${path}: ${r.status} ${text}`);
    return text ? JSON.parse(text) : {};
  };
  const stop = async (keep = false) => {
    proc.kill('SIGTERM');
    await new Promise((r) => (proc.exitCode !== null ? r() : proc.once('exit', r)));
    if (!keep) rmSync(dir, { recursive: true, force: true });
  };
  /** login runs `ferry login` then `ferry ui --no-open` and returns the printed link. */
  const uiLink = () => {
    const cfg = join(dir, 'config.yaml');
    execFileSync(bin, ['login', '--config', cfg, '--server', url, '--token', token], { stdio: 'pipe' });
    return execFileSync(bin, ['ui', '--no-open', '--config', cfg], { encoding: 'utf8' }).trim();
  };
  return { url, token, call, stop, uiLink, dir, log: () => log };
}

/** seed writes what the pages show: two tenants, a job, a notebook, three runs with series, a model. */
export async function seed(s) {
  await s.call('POST', '/api/v1/tenants', { name: 'acme', displayName: 'Acme ML', owner: 'admin', quota: { cpu: '8', memory: '16Gi', gpu: 1 } });
  await s.call('POST', '/api/v1/tenants', { name: 'beta', owner: 'admin', quota: { cpu: '2', memory: '4Gi', gpu: 0 } });
  await s.call('POST', '/api/v1/tenants/acme/jobs', { name: 'train', image: 'ferry.local/workload:1', command: ['python3', '-c', 'print(1)'], replicas: 2, resources: { cpu: '1', memory: '1Gi' } });
  await s.call('POST', '/api/v1/tenants/acme/notebooks', { name: 'nb1', image: 'ferry.local/workload:1', resources: { cpu: '1', memory: '2Gi' } });
  const ml = (path, body) => s.call('POST', `/mlflow/acme/api/2.0/mlflow/${path}`, body);
  const exp = (await ml('experiments/create', { name: 'digits' })).experiment_id;
  const runs = [];
  for (const [i, lr] of ['0.1', '0.01', '0.001'].entries()) {
    const id = (await ml('runs/create', { experiment_id: exp, run_name: `lr-${lr}`, start_time: 1700000000000 + i })).run.info.run_id;
    const metrics = [0, 1, 2, 3, 4].map((step) => ({ key: 'loss', value: 1 / (1 + step * Number(lr) * 10), timestamp: 1700000000000 + step, step }));
    await ml('runs/log-batch', { run_id: id, params: [{ key: 'lr', value: lr }, { key: 'seed', value: '7' }], metrics });
    runs.push(id);
  }
  await ml('registered-models/create', { name: 'digits-clf', description: 'digits classifier' });
  await ml('model-versions/create', { name: 'digits-clf', source: `runs:/${runs[0]}/model`, run_id: runs[0] });
  return { exp, runs };
}

const pipelineSpec = {
  apiVersion: 'ferry.dev/v1', kind: 'Pipeline', description: 'prepare, train per learning rate, evaluate',
  parameters: [{ name: 'lrs', type: 'list', default: ['0.1', '0.01'] }],
  steps: [
    { name: 'prep', image: 'ferry.local/workload:1', command: ['python3', 'prep.py'], outputs: { artifacts: ['data'] } },
    { name: 'train', image: 'ferry.local/workload:1', command: ['python3', 'train.py'], args: ['--lr', '{{item}}'], parallelFor: { items: '{{params.lrs}}' },
      inputs: { artifacts: { data: '{{steps.prep.outputs.artifacts.data}}' } }, outputs: { artifacts: ['model'] } },
    { name: 'eval', image: 'ferry.local/workload:1', command: ['python3', 'eval.py'], dependsOn: ['train'] },
  ],
  finally: [{ name: 'notify', image: 'ferry.local/workload:1', command: ['echo', 'done'] }],
};

/**
 * seedPipelines stores a pipeline and submits a run of it. Without a
 * cluster (--kube off) no engine runs it: it stays pending, its steps unstarted.
 */
export async function seedPipelines(s) {
  await s.call('POST', '/api/v1/tenants/acme/pipelines', { name: 'digits-train', spec: pipelineSpec });
  const run = await s.call('POST', '/api/v1/tenants/acme/pipelines/digits-train/runs', {});
  return { run: run.id };
}

/**
 * seedServing uploads a model file into two runs' artifacts, registers them
 * as versions of digits-clf, deploys version 1 and starts version 2 as a 25%
 * canary. Without a cluster no replica runs and no gateway reports.
 */
export async function seedServing(s, { exp, runs }) {
  for (const run of runs.slice(0, 2)) {
    const r = await fetch(`${s.url}/mlflow/acme/api/2.0/mlflow-artifacts/artifacts/${exp}/${run}/artifacts/model/model.joblib`,
      { method: 'PUT', headers: { Authorization: `Bearer ${s.token}` }, body: `model of ${run}` });
    if (!r.ok) throw new Error(`upload model: ${r.status} ${await r.text()}`);
  }
  await s.call('POST', '/mlflow/acme/api/2.0/mlflow/model-versions/create', { name: 'digits-clf', source: `runs:/${runs[1]}/model`, run_id: runs[1] });
  await s.call('POST', '/api/v1/tenants/acme/deployments', { name: 'digits', model: 'digits-clf/1', min: 1, max: 2 });
  await s.call('PATCH', '/api/v1/tenants/acme/deployments/digits', { model: 'digits-clf/2', canaryWeight: 25 });
}

/** seedTuning starts a random search; without a cluster no controller suggests trials, so it has none. */
export async function seedTuning(s) {
  await s.call('POST', '/api/v1/tenants/acme/tunings', { spec: {
    apiVersion: 'ferry.dev/v1', kind: 'Tuning', name: 'lr-search', objective: { metric: 'loss', direction: 'minimize' }, algorithm: 'random', maxTrials: 4,
    parameters: [{ name: 'lr', type: 'float', min: 0.001, max: 0.1, log: true }],
    trial: { image: 'ferry.local/workload:1', command: ['python3', 'train.py', '--lr', '${params.lr}'], resources: { cpu: '500m', memory: '512Mi' } },
  } });
}
