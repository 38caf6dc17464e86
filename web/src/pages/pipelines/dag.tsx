// Dag draws a pipeline's steps as an SVG graph (layout.ts), each node a
// link that selects the step (?step=NAME), coloured by its state, cached
// steps dashed and marked.
import { useMemo } from 'preact/hooks';

import type { GraphNode, StepView } from './graph';
import { duration } from './graph';
import { layout, NODE_H, NODE_W } from './layout';

export function nodeLabel(id: string, v?: StepView): string {
  if (!v) return id;
  const items = v.runs.length > 1 || v.runs.some((r) => r.item !== undefined && r.item !== null) ? ` ${v.done}/${v.runs.length}` : '';
  const cached = v.cached && v.state !== 'cached' ? ` (${v.cached} cached)` : '';
  return `${v.state}${items}${cached}`;
}

export function Dag(props: { nodes: GraphNode[]; views?: Map<string, StepView>; selected?: string; href: (step: string) => string; now?: number }) {
  const l = useMemo(() => layout(props.nodes), [props.nodes]);
  if (!props.nodes.length) return <p class="muted">This pipeline has no steps.</p>;
  return (
    <figure class="dag" data-testid="dag">
      <div class="dag-scroll" tabIndex={0} role="region" aria-label="Pipeline graph">
        <svg width={l.width} height={l.height} viewBox={`0 0 ${l.width} ${l.height}`} xmlns="http://www.w3.org/2000/svg">
          <defs>
            <marker id="dag-arrow" viewBox="0 0 8 8" refX="8" refY="4" markerWidth="8" markerHeight="8" orient="auto-start-reverse">
              <path d="M0,0 L8,4 L0,8 z" fill="#57606a" />
            </marker>
          </defs>
          <g aria-hidden="true">
            {l.edges.map((e) => <path key={`${e.from}>${e.to}`} d={e.d} class={e.dashed ? 'dag-edge dashed' : 'dag-edge'} marker-end="url(#dag-arrow)" />)}
          </g>
          {l.nodes.map((n, i) => {
            const v = props.views?.get(n.id);
            const state = v?.state ?? 'spec';
            const sub = v ? nodeLabel(n.id, v) : n.finally ? 'finally' : '';
            const time = v?.startedAt ? duration(v.startedAt, v.finishedAt, props.now) : '';
            const line = [sub, time].filter(Boolean).join(' · ');
            // The link's name is its <title>: what the node shows (long text is clipped, not cut) and why.
            const label = `${n.id} ${line}${v?.reason ? ` (${v.reason})` : ''}`.trim();
            return (
              <a key={n.id} href={props.href(n.id)} aria-current={props.selected === n.id ? 'true' : undefined}
                class={`dag-node state-${state.replace(/\s+/g, '-')}${props.selected === n.id ? ' selected' : ''}`} data-step={n.id} data-state={state}>
                <title>{label}</title>
                <rect x={n.x} y={n.y} width={NODE_W} height={NODE_H} rx="6" class={state === 'cached' || (v?.cached ?? 0) > 0 ? 'cached' : ''} />
                <clipPath id={`dag-clip-${i}`}><rect x={n.x + 4} y={n.y} width={NODE_W - 22} height={NODE_H} /></clipPath>
                <g clip-path={`url(#dag-clip-${i})`}>
                  <text x={n.x + 10} y={n.y + 18} class="dag-name">{n.id}</text>
                  <text x={n.x + 10} y={n.y + 35} class="dag-sub">{line}</text>
                </g>
                {(state === 'cached' || (v?.cached ?? 0) > 0) && <circle cx={n.x + NODE_W - 10} cy={n.y + 13} r="4.5" class="dag-mark" />}
              </a>
            );
          })}
        </svg>
      </div>
      <figcaption class="muted">
        {props.nodes.length} steps. Solid arrows: dependencies; dashed: finally steps run after the rest. A dashed box with a dot was answered from the cache.
      </figcaption>
    </figure>
  );
}
