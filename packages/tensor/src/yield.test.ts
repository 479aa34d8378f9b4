import { describe, expect, it, vi } from 'vitest';
import { eventYielder, yieldToEvents } from './yield.js';

describe('yieldToEvents', () => {
  it('lets the events queued before it run first', async () => {
    const seen: string[] = [];
    setImmediate(() => seen.push('queued event'));
    await yieldToEvents();
    seen.push('after the yield');
    expect(seen).toEqual(['queued event', 'after the yield']);
  });

  it('waits on no timer (Node holds a setTimeout(0) for 1 ms, browsers for 4 ms once nested)', async () => {
    // With setTimeout faked and never advanced, a yield through a timeout would never resolve (the test would time out).
    vi.useFakeTimers({ toFake: ['setTimeout'] });
    try {
      for (let i = 0; i < 100; i++) await yieldToEvents();
    } finally {
      vi.useRealTimers();
    }
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
