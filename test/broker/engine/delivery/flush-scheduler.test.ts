import { stat } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { FlushScheduler } from '../../../../src/broker/engine/delivery/flush-scheduler.js';

describe('FlushScheduler', () => {
  it('flushes a window marked while a read is handled in the same loop turn, before the next turn\'s timers', async () => {
    const order: string[] = [];
    const scheduler = new FlushScheduler();
    const window = { flush: () => order.push('flush') };
    await new Promise<void>((resolve) => {
      // An I/O callback (poll phase), routing in its microtasks as MessageFlow and aedes' publish pipeline do.
      stat('.', () => {
        setTimeout(() => {
          order.push('next turn');
          resolve();
        }, 0);
        void Promise.resolve().then(() => scheduler.markDirty(window));
      });
    });
    expect(order).toEqual(['flush', 'next turn']);
  });

  it('flushes each dirty window once per turn', async () => {
    const scheduler = new FlushScheduler();
    const flushed: string[] = [];
    const a = { flush: () => flushed.push('a') };
    const b = { flush: () => flushed.push('b') };
    scheduler.markDirty(a);
    scheduler.markDirty(b);
    scheduler.markDirty(a);
    await new Promise((resolve) => setImmediate(resolve));
    expect(flushed).toEqual(['a', 'b']);
  });

  it('schedules no flush while held, and one when the last hold is released', async () => {
    const scheduler = new FlushScheduler();
    const flushed: string[] = [];
    const turn = () => new Promise((resolve) => setImmediate(resolve));
    scheduler.hold();
    scheduler.hold();
    scheduler.markDirty({ flush: () => flushed.push('a') });
    await turn();
    scheduler.release();
    await turn();
    expect(flushed).toEqual([]);
    scheduler.release();
    await turn();
    expect(flushed).toEqual(['a']);

    // Released with nothing marked: nothing scheduled, and marking afterwards schedules as usual.
    scheduler.hold();
    scheduler.release();
    scheduler.markDirty({ flush: () => flushed.push('b') });
    await turn();
    expect(flushed).toEqual(['a', 'b']);
  });

  it('flushes in the call that ends a read\'s hold, after any inner hold, and only when something is queued', async () => {
    const scheduler = new FlushScheduler();
    const flushed: string[] = [];
    scheduler.hold(); // the read
    scheduler.hold(); // the router, inside it
    scheduler.markDirty({ flush: () => flushed.push('a') });
    scheduler.release();
    expect(flushed).toEqual([]);
    scheduler.releaseNow();
    expect(flushed).toEqual(['a']);
    // Nothing left for the next turn.
    await new Promise((resolve) => setImmediate(resolve));
    expect(flushed).toEqual(['a']);

    // A flush already scheduled before the read: the read's end runs it, the scheduled run finds nothing.
    scheduler.markDirty({ flush: () => flushed.push('b') });
    scheduler.hold();
    scheduler.markDirty({ flush: () => flushed.push('c') });
    scheduler.releaseNow();
    expect(flushed).toEqual(['a', 'b', 'c']);
    await new Promise((resolve) => setImmediate(resolve));
    expect(flushed).toEqual(['a', 'b', 'c']);

    // A read that queued nothing flushes nothing.
    scheduler.hold();
    scheduler.releaseNow();
    expect(flushed).toEqual(['a', 'b', 'c']);
  });
});
