/**
 * Handing the thread back to the event loop between training steps, so that a Ctrl-C, a worker's message or a page's
 * click is seen, at the least cost: `setImmediate` where there is one (Node), else a `MessageChannel` message (browsers
 * and Web Workers). Not `setTimeout(0)`: Node waits at least 1 ms for it and browsers at least 4 ms once timeouts nest,
 * which is the whole step of a small model. {@link eventYielder} yields at most every so many milliseconds.
 */

/** How long the training loops keep the thread between two yields, at most (milliseconds). */
export const YIELD_EVERY_MS = 20;

/** The cheapest way this runtime has to run a callback after the events already queued. */
const schedule: (callback: () => void) => void = (() => {
  const immediate = (globalThis as { setImmediate?: (callback: () => void) => unknown }).setImmediate;
  if (typeof immediate === 'function') return (callback) => void immediate(callback);
  if (typeof MessageChannel === 'function') {
    const channel = new MessageChannel();
    const waiting: (() => void)[] = [];
    channel.port1.onmessage = () => waiting.shift()?.();
    return (callback) => {
      waiting.push(callback);
      channel.port2.postMessage(null);
    };
  }
  return (callback) => void setTimeout(callback, 0);
})();

/**
 * A promise that resolves once the events already queued (signals, I/O, messages, clicks) have had their turn.
 * The training loops await it between steps; it changes no number they compute.
 * @example
 * ```ts
 * for (let step = 0; step < steps && !stopped; step++) {
 *   trainStep();
 *   await yieldToEvents(); // a Ctrl-C handler or a "pause" message can set `stopped` here
 * }
 * ```
 */
export function yieldToEvents(): Promise<void> {
  return new Promise<void>((resolve) => schedule(resolve));
}

/**
 * {@link yieldToEvents} at most every `everyMs` milliseconds: for a loop whose steps can be far shorter than that (a
 * small model's step takes well under a millisecond), so that handing the thread back does not cost more than the
 * steps. Each call returns at once until `everyMs` have passed since the last yield.
 * @param everyMs - the longest the thread is kept between two yields (milliseconds, at least 0)
 * @example
 * ```ts
 * const maybeYield = eventYielder(20);
 * while (!stopped) {
 *   trainStep();
 *   await maybeYield();
 * }
 * ```
 */
export function eventYielder(everyMs: number): () => Promise<void> {
  if (!(everyMs >= 0)) throw new RangeError(`eventYielder: everyMs must be at least 0, got ${everyMs}`);
  let last = performance.now();
  return async () => {
    if (performance.now() - last < everyMs) return;
    await yieldToEvents();
    last = performance.now();
  };
}
