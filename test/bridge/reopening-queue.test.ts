import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { BridgeQueue, BridgeQueueStats } from '../../src/bridge/bridge.js';
import { QueueBrokenError, QueueUnavailableError } from '../../src/bridge/queue/errors.js';
import { ReopeningQueue } from '../../src/bridge/reopening-queue.js';
import { createLogger } from '../../src/util/logger.js';

/** A queue whose appends fail (and break it, as a failed write breaks the disk queue) while `disk.full` is set. */
function fakeQueue(disk: { full: boolean; opened: number }): BridgeQueue {
  let broken: string | undefined;
  let seq = 0;
  const stats = (): BridgeQueueStats => ({ depth: 0, bytes: 0, oldestAgeMs: undefined, appended: seq, acknowledged: 0, dropped: 0, writeFailure: broken });
  disk.opened += 1;
  return {
    append: async () => {
      if (broken) throw new QueueBrokenError('an earlier write failed');
      if (disk.full) {
        broken = 'ENOSPC: no space left on device';
        throw new Error(broken);
      }
      return ++seq;
    },
    next: async () => [],
    claimNext: () => false,
    claim: () => false,
    acknowledgedThrough: 0,
    ack: () => undefined,
    rewind: () => undefined,
    stats,
    close: async () => undefined,
  };
}

function logLines(): { logger: ReturnType<typeof createLogger>; lines: () => { level: number; msg: string }[] } {
  let text = '';
  const stream = new Writable({ write: (chunk: Buffer, _e, done) => ((text += chunk.toString()), done()) });
  return { logger: createLogger({ level: 'debug' }, stream), lines: () => text.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as { level: number; msg: string }) };
}

const message = { topic: 't', payload: Buffer.from('x'), qos: 1 as const, retain: false, enqueuedAt: 0 };
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('ReopeningQueue', () => {
  it('on a full disk reopens at once, then at the backoff pace, refusing appends meanwhile; logs the episode once', async () => {
    const disk = { full: false, opened: 0 };
    const log = logLines();
    const queue = await ReopeningQueue.open({ open: async () => fakeQueue(disk), logger: log.logger, retry: [0.2, 0.2] });
    expect(await queue.append(message)).toBe(1);

    disk.full = true;
    await expect(queue.append(message)).rejects.toThrow(/ENOSPC/);
    await sleep(20);
    expect(disk.opened).toBe(2); // the first reopen does not wait
    expect(queue.outage).toBeUndefined();
    await expect(queue.append(message)).rejects.toThrow(/ENOSPC/); // still full: breaks again
    // The second reopen of the episode waits its turn: appends are refused without touching the disk.
    await expect(queue.append(message)).rejects.toBeInstanceOf(QueueUnavailableError);
    expect(queue.outage?.reason).toMatch(/ENOSPC/);
    expect(queue.stats().writeFailure).toMatch(/ENOSPC/);
    await sleep(20);
    expect(disk.opened).toBe(2);

    disk.full = false;
    await sleep(300);
    expect(disk.opened).toBe(3);
    expect(await queue.append(message)).toBe(1);
    expect(queue.outage).toBeUndefined();
    const logged = log.lines().filter((l) => l.level >= 30).map((l) => l.msg);
    expect(logged).toEqual(['bridge queue cannot write: reopening it; messages for the cloud are lost until it can', 'bridge queue writes again']);
    await queue.close();
  });

  it('keeps retrying an open that fails, and close() ends the retries', async () => {
    const disk = { full: true, opened: 0 };
    let failOpen = false;
    const log = logLines();
    const queue = await ReopeningQueue.open({
      open: async () => {
        if (failOpen) throw new Error('EIO: i/o error');
        return fakeQueue(disk);
      },
      logger: log.logger,
      retry: [0.05, 0.05],
    });
    failOpen = true;
    await expect(queue.append(message)).rejects.toThrow(/ENOSPC/);
    await sleep(200);
    expect(queue.outage?.reason).toBe('EIO: i/o error');
    await queue.close();
    await expect(queue.append(message)).rejects.toBeInstanceOf(QueueUnavailableError);
  });
});
