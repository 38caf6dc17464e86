import { describe, expect, it } from 'vitest';

import { align, paramDiff } from './compare/diff';
import { column, nextOrder, readView, writeView } from './experiments/query';
import { quantity, usage } from './overview/quantity';

describe('compare', () => {
  it('marks the params that differ across runs', () => {
    const rows = paramDiff([{ params: { lr: '0.1', seed: '1' } }, { params: { lr: '0.2', seed: '1' } }, { params: { seed: '1' } }]);
    expect(rows).toEqual([
      { key: 'lr', values: ['0.1', '0.2', undefined], differs: true },
      { key: 'seed', values: ['1', '1', '1'], differs: false },
    ]);
  });

  it('aligns series on the union of steps with gaps as null', () => {
    expect(align([[{ step: 0, value: 1 }, { step: 2, value: 3 }], [{ step: 1, value: NaN }, { step: 2, value: 5 }]]))
      .toEqual([[0, 1, 2], [1, null, 3], [null, null, 5]]);
  });
});

describe('runs view', () => {
  it('round-trips through the URL and cycles sort order', () => {
    const v = { params: ['lr'], metrics: ['val loss'], filter: 'metrics.loss < 1', order: 'metrics.loss DESC', page: '' };
    expect(readView(new URLSearchParams(writeView(v).slice(1)))).toEqual(v);
    expect(nextOrder('', 'metrics.loss')).toBe('metrics.loss DESC');
    expect(nextOrder('metrics.loss DESC', 'metrics.loss')).toBe('metrics.loss ASC');
    expect(nextOrder('metrics.loss ASC', 'metrics.loss')).toBe('');
    expect(column('metrics', 'val loss')).toBe('metrics.`val loss`');
  });
});

describe('quota usage', () => {
  it('parses quantities and sums running work only', () => {
    expect(quantity('500m')).toBe(0.5);
    expect(quantity('2Gi')).toBe(2 * 2 ** 30);
    expect(quantity('bogus!')).toBeNaN();
    const u = usage(
      [{ state: 'running', spec: { replicas: 2, resources: { cpu: '1', memory: '1Gi', gpu: 1 } } }, { state: 'queued', spec: { resources: { cpu: '8' } } }],
      [{ state: 'running', resources: { cpu: '500m', memory: '512Mi' } }, { state: 'stopped', resources: { cpu: '4' } }],
    );
    expect(u).toEqual({ cpu: 2.5, memory: 2.5 * 2 ** 30, gpu: 2 });
  });
});

describe('run lineage', () => {
  it('links a pipeline step\'s run to its step in the pipeline run, and a trial to its tuning and job', async () => {
    const { lineage } = await import('./experiments/lineage');
    expect(lineage('acme', 'child', { 'mlflow.parentRunId': 'prun', 'ferry.pipeline': 'digits', 'ferry.pipeline.step': 'train[1]' })).toEqual([
      { label: 'Pipeline step', text: 'digits · train[1]', href: '/tenants/acme/pipeline-runs/prun?step=train' },
      { label: 'Parent run', text: 'prun', href: '/tenants/acme/runs/prun' },
    ]);
    expect(lineage('acme', 'prun', { 'ferry.pipeline': 'digits' })[0].href).toBe('/tenants/acme/pipeline-runs/prun');
    expect(lineage('acme', 'r', { 'ferry.tuning': 'lr', 'ferry.job': 'lr-t3' }).map((l) => l.href)).toEqual(['/tenants/acme/tunings/lr', '/tenants/acme/jobs/lr-t3']);
    expect(lineage('acme', 'r', undefined)).toEqual([]);
  });
});
