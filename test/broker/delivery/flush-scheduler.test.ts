import { stat } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { FlushScheduler } from '../../../src/broker/delivery/flush-scheduler.js';

/**
 * A read in an I/O callback (poll phase), then aedes' routing of the message from a setImmediate queued while reading
 * it; the routing queues a marker for the next turn, then marks a window dirty. Resolves with the order of events.
 */
function readThenRoute(primeWhileReading: boolean): Promise<string[]> {
  const order: string[] = [];
  const scheduler = new FlushScheduler();
  const window = { flush: () => order.push('flush') };
  return new Promise((resolve) => {
    stat('.', () => {
      setImmediate(() => {
        order.push('routed');
        setImmediate(() => {
          order.push('next turn');
          // Both have had their chance by the turn after.
          setImmediate(() => resolve(order));
        });
        scheduler.markDirty(window);
      });
      if (primeWhileReading) scheduler.expectDeliveries();
    });
  });
}

describe('FlushScheduler', () => {
  it('flushes in the same loop turn when deliveries were expected while reading', async () => {
    expect(await readThenRoute(true)).toEqual(['routed', 'flush', 'next turn']);
  });

  it('otherwise flushes on the next turn', async () => {
    expect(await readThenRoute(false)).toEqual(['routed', 'next turn', 'flush']);
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
});
