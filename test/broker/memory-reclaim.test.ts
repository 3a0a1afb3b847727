import { describe, expect, it, vi } from 'vitest';
import { MemoryReclaimer } from '../../src/broker/memory-reclaim.js';
import { silentLogger } from '../../src/util/logger.js';

const MiB = 1024 * 1024;

describe('MemoryReclaimer', () => {
  function setup() {
    let rss = 100 * MiB;
    let now = 0;
    let freed = 0;
    const collect = vi.fn(() => (rss -= freed));
    const reclaimer = new MemoryReclaimer({ intervalMs: 5_000, growthBytes: 16 * MiB, collect, rss: () => rss, now: () => now }, silentLogger());
    reclaimer.start();
    reclaimer.stop();
    return {
      reclaimer,
      collect,
      set: (value: number, garbage = 0) => ((rss = value), (freed = garbage)),
      advance: (ms: number) => (now += ms),
    };
  }

  it('collects once RSS is the growth above its floor, and not before', () => {
    const m = setup();
    m.set(110 * MiB);
    m.reclaimer.check();
    expect(m.collect).not.toHaveBeenCalled();
    m.set(150 * MiB, 48 * MiB);
    m.reclaimer.check();
    expect(m.collect).toHaveBeenCalledOnce();
  });

  it('backs off while collections do not bring RSS down (memory in real use), and comes back when they do', () => {
    const m = setup();
    m.set(150 * MiB, 0);
    const calls: number[] = [];
    for (let t = 0; t <= 35_000; t += 5_000) {
      if (t === 35_000) m.set(150 * MiB, 50 * MiB);
      m.reclaimer.check();
      calls.push(m.collect.mock.calls.length);
      m.advance(5_000);
    }
    // Collected at 0 s and 5 s, then 10 s and 20 s apart (each time nothing came back), then it did.
    expect(calls).toEqual([1, 2, 2, 3, 3, 3, 3, 4]);
    // Given back: the next look may collect again.
    m.set(150 * MiB, 50 * MiB);
    m.reclaimer.check();
    expect(m.collect).toHaveBeenCalledTimes(5);
  });

  it('may collect at the next look after a limit bit, whatever the backoff', () => {
    const m = setup();
    m.set(150 * MiB, 0);
    m.reclaimer.check();
    m.advance(5_000);
    m.reclaimer.check();
    m.reclaimer.check();
    expect(m.collect).toHaveBeenCalledTimes(2);
    m.reclaimer.nudge();
    m.reclaimer.check();
    expect(m.collect).toHaveBeenCalledTimes(3);
  });
});
