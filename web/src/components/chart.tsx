// Chart draws series over a shared x axis with uPlot, loaded on demand so
// the initial bundle stays small (run comparison, serving measurements,
// tuning objectives).
import { useEffect, useRef } from 'preact/hooks';

import 'uplot/dist/uPlot.min.css';

const colors = ['#0b57d0', '#c5221f', '#188038', '#e37400', '#9334e6', '#007b83', '#b0006d', '#5f6368', '#795548', '#1a237e'];

export type ChartProps = {
  title: string; labels: string[]; data: [number[], ...(number | null)[][]];
  x?: string; time?: boolean; testid?: string; describe?: string;
  /** points draws a series as dots only (all series, or per series). */
  points?: boolean | boolean[];
};

export function Chart(props: ChartProps) {
  const el = useRef<HTMLDivElement>(null);
  const x = props.x ?? 'step';
  useEffect(() => {
    let plot: { destroy(): void } | undefined;
    let gone = false;
    import('uplot').then(({ default: UPlot }) => {
      if (gone || !el.current) return;
      const width = Math.min(900, Math.max(300, el.current.clientWidth || 800));
      plot = new UPlot({
        title: props.title, width, height: 320,
        scales: { x: { time: !!props.time } },
        axes: [{ label: x }, { label: props.title }],
        series: [{ label: x }, ...props.labels.map((l, i) => {
          const dots = Array.isArray(props.points) ? props.points[i] : props.points;
          return {
            label: l, stroke: colors[i % colors.length], width: 2, spanGaps: true, paths: dots ? () => null : undefined,
            points: dots ? { show: true, size: 7, fill: colors[i % colors.length] } : undefined,
          };
        })],
      }, props.data as never, el.current);
      el.current.dataset.series = String(props.labels.length);
    });
    return () => { gone = true; plot?.destroy(); };
  }, [props.title, props.labels.join('|'), JSON.stringify(props.data)]);
  return <div class="chart" ref={el} role="img" aria-label={props.describe ?? `${props.title} over ${x} for ${props.labels.length} series`} data-testid={props.testid} />;
}
