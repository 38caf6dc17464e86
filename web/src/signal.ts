// signal is a minimal observable value with a Preact hook.
import { useEffect, useState } from 'preact/hooks';

export type Signal<T> = { get(): T; set(v: T): void; subscribe(fn: (v: T) => void): () => void };

export function signal<T>(v: T): Signal<T> {
  const subs = new Set<(v: T) => void>();
  return {
    get: () => v,
    set(n: T) { if (n === v) return; v = n; subs.forEach((f) => f(v)); },
    subscribe(fn) { subs.add(fn); return () => subs.delete(fn); },
  };
}

export function useSignal<T>(s: Signal<T>): T {
  const [v, setV] = useState(s.get());
  useEffect(() => { setV(s.get()); return s.subscribe(setV); }, [s]);
  return v;
}
