// Chart is the comparison's metric over steps, one series per run.
import { Chart as Plot } from '../../components/chart';

export function Chart(props: { title: string; labels: string[]; data: [number[], ...(number | null)[][]] }) {
  return <Plot {...props} testid="metric-chart" describe={`${props.title} over steps for ${props.labels.length} runs`} />;
}
