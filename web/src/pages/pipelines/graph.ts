// The DAG of a pipeline: its steps and what each depends on, read from the
// spec as the server reads it (runtime/pipelines/dag.go: dependsOn plus every
// {{steps.STEP.outputs...}} reference in args, env, inputs, when and
// parallelFor), and each step's state folded from its runs (one per item of
// a fan-out).
import type { S } from '../../api/client';

export type GraphNode = { id: string; deps: string[]; finally: boolean };

const stepRef = /\{\{\s*steps\.([^.{}\s]+)\.outputs\.(?:parameters|artifacts)\.[^{}]*?\}\}/g;

/** refsIn lists the upstream steps that text references. */
export function refsIn(text: string | undefined): string[] {
  if (!text) return [];
  return [...text.matchAll(stepRef)].map((m) => m[1]);
}

function stepDeps(s: S['Step']): string[] {
  const texts = [...(s.args ?? []), s.when ?? '', ...Object.values(s.env ?? {}),
    ...Object.values(s.inputs?.parameters ?? {}), ...Object.values(s.inputs?.artifacts ?? {}), s.parallelFor?.items ?? ''];
  return [...new Set([...(s.dependsOn ?? []), ...texts.flatMap(refsIn)])].sort();
}

/** specGraph is the steps of a spec, finally steps last. */
export function specGraph(spec: Pick<S['PipelineSpec'], 'steps' | 'finally'>): GraphNode[] {
  return [
    ...(spec.steps ?? []).map((s) => ({ id: s.name, deps: stepDeps(s), finally: false })),
    ...(spec.finally ?? []).map((s) => ({ id: s.name, deps: stepDeps(s), finally: true })),
  ];
}

/**
 * StepView is one spec step as the run sees it: its item runs folded into
 * one state, and the reason of the run that shows it (why a pod waits, why
 * it failed or was skipped) when there is one.
 */
export type StepView = { state: string; reason?: string; runs: S['StepRun'][]; done: number; cached: number; startedAt?: string; finishedAt?: string };

const rank = ['failed', 'running', 'pending', 'cancelled', 'skipped', 'succeeded', 'cached'];

/**
 * fold reduces a step's runs to one state: any failure shows, then work in
 * flight; all cached is cached; a mix of cached and run items is succeeded.
 * A step with no runs yet is pending (or, once the run is over, not run).
 */
export function fold(runs: S['StepRun'][], runState?: string): StepView {
  const states = runs.map((r) => r.state);
  const ended = ['succeeded', 'failed', 'cancelled'].includes(runState ?? '');
  let state = runs.length ? rank.find((s) => states.includes(s)) ?? states[0] : ended ? 'not run' : 'pending';
  if (state === 'cached' && states.some((s) => s !== 'cached')) state = 'succeeded';
  const starts = runs.map((r) => r.startedAt).filter(Boolean).sort() as string[];
  const ends = runs.map((r) => r.finishedAt).filter(Boolean).sort() as string[];
  const done = runs.filter((r) => ['succeeded', 'cached', 'skipped', 'failed', 'cancelled'].includes(r.state)).length;
  // A cache hit's reason only repeats what the cached mark says.
  const reason = runs.find((r) => r.state === state && r.reason && r.state !== 'cached')?.reason;
  return {
    state, reason, runs, done, cached: states.filter((s) => s === 'cached').length,
    startedAt: starts[0], finishedAt: runs.length && done === runs.length ? ends[ends.length - 1] : undefined,
  };
}

/** stepViews groups a run's step runs by spec step. */
export function stepViews(nodes: GraphNode[], steps: S['StepRun'][] | null | undefined, runState?: string): Map<string, StepView> {
  const by = new Map<string, S['StepRun'][]>();
  for (const s of steps ?? []) by.set(s.step, [...(by.get(s.step) ?? []), s]);
  const out = new Map<string, StepView>();
  for (const n of nodes) out.set(n.id, fold((by.get(n.id) ?? []).sort((a, b) => (a.item ?? -1) - (b.item ?? -1)), runState));
  return out;
}

/** duration is a short "1m 05s" between two times (to now while running). */
export function duration(from?: string, to?: string, now = Date.now()): string {
  if (!from) return '—';
  const s = Math.max(0, Math.round(((to ? new Date(to).getTime() : now) - new Date(from).getTime()) / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}
