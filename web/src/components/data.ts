// useData is the one way a page fetches: loading, the API error's detail,
// and a reload; a poll interval keeps live pages live (0 stops it; a
// change of interval fetches again and polls at the new one).
//
// The next poll is timed from the end of the last fetch, not its start: on
// a loaded server an answer slower than the interval is shown, not aborted
// by the next poll (which would keep a live page from ever updating). A
// fetch that hangs is given up and tried again after stallMs.
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';

export type Data<T> = { data?: T; error?: string; status?: number; loading: boolean; reload: () => void };

/** stallMs is how long a polled fetch may take before it is aborted and tried again. */
export const stallMs = (pollMs: number) => Math.max(30_000, 5 * pollMs);

export function useData<T>(load: (signal: AbortSignal) => Promise<T>, deps: unknown[], pollMs = 0): Data<T> {
  const [state, setState] = useState<{ data?: T; error?: string; status?: number; loading: boolean }>({ loading: true });
  const [tick, setTick] = useState(0);
  const reload = useCallback(() => setTick((t) => t + 1), []);
  const first = useRef(true);
  useEffect(() => {
    const ac = new AbortController();
    if (first.current) setState((s) => ({ ...s, loading: true }));
    let t: ReturnType<typeof setTimeout> | undefined;
    // A stalled fetch is retried; a settled one schedules the next poll.
    if (pollMs > 0) t = setTimeout(reload, stallMs(pollMs));
    const next = () => {
      if (t) clearTimeout(t);
      t = pollMs > 0 && !ac.signal.aborted ? setTimeout(reload, pollMs) : undefined;
    };
    load(ac.signal).then(
      (data) => { if (ac.signal.aborted) return; first.current = false; setState({ data, loading: false }); next(); },
      (e: { name?: string; message?: string; status?: number }) => {
        if (e?.name === 'AbortError' || ac.signal.aborted) return;
        setState((s) => ({ ...s, error: e?.message ?? String(e), status: e?.status, loading: false }));
        next();
      },
    );
    return () => { ac.abort(); if (t) clearTimeout(t); };
  }, [...deps, tick, pollMs]);
  return { ...state, reload };
}
