import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../../mocks/chips/clock.js';

describe('ManualClock', () => {
  it('runs timers only when advanced past them, in due order, each seeing its own due time', () => {
    const clock = new ManualClock(1000);
    const fired: [string, number][] = [];
    clock.setTimeout(() => fired.push(['b', clock.now()]), 200);
    clock.setTimeout(() => fired.push(['a', clock.now()]), 100);
    clock.setTimeout(() => fired.push(['c', clock.now()]), 200);
    clock.advance(99);
    expect(fired).toEqual([]);
    clock.advance(151);
    expect(fired).toEqual([['a', 1100], ['b', 1200], ['c', 1200]]);
    expect(clock.now()).toBe(1250);
    expect(clock.pending).toBe(0);
  });

  it('runs a timer that a timer sets, when it falls due within the same advance', () => {
    const clock = new ManualClock(0);
    const fired: number[] = [];
    clock.setTimeout(() => clock.setTimeout(() => fired.push(clock.now()), 50), 50);
    clock.advance(100);
    expect(fired).toEqual([100]);
  });

  it('clearTimeout cancels a pending timer', () => {
    const clock = new ManualClock(0);
    let fired = false;
    const handle = clock.setTimeout(() => (fired = true), 10);
    clock.clearTimeout(handle);
    clock.advance(20);
    expect(fired).toBe(false);
    expect(clock.pending).toBe(0);
  });

  it('sleep advances the clock at once, running what falls due meanwhile', async () => {
    const clock = new ManualClock(0);
    const fired: number[] = [];
    clock.setTimeout(() => fired.push(clock.now()), 5);
    await clock.sleep(8);
    expect(clock.now()).toBe(8);
    expect(fired).toEqual([5]);
    await clock.sleep(-3);
    expect(clock.now()).toBe(8);
  });
});
