import { useState } from 'preact/hooks';

import { ErrorBox, Field, Loading, Page, Table, Time } from '../../components/ui';
import type { PageProps } from '../../router';
import { navigate, tenantPath } from '../../router';
import { createDeployment, live, ms, pct, useDeployments } from './data';

function CreateForm(props: { tenant: string }) {
  const [form, setForm] = useState({ name: '', model: '', min: '1', max: '4' });
  const [err, setErr] = useState('');
  const set = (k: keyof typeof form) => (e: Event) => setForm({ ...form, [k]: (e.target as HTMLInputElement).value });
  const submit = async (e: Event) => {
    e.preventDefault();
    setErr('');
    try {
      const d = await createDeployment(props.tenant, { name: form.name, model: form.model, min: Number(form.min), max: Number(form.max) } as never);
      navigate(tenantPath(props.tenant, 'deployments', d.name));
    } catch (x) { setErr((x as Error).message); }
  };
  return (
    <form class="inline" onSubmit={submit} aria-label="Create a deployment">
      <Field label="Name" id="dep-name"><input id="dep-name" required maxLength={40} value={form.name} onInput={set('name')} /></Field>
      <Field label="Model (NAME/VERSION or NAME@ALIAS)" id="dep-model"><input id="dep-model" required size={24} value={form.model} onInput={set('model')} placeholder="iris@champion" /></Field>
      <Field label="Min replicas" id="dep-min"><input id="dep-min" type="number" min={0} max={64} size={3} value={form.min} onInput={set('min')} /></Field>
      <Field label="Max replicas" id="dep-max"><input id="dep-max" type="number" min={1} max={64} size={3} value={form.max} onInput={set('max')} /></Field>
      <button type="submit" class="primary">Deploy</button>
      <ErrorBox error={err} />
    </form>
  );
}

export function Deployments({ params }: PageProps) {
  const t = params.tenant;
  const d = useDeployments(t);
  return (
    <Page title="Deployments">
      <ErrorBox error={d.error} status={d.status} />
      <Loading when={d.loading} />
      {d.data && (
        <Table label="Deployments" head={['Name', 'Model', 'Traffic', 'Replicas (ready/asked)', 'Requests/s', 'Errors', 'p99', 'Updated']}
          empty="No deployments yet: ferry deploy create NAME --model MODEL@ALIAS"
          rows={d.data.items.map((x) => {
            const revs = live(x);
            const sum = (f: (r: (typeof revs)[number]) => number) => revs.reduce((a, r) => a + f(r), 0);
            const reqs = sum((r) => r.stats.requests);
            return [
              <a href={tenantPath(t, 'deployments', x.name)}>{x.name}</a>, x.spec.model,
              revs.map((r) => `${r.role} v${r.version} ${r.weight}%`).join(' · '),
              `${sum((r) => r.readyReplicas)}/${sum((r) => r.replicas)}`, sum((r) => r.stats.rps).toFixed(1),
              reqs ? pct(sum((r) => r.stats.errors) / reqs) : '—', ms(Math.max(0, ...revs.map((r) => r.stats.p99Ms))), <Time at={x.updatedAt} />,
            ];
          })} />
      )}
      <h2>New deployment</h2>
      <CreateForm tenant={t} />
    </Page>
  );
}
