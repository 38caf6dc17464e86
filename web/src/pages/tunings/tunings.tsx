import type { S } from '../../api/client';
import { ErrorBox, Loading, Page, State, Table, Time } from '../../components/ui';
import type { PageProps } from '../../router';
import { tenantPath } from '../../router';
import { useTunings } from './data';

export const fmt = (v?: number | null) => (v === undefined || v === null ? '—' : Number(v.toPrecision(6)).toString());
export const progress = (x: Pick<S['Tuning'], 'trials' | 'spec'>) =>
  `${x.trials.succeeded + x.trials.failed + x.trials.pruned + x.trials.cancelled}/${x.spec.maxTrials ?? '?'} done, ${x.trials.running} running`;

export function Tunings({ params }: PageProps) {
  const t = params.tenant;
  const d = useTunings(t);
  return (
    <Page title="Tuning">
      <ErrorBox error={d.error} status={d.status} />
      <Loading when={d.loading} />
      {d.data && (
        <Table label="Tunings" head={['Name', 'State', 'Objective', 'Algorithm', 'Trials', 'Best', 'Created', 'By']}
          empty="No tunings yet: ferry tune create -f tuning.yaml"
          rows={d.data.items.map((x) => [
            <a href={tenantPath(t, 'tunings', x.name)}>{x.name}</a>, <State state={x.state} />,
            `${x.spec.objective.direction} ${x.spec.objective.metric}`, x.spec.algorithm ?? 'tpe', progress(x),
            x.best ? `${fmt(x.best.value)} (trial ${x.best.number})` : '—', <Time at={x.createdAt} />, x.createdBy,
          ])} />
      )}
    </Page>
  );
}
