// lazy makes a page load its code on first visit, keeping the initial
// bundle to the shell and the pages most visits open.
import type { ComponentType } from 'preact';
import { useEffect, useState } from 'preact/hooks';

import { ErrorBox, Loading } from './ui';

export function lazy<P extends object>(load: () => Promise<ComponentType<P>>): ComponentType<P> {
  let loaded: ComponentType<P> | undefined;
  let pending: Promise<ComponentType<P>> | undefined;
  return function Lazy(props: P) {
    const [C, setC] = useState<ComponentType<P> | undefined>(() => loaded);
    const [err, setErr] = useState('');
    useEffect(() => {
      if (C) return;
      pending ??= load().then((c) => (loaded = c));
      pending.then((c) => setC(() => c), (e: Error) => { pending = undefined; setErr(`This page failed to load: ${e.message}`); });
    }, []);
    if (err) return <ErrorBox error={err} />;
    return C ? <C {...props} /> : <Loading when />;
  };
}
