// Logs streams a replica's log and follows it while the replica runs.
import { useEffect, useRef, useState } from 'preact/hooks';

import { fill, raw } from '../../api/client';

export function Logs(props: { tenant: string; job: string; replica: number; follow: boolean }) {
  const [text, setText] = useState('');
  const [error, setError] = useState('');
  const [done, setDone] = useState(false);
  const pre = useRef<HTMLPreElement>(null);
  useEffect(() => {
    const ac = new AbortController();
    setText(''); setError(''); setDone(false);
    const url = fill('/api/v1/tenants/{tenant}/jobs/{name}/logs', { tenant: props.tenant, name: props.job }, { replica: props.replica, follow: props.follow });
    (async () => {
      try {
        const r = await raw('GET', url, undefined, ac.signal);
        const reader = r.body!.getReader();
        const dec = new TextDecoder();
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          const chunk = dec.decode(value, { stream: true });
          setText((t) => (t + chunk).slice(-1_000_000));
        }
        setDone(true);
      } catch (e) {
        if ((e as Error).name !== 'AbortError') setError((e as Error).message);
      }
    })();
    return () => ac.abort();
  }, [props.tenant, props.job, props.replica, props.follow]);
  useEffect(() => { if (pre.current) pre.current.scrollTop = pre.current.scrollHeight; }, [text]);
  return (
    <div>
      {error && <div role="alert" class="error">{error}</div>}
      <pre class="log" ref={pre} tabIndex={0} aria-label={`Log of replica ${props.replica}`} aria-live="polite" data-testid="log">{text || (done ? '(empty log)' : '')}</pre>
      <p class="muted">{done ? 'End of log.' : props.follow ? 'Following…' : ''}</p>
    </div>
  );
}
