// LogStream reads a text log from the API and, with follow, keeps reading
// while the server streams it (a job replica's or a pipeline step's). While
// following, a refusal (the container not started yet) is retried every
// retryMs, each try reading the log from its start.
import { useEffect, useRef, useState } from 'preact/hooks';

import { raw } from '../api/client';

export function LogStream(props: { url: string; label: string; follow: boolean; retryMs?: number }) {
  const [text, setText] = useState('');
  const [error, setError] = useState('');
  const [waiting, setWaiting] = useState('');
  const [done, setDone] = useState(false);
  const pre = useRef<HTMLPreElement>(null);
  useEffect(() => {
    const ac = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    setText(''); setError(''); setWaiting(''); setDone(false);
    const read = async () => {
      try {
        const r = await raw('GET', props.url, undefined, ac.signal);
        setWaiting('');
        setText('');
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
        if ((e as Error).name === 'AbortError') return;
        if (props.follow) {
          setWaiting((e as Error).message);
          timer = setTimeout(read, props.retryMs ?? 2000);
        } else setError((e as Error).message);
      }
    };
    read();
    return () => { ac.abort(); if (timer) clearTimeout(timer); };
  }, [props.url]);
  useEffect(() => { if (pre.current) pre.current.scrollTop = pre.current.scrollHeight; }, [text]);
  return (
    <div>
      {error && <div role="alert" class="error">{error}</div>}
      <pre class="log" ref={pre} tabIndex={0} aria-label={props.label} aria-live="polite" data-testid="log">{text || (done ? '(empty log)' : '')}</pre>
      <p class="muted" data-testid="log-status">
        {error ? '' : done ? 'End of log.' : waiting ? `Waiting for the log (${waiting}); trying again…` : props.follow ? 'Following…' : 'Loading…'}
      </p>
    </div>
  );
}
