// useData is the one way a page fetches: loading, the API error's detail,
// and a reload; a poll interval keeps live pages live (0 stops it; a
// change of interval fetches again and polls at the new one).
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';

export type Data<T> = { data?: T; error?: string; status?: number; loading: boolean; reload: () => void };

export function useData<T>(load: (signal: AbortSignal) => Promise<T>, deps: unknown[], pollMs = 0): Data<T> {
  const [state, setState] = useState<{ data?: T; error?: string; status?: number; loading: boolean }>({ loading: true });
  const [tick, setTick] = useState(0);
  const reload = useCallback(() => setTick((t) => t + 1), []);
  const first = useRef(true);
  useEffect(() => {
    const ac = new AbortController();
    if (first.current) setState((s) => ({ ...s, loading: true }));
    load(ac.signal).then(
      (data) => { first.current = false; setState({ data, loading: false }); },
      (e: { name?: string; message?: string; status?: number }) => {
        if (e?.name === 'AbortError') return;
        setState((s) => ({ ...s, error: e?.message ?? String(e), status: e?.status, loading: false }));
      },
    );
    let t: ReturnType<typeof setTimeout> | undefined;
    if (pollMs > 0) t = setTimeout(reload, pollMs);
    return () => { ac.abort(); if (t) clearTimeout(t); };
  }, [...deps, tick, pollMs]);
  return { ...state, reload };
}
