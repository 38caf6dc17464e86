import { cleanup, render, screen, waitFor } from '@testing-library/preact';
import { afterEach, describe, expect, it } from 'vitest';

import { useData } from './data';

afterEach(cleanup);

/** Polled shows what useData last loaded; each load takes slowMs and answers its number (calls counts starts and aborts of loads in flight). */
function Polled(props: { slowMs: number; pollMs: number; calls: { started: number; aborted: number } }) {
  const d = useData((signal) => new Promise<number>((resolve, reject) => {
    const n = ++props.calls.started;
    let settled = false;
    const t = setTimeout(() => { settled = true; resolve(n); }, props.slowMs);
    signal.addEventListener('abort', () => {
      if (settled) return;
      clearTimeout(t);
      props.calls.aborted++;
      reject(Object.assign(new Error('aborted'), { name: 'AbortError' }));
    });
  }), [], props.pollMs);
  return <p data-testid="v">{d.data ?? 'none'}</p>;
}

describe('useData', () => {
  it('a polled answer slower than the interval still arrives, and the next poll follows it', async () => {
    // Each answer takes 20 intervals: polls timed from the start aborted every one of them.
    const calls = { started: 0, aborted: 0 };
    render(<Polled slowMs={200} pollMs={10} calls={calls} />);
    await waitFor(() => expect(screen.getByTestId('v').textContent).toBe('1'), { timeout: 1000 });
    await waitFor(() => expect(screen.getByTestId('v').textContent).toBe('2'), { timeout: 1000 });
    expect(calls.aborted).toBe(0);
  });

  it('polls again after an answer, and stops when unmounted', async () => {
    const calls = { started: 0, aborted: 0 };
    const { unmount } = render(<Polled slowMs={1} pollMs={10} calls={calls} />);
    await waitFor(() => expect(Number(screen.getByTestId('v').textContent)).toBeGreaterThanOrEqual(3), { timeout: 1000 });
    unmount();
    const n = calls.started;
    await new Promise((r) => setTimeout(r, 60));
    expect(calls.started).toBe(n);
  });
});
