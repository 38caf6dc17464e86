import { describe, expect, it } from 'vitest';

import { duration, fold, refsIn, specGraph, stepViews } from './graph';
import { crossings, layout, NODE_H, NODE_W } from './layout';

const step = (name: string, extra: Record<string, unknown> = {}) => ({ name, image: 'img', command: ['run'], ...extra });

describe('pipeline graph from the spec', () => {
  it('reads dependencies from dependsOn and every step reference, as the server does', () => {
    expect(refsIn('--in {{ steps.prep.outputs.artifacts.data }} --n {{steps.count.outputs.parameters.n}} {{params.lr}}')).toEqual(['prep', 'count']);
    const g = specGraph({
      steps: [
        step('prep'), step('count'),
        step('train', { args: ['{{steps.prep.outputs.artifacts.data}}'], env: { N: '{{steps.count.outputs.parameters.n}}' }, dependsOn: ['prep'] }),
        step('eval', { inputs: { artifacts: { model: '{{steps.train.outputs.artifacts.model}}' } }, when: '{{steps.count.outputs.parameters.n}} > 3' }),
        step('fan', { parallelFor: { items: '{{steps.count.outputs.parameters.list}}' } }),
      ] as never,
      finally: [step('notify')] as never,
    });
    expect(g).toEqual([
      { id: 'prep', deps: [], finally: false },
      { id: 'count', deps: [], finally: false },
      { id: 'train', deps: ['count', 'prep'], finally: false },
      { id: 'eval', deps: ['count', 'train'], finally: false },
      { id: 'fan', deps: ['count'], finally: false },
      { id: 'notify', deps: [], finally: true },
    ]);
  });
});

describe('layered layout', () => {
  const nodes = (edges: Record<string, string[]>, fin: string[] = []) =>
    Object.entries(edges).map(([id, deps]) => ({ id, deps, finally: fin.includes(id) }));

  it('puts each step one column right of its deepest dependency, with no boxes overlapping', () => {
    const l = layout(nodes({ a: [], b: ['a'], c: ['a'], d: ['b', 'c'], e: ['a', 'd'] }));
    const by = Object.fromEntries(l.nodes.map((n) => [n.id, n]));
    expect([by.a.layer, by.b.layer, by.c.layer, by.d.layer, by.e.layer]).toEqual([0, 1, 1, 2, 3]);
    expect(by.b.x).toBeGreaterThan(by.a.x);
    for (const p of l.nodes) for (const q of l.nodes) {
      if (p === q) continue;
      const apart = Math.abs(p.x - q.x) >= NODE_W || Math.abs(p.y - q.y) >= NODE_H;
      expect(apart, `${p.id} and ${q.id} overlap`).toBe(true);
    }
    expect(l.width).toBeGreaterThanOrEqual(by.e.x + NODE_W);
    expect(l.edges).toHaveLength(6);
  });

  it('orders a layer to remove crossings the spec order would draw', () => {
    // Spec order puts q (under y) above p (under x): drawn as given, the edges cross.
    const l = layout(nodes({ x: [], y: [], q: ['y'], p: ['x'] }));
    expect(crossings(l)).toBe(0);
  });

  it('routes an edge that skips a column through a free slot', () => {
    const l = layout(nodes({ a: [], b: ['a'], c: ['b'], d: ['c', 'a'] }));
    const long = l.edges.find((e) => e.from === 'a' && e.to === 'd')!;
    // Straight through two placeholder slots (two segments inside them), never through b's or c's box.
    expect(long.d.match(/ L/g)?.length).toBeGreaterThanOrEqual(2);
    const pts = [...long.d.matchAll(/(-?[\d.]+),(-?[\d.]+)/g)].map((m) => [Number(m[1]), Number(m[2])]);
    for (const n of l.nodes.filter((b) => b.id === 'b' || b.id === 'c')) {
      const inColumn = pts.filter(([x]) => x === n.x || x === n.x + NODE_W);
      expect(inColumn.length, `the edge crosses ${n.id}'s column`).toBeGreaterThan(0);
      for (const [, y] of inColumn) expect(Math.abs(y - (n.y + NODE_H / 2)), `through ${n.id}`).toBeGreaterThanOrEqual(NODE_H);
    }
  });

  it('draws finally steps last, fed by dashed edges from the last ordinary steps', () => {
    const l = layout(nodes({ a: [], b: ['a'], c: ['a'], done: [] }, ['done']));
    const by = Object.fromEntries(l.nodes.map((n) => [n.id, n]));
    expect(by.done.layer).toBe(2);
    expect(l.edges.filter((e) => e.dashed).map((e) => e.from).sort()).toEqual(['b', 'c']);
  });

  it('lays out the largest pipeline the API takes (200 steps, dense dependencies) quickly and without overlaps', () => {
    let seed = 7;
    const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const ns = Array.from({ length: 200 }, (_, i) => ({
      id: `s${i}`, finally: false,
      deps: i === 0 ? [] : [...new Set(Array.from({ length: 1 + Math.floor(rand() * 3) }, () => `s${Math.floor(rand() * i)}`))],
    }));
    const start = performance.now();
    const l = layout(ns);
    const ms = performance.now() - start;
    expect(ms).toBeLessThan(1000);
    const seen = new Set(l.nodes.map((n) => `${n.x},${n.y}`));
    expect(seen.size).toBe(200);
    for (const e of l.edges) {
      const a = l.nodes.find((n) => n.id === e.from)!, b = l.nodes.find((n) => n.id === e.to)!;
      expect(b.layer).toBeGreaterThan(a.layer);
    }
  });

  it('survives a cycle (the server refuses them) and an empty pipeline', () => {
    expect(layout(nodes({ a: ['b'], b: ['a'] })).nodes).toHaveLength(2);
    expect(layout([])).toMatchObject({ nodes: [], edges: [] });
  });
});

