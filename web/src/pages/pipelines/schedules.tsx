// Schedules lists a tenant's (or one pipeline's) cron schedules with pause,
// resume and delete; with a pipeline it also makes one.
import { useState } from 'preact/hooks';

import { ErrorBox, Field, Loading, Table, Time } from '../../components/ui';
import { tenantPath } from '../../router';
import { createSchedule, deleteSchedule, pauseSchedule, resumeSchedule, useSchedules } from './data';
import { runLink } from './runs';

function NewSchedule(props: { tenant: string; pipeline: string; done: () => void }) {
  const [f, setF] = useState({ name: '', cron: '0 3 * * *', timezone: 'UTC', policy: 'Forbid' });
  const [err, setErr] = useState('');
  const set = (k: keyof typeof f) => (e: Event) => setF({ ...f, [k]: (e.target as HTMLInputElement).value });
  const submit = async (e: Event) => {
    e.preventDefault();
    setErr('');
    try { await createSchedule(props.tenant, { ...f, pipeline: props.pipeline }); setF({ ...f, name: '' }); props.done(); } catch (x) { setErr((x as Error).message); }
  };
  return (
    <form class="inline" onSubmit={submit} aria-label="Schedule this pipeline">
      <Field label="Schedule name" id="sched-name"><input id="sched-name" required maxLength={52} value={f.name} onInput={set('name')} /></Field>
      <Field label="Cron (or @daily, @every 10m)" id="sched-cron"><input id="sched-cron" required value={f.cron} onInput={set('cron')} /></Field>
      <Field label="Time zone" id="sched-tz"><input id="sched-tz" size={14} value={f.timezone} onInput={set('timezone')} /></Field>
      <Field label="While a run is active" id="sched-policy">
        <select id="sched-policy" value={f.policy} onChange={set('policy')}>
          <option value="Forbid">skip the tick</option><option value="Allow">start another</option><option value="Replace">cancel it first</option>
        </select>
      </Field>
      <button type="submit">Add schedule</button>
      <ErrorBox error={err} />
    </form>
  );
}

export function Schedules(props: { tenant: string; pipeline?: string }) {
  const t = props.tenant;
  const d = useSchedules(t);
  const [err, setErr] = useState('');
  const act = async (fn: () => Promise<unknown>) => {
    setErr('');
    try { await fn(); d.reload(); } catch (x) { setErr((x as Error).message); }
  };
  const items = (d.data?.items ?? []).filter((s) => !props.pipeline || s.pipeline === props.pipeline);
  return (
    <>
      <ErrorBox error={d.error ?? err} status={d.status} />
      <Loading when={d.loading} />
      {d.data && (
        <Table label="Schedules" head={['Name', 'Pipeline', 'Cron', 'Next', 'Last run', 'While active', 'State', '']}
          empty={props.pipeline ? 'Not scheduled.' : 'No schedules: ferry schedule create'}
          rows={items.map((s) => [
            s.name, <><a href={tenantPath(t, 'pipelines', s.pipeline)}>{s.pipeline}</a>{s.version ? ` v${s.version}` : ''}</>, <><code>{s.cron}</code>{s.timezone !== 'UTC' ? ` ${s.timezone}` : ''}</>,
            s.paused ? '—' : <Time at={s.nextAt} />, s.lastRun ? runLink(t, { id: s.lastRun }) : '—', s.policy, s.paused ? 'paused' : 'active',
            <span class="actions">
              {s.paused
                ? <button type="button" onClick={() => act(() => resumeSchedule(t, s.name))} aria-label={`Resume ${s.name}`}>Resume</button>
                : <button type="button" onClick={() => act(() => pauseSchedule(t, s.name))} aria-label={`Pause ${s.name}`}>Pause</button>}{' '}
              <button type="button" onClick={() => confirm(`Delete schedule ${s.name}?`) && act(() => deleteSchedule(t, s.name))} aria-label={`Delete ${s.name}`}>Delete</button>
            </span>,
          ])} />
      )}
      {props.pipeline && <NewSchedule tenant={t} pipeline={props.pipeline} done={d.reload} />}
    </>
  );
}
