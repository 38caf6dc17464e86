// Traffic shows how a deployment's requests split across its revisions.
import type { S } from '../../api/client';
import { live } from './data';

export function Traffic(props: { deployment: Pick<S['Deployment'], 'revisions'> }) {
  const revs = live(props.deployment);
  const total = revs.reduce((a, r) => a + r.weight, 0);
  const text = revs.map((r) => `${r.role} ${r.name} (${r.model} v${r.version}) ${r.weight}%`).join(', ');
  return (
    <div class="traffic" data-testid="traffic" role="img" aria-label={`Traffic split: ${text || 'no revisions'}`}>
      <div class="traffic-bar">
        {revs.filter((r) => r.weight > 0).map((r) => (
          <span key={r.name} class={`traffic-${r.role}`} style={{ width: `${(r.weight / (total || 1)) * 100}%` }} data-weight={r.weight} data-role={r.role}>
            {r.role} {r.weight}%
          </span>
        ))}
      </div>
      <p class="muted">{text}</p>
    </div>
  );
}