describe('step state', () => {
  const r = (name: string, state: string, extra: Record<string, unknown> = {}) => ({ name, step: name.replace(/\[.*/, ''), state, attempt: 1, ...extra });

  it('folds fan-out items: a failure shows first, then work in flight; all cached is cached', () => {
    expect(fold([r('t[0]', 'succeeded'), r('t[1]', 'failed'), r('t[2]', 'running')]).state).toBe('failed');
    expect(fold([r('t[0]', 'succeeded'), r('t[1]', 'running')])).toMatchObject({ state: 'running', done: 1 });
    expect(fold([r('t[0]', 'cached'), r('t[1]', 'cached')])).toMatchObject({ state: 'cached', cached: 2 });
    expect(fold([r('t[0]', 'cached'), r('t[1]', 'succeeded')])).toMatchObject({ state: 'succeeded', cached: 1 });
    expect(fold([]).state).toBe('pending');
    expect(fold([], 'failed').state).toBe('not run');
  });

  it('gives the reason of the item that shows the state, never a cache hit\'s', () => {
    const pull = 'image img:2 cannot be pulled: not found';
    expect(fold([r('t[0]', 'succeeded'), r('t[1]', 'running', { reason: pull })]).reason).toBe(pull);
    expect(fold([r('t[0]', 'running', { reason: 'unschedulable' }), r('t[1]', 'failed', { reason: 'exit code 3' })]).reason).toBe('exit code 3');
    expect(fold([r('t', 'cached', { reason: 'cached: outputs of run r1 (step t)' })]).reason).toBeUndefined();
    expect(fold([r('t', 'running')]).reason).toBeUndefined();
  });

  it('groups a run\'s step runs by spec step, items in order', () => {
    const v = stepViews([{ id: 't', deps: [], finally: false }, { id: 'u', deps: ['t'], finally: false }],
      [r('t[1]', 'running', { item: 1 }), r('t[0]', 'succeeded', { item: 0 })]);
    expect(v.get('t')!.runs.map((x) => x.name)).toEqual(['t[0]', 't[1]']);
    expect(v.get('u')!.state).toBe('pending');
  });

  it('writes durations short', () => {
    expect(duration('2026-01-01T00:00:00Z', '2026-01-01T00:01:05Z')).toBe('1m 05s');
    expect(duration('2026-01-01T00:00:00Z', undefined, Date.parse('2026-01-01T02:03:00Z'))).toBe('2h 03m');
    expect(duration(undefined)).toBe('—');
  });
});
