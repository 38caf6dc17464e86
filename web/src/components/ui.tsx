// Small shared components: page frame, error, tables, state badges, times.
import type { ComponentChildren } from 'preact';

export function Page(props: { title: string; actions?: ComponentChildren; children: ComponentChildren }) {
  return (
    <section aria-labelledby="page-title">
      <header class="page-head">
        <h1 id="page-title">{props.title}</h1>
        {props.actions && <div class="actions">{props.actions}</div>}
      </header>
      {props.children}
    </section>
  );
}

/** ErrorBox shows an API problem's detail. */
export function ErrorBox(props: { error?: string; status?: number }) {
  if (!props.error) return null;
  const login = props.status === 401;
  return (
    <div role="alert" class="error">
      {login ? <>Not logged in or the session expired: run <code>ferry ui</code> for a new login link. ({props.error})</> : props.error}
    </div>
  );
}

export function Loading(props: { when: boolean }) {
  return props.when ? <p aria-live="polite" class="muted">Loading…</p> : null;
}

export function State(props: { state?: string }) {
  const s = props.state ?? 'unknown';
  return <span class={`state state-${s.toLowerCase()}`}>{s}</span>;
}

export function Time(props: { at?: string | number | null }) {
  if (!props.at) return <span class="muted">—</span>;
  const d = new Date(props.at);
  return <time dateTime={d.toISOString()} title={d.toISOString()}>{d.toLocaleString()}</time>;
}

/** ago is a short duration since t ("3m", "2h"). */
export function ago(t?: string | null, now = Date.now()): string {
  if (!t) return '—';
  const s = Math.max(0, Math.round((now - new Date(t).getTime()) / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
  return `${Math.floor(s / 86400)}d`;
}

export function Table(props: { label: string; head: ComponentChildren[]; rows: ComponentChildren[][]; empty?: string }) {
  if (!props.rows.length) return <p class="muted">{props.empty ?? 'Nothing here yet.'}</p>;
  return (
    <div class="table-wrap" tabIndex={0} role="region" aria-label={props.label}>
      <table>
        <thead><tr>{props.head.map((h, i) => <th key={i} scope="col">{h}</th>)}</tr></thead>
        <tbody>{props.rows.map((r, i) => <tr key={i}>{r.map((c, j) => <td key={j}>{c}</td>)}</tr>)}</tbody>
      </table>
    </div>
  );
}

export function Field(props: { label: string; id: string; children: ComponentChildren }) {
  return (
    <div class="field">
      <label for={props.id}>{props.label}</label>
      {props.children}
    </div>
  );
}
