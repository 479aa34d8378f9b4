import { describe, expect, it } from 'vitest';
import { eventYielder, yieldToEvents } from './yield.js';

describe('yieldToEvents', () => {
  it('lets the events queued before it run first', async () => {
    const seen: string[] = [];
    setImmediate(() => seen.push('queued event'));
    await yieldToEvents();
    seen.push('after the yield');
    expect(seen).toEqual(['queued event', 'after the yield']);
  });

  it('costs far less than a 1 ms timeout: a thousand yields', async () => {
    // setTimeout(0) waits at least 1 ms in Node, so a thousand of them take a second or more; a thousand yields
    // through setImmediate do not. (A bound, not a timing target: it fails only if the yield is a timer again.)
    const start = performance.now();
    for (let i = 0; i < 1000; i++) await yieldToEvents();
    expect(performance.now() - start).toBeLessThan(900);
  });
});

describe('eventYielder', () => {
  it('yields only once its interval has passed', async () => {
    let ran = false;
    const maybeYield = eventYielder(60_000);
    setImmediate(() => {
      ran = true;
    });
    await maybeYield();
    // Within the interval: no yield, so the queued event has not run.
    expect(ran).toBe(false);
    const always = eventYielder(0);
    await always();
    expect(ran).toBe(true);
    expect(() => eventYielder(-1)).toThrow(/at least 0/);
    expect(() => eventYielder(Number.NaN)).toThrow(/at least 0/);
  });
});
