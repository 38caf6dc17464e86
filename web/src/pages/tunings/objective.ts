// The objective per trial, and the best value so far, for the tuning's plot.
import type { S } from '../../api/client';

export type Objective = { labels: string[]; data: [number[], (number | null)[], (number | null)[]] };

/** objective is uPlot's data: trial number; each trial's value (null without one); the best so far. */
export function objective(trials: Pick<S['Trial'], 'number' | 'value'>[], direction: string): Objective {
  const sorted = [...trials].sort((a, b) => a.number - b.number);
  const better = (a: number, b: number) => (direction === 'maximize' ? a > b : a < b);
  let best: number | null = null;
  const values: (number | null)[] = [];
  const bests: (number | null)[] = [];
  for (const t of sorted) {
    const v = t.value ?? null;
    values.push(v);
    if (v !== null && (best === null || better(v, best))) best = v;
    bests.push(best);
  }
  return { labels: ['trial value', `best so far (${direction})`], data: [sorted.map((t) => t.number), values, bests] };
}

/** paramNames are the search space's parameters, in the spec's order, then any other a trial has. */
export function paramNames(spec: Pick<S['TuningSpec'], 'parameters'>, trials: Pick<S['Trial'], 'params'>[]): string[] {
  const names = (spec.parameters ?? []).map((p) => p.name);
  for (const t of trials) for (const k of Object.keys(t.params ?? {})) if (!names.includes(k)) names.push(k);
  return names;
}
