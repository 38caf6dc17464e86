// Param differences and metric series aligned on steps, for 2-10 runs.
export type DiffRow = { key: string; values: (string | undefined)[]; differs: boolean };

export function paramDiff(runs: { params?: Record<string, string> }[]): DiffRow[] {
  const keys = [...new Set(runs.flatMap((r) => Object.keys(r.params ?? {})))].sort();
  return keys.map((key) => {
    const values = runs.map((r) => r.params?.[key]);
    return { key, values, differs: new Set(values).size > 1 };
  });
}

/** align puts each run's (step, value) points on the union of steps; a missing point is null. */
export function align(series: { step: number; value: number }[][]): [number[], ...(number | null)[][]] {
  const steps = [...new Set(series.flatMap((s) => s.map((p) => p.step)))].sort((a, b) => a - b);
  const idx = new Map(steps.map((s, i) => [s, i]));
  const ys = series.map((s) => {
    const y: (number | null)[] = new Array(steps.length).fill(null);
    for (const p of s) y[idx.get(p.step)!] = Number.isFinite(p.value) ? p.value : null;
    return y;
  });
  return [steps, ...ys];
}
