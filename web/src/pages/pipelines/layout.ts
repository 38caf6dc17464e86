// A small layered (Sugiyama-style) layout for pipeline DAGs, left to right:
// each step's layer is its longest path from a source; edges that span
// layers pass through placeholder slots; a few barycenter sweeps order each
// layer to cut crossings. Pipelines have at most 200 steps (api/v1), so
// this is enough, and it costs ~2 KB instead of a layout library (dagre
// with graphlib ~30 KB gzipped, elkjs ~400 KB).
import type { GraphNode } from './graph';

export type Box = { id: string; x: number; y: number; layer: number; finally: boolean };
export type Edge = { from: string; to: string; d: string; dashed: boolean };
export type Layout = { nodes: Box[]; edges: Edge[]; width: number; height: number };

export const NODE_W = 168;
export const NODE_H = 44;
const GAP_X = 56;
const GAP_Y = 18;
const PAD = 8;

type Slot = { id: string; dummy: boolean };
type Link = { from: string; to: string; dashed: boolean };

/** layers gives each step its longest distance from a source (cycles, which the server refuses, are cut). */
function layers(nodes: GraphNode[], links: Link[]): Map<string, number> {
  const preds = new Map<string, string[]>(nodes.map((n) => [n.id, []]));
  for (const l of links) preds.get(l.to)!.push(l.from);
  const out = new Map<string, number>();
  const visiting = new Set<string>();
  const depth = (id: string): number => {
    const known = out.get(id);
    if (known !== undefined) return known;
    if (visiting.has(id)) return 0;
    visiting.add(id);
    const d = Math.max(-1, ...preds.get(id)!.map(depth)) + 1;
    visiting.delete(id);
    out.set(id, d);
    return d;
  };
  nodes.forEach((n) => depth(n.id));
  return out;
}

/** links are the drawn edges: dependencies, and dashed ones into finally steps from the last ordinary steps. */
function linksOf(nodes: GraphNode[]): Link[] {
  const ids = new Set(nodes.map((n) => n.id));
  const out: Link[] = [];
  for (const n of nodes) for (const d of n.deps) if (ids.has(d) && d !== n.id) out.push({ from: d, to: n.id, dashed: false });
  const ordinary = nodes.filter((n) => !n.finally);
  const used = new Set(out.filter((l) => ordinary.some((n) => n.id === l.to)).map((l) => l.from));
  const sinks = ordinary.filter((n) => !used.has(n.id));
  for (const f of nodes.filter((n) => n.finally && !n.deps.some((d) => ids.has(d)))) {
    for (const s of sinks) out.push({ from: s.id, to: f.id, dashed: true });
  }
  return out;
}

export function layout(nodes: GraphNode[]): Layout {
  const links = linksOf(nodes);
  const layer = layers(nodes, links);
  const lastOrdinary = Math.max(-1, ...nodes.filter((n) => !n.finally).map((n) => layer.get(n.id)!));
  for (const n of nodes) if (n.finally) layer.set(n.id, Math.max(layer.get(n.id)!, lastOrdinary + 1));
  const count = Math.max(0, ...layer.values()) + 1;
  const cols: Slot[][] = Array.from({ length: nodes.length ? count : 0 }, () => []);
  for (const n of nodes) cols[layer.get(n.id)!].push({ id: n.id, dummy: false });

  // Split long edges into unit steps through placeholder slots.
  const succ = new Map<string, string[]>();
  const pred = new Map<string, string[]>();
  const chains: { link: Link; path: string[] }[] = [];
  const join = (a: string, b: string) => {
    (succ.get(a) ?? succ.set(a, []).get(a)!).push(b);
    (pred.get(b) ?? pred.set(b, []).get(b)!).push(a);
  };
  let k = 0;
  for (const l of links) {
    const path = [l.from];
    for (let i = layer.get(l.from)! + 1; i < layer.get(l.to)!; i++) {
      const id = `\u0000${k++}`;
      cols[i].push({ id, dummy: true });
      path.push(id);
    }
    path.push(l.to);
    for (let i = 1; i < path.length; i++) join(path[i - 1], path[i]);
    chains.push({ link: l, path });
  }

  // Barycenter sweeps, down then up.
  const pos = new Map<string, number>();
  const index = () => cols.forEach((c) => c.forEach((s, i) => pos.set(s.id, i)));
  index();
  const sweep = (c: Slot[], nb: Map<string, string[]>) => {
    const key = (s: Slot) => {
      const ns = nb.get(s.id) ?? [];
      return ns.length ? ns.reduce((a, n) => a + pos.get(n)!, 0) / ns.length : pos.get(s.id)!;
    };
    const keyed = c.map((s) => ({ s, k: key(s) }));
    keyed.sort((a, b) => a.k - b.k);
    c.splice(0, c.length, ...keyed.map((e) => e.s));
    c.forEach((s, i) => pos.set(s.id, i));
  };
  for (let round = 0; round < 4; round++) {
    for (let i = 1; i < cols.length; i++) sweep(cols[i], pred);
    for (let i = cols.length - 2; i >= 0; i--) sweep(cols[i], succ);
  }

  // Coordinates: columns left to right, each centred on the tallest.
  const rows = Math.max(0, ...cols.map((c) => c.length));
  const at = new Map<string, { x: number; y: number }>();
  cols.forEach((c, li) => {
    const off = ((rows - c.length) * (NODE_H + GAP_Y)) / 2;
    c.forEach((s, i) => at.set(s.id, { x: PAD + li * (NODE_W + GAP_X), y: PAD + off + i * (NODE_H + GAP_Y) }));
  });
  const boxes = nodes.map((n) => ({ id: n.id, ...at.get(n.id)!, layer: layer.get(n.id)!, finally: n.finally }));
  const edges = chains.map(({ link, path }) => {
    const pts: [number, number][] = [];
    path.forEach((id, i) => {
      const p = at.get(id)!;
      const cy = p.y + NODE_H / 2;
      if (i === 0) pts.push([p.x + NODE_W, cy]);
      else if (i === path.length - 1) pts.push([p.x, cy]);
      else pts.push([p.x, cy], [p.x + NODE_W, cy]);
    });
    let d = `M${pts[0][0]},${pts[0][1]}`;
    for (let i = 1; i < pts.length; i++) {
      const [x0, y0] = pts[i - 1];
      const [x1, y1] = pts[i];
      if (y0 === y1) { d += ` L${x1},${y1}`; continue; }
      const mx = (x0 + x1) / 2;
      d += ` C${mx},${y0} ${mx},${y1} ${x1},${y1}`;
    }
    return { from: link.from, to: link.to, d, dashed: link.dashed };
  });
  return {
    nodes: boxes, edges,
    width: PAD * 2 + Math.max(0, cols.length * (NODE_W + GAP_X) - GAP_X),
    height: PAD * 2 + Math.max(0, rows * (NODE_H + GAP_Y) - GAP_Y),
  };
}

/** crossings counts pairs of edges between adjacent layers that cross (for tests). */
export function crossings(l: Layout): number {
  const y = new Map(l.nodes.map((n) => [n.id, n]));
  const unit = l.edges.map((e) => ({ a: y.get(e.from)!, b: y.get(e.to)! })).filter((e) => e.b.layer === e.a.layer + 1);
  let c = 0;
  for (let i = 0; i < unit.length; i++) {
    for (let j = i + 1; j < unit.length; j++) {
      const p = unit[i], q = unit[j];
      if (p.a.layer !== q.a.layer) continue;
      if ((p.a.y - q.a.y) * (p.b.y - q.b.y) < 0) c++;
    }
  }
  return c;
}
