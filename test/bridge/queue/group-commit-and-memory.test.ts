import { describe, expect, it } from 'vitest';
import { DiskQueue } from '../../../src/bridge/queue/disk-queue.js';
import { idOf, message, options } from './helpers.js';
import { PowerCutFiles, seededRandom } from './power-cut-files.js';

describe('DiskQueue group commit', () => {
  it('shares one fdatasync among appends made together', async () => {
    const files = new PowerCutFiles({ random: seededRandom(1) });
    const queue = await DiskQueue.open(options({ files, segmentBytes: 1 << 20 }));
    const before = files.datasyncs;
    const seqs = await Promise.all(Array.from({ length: 200 }, (_, id) => queue.append(message(id, 100))));
    const syncs = files.datasyncs - before;
    expect(new Set(seqs).size).toBe(200);
    expect(syncs).toBe(1); // 200 appends in one tick: one batch
    await queue.close();
  });

  it('batches a stream of appends arriving while a sync is in progress', async () => {
    // A sync that takes 2 ms, as on an SD card; appends arriving one per macrotask pile up behind it.
    const files = new PowerCutFiles({ random: seededRandom(1), syncDelayMs: 2 });
    const queue = await DiskQueue.open(options({ files, segmentBytes: 1 << 20 }));
    const before = files.datasyncs;
    const appends: Promise<number>[] = [];
    for (let id = 0; id < 300; id += 1) {
      appends.push(queue.append(message(id, 100)));
      await new Promise((resolve) => setImmediate(resolve));
    }
    await Promise.all(appends);
    const syncs = files.datasyncs - before;
    expect(syncs).toBeLessThan(300 / 5);
    expect(syncs).toBeGreaterThan(1);
    await queue.close();
  });
});

describe('DiskQueue memory', () => {
  it('drains a backlog far larger than 16 MiB through next()/ack() with bounded buffers', async () => {
    const files = new PowerCutFiles({ random: seededRandom(1) });
    const queue = await DiskQueue.open(options({ files, durability: 'write', segmentBytes: 1 << 20, maxBytes: 1 << 30 }));
    const payloadBytes = 8 * 1024;
    const count = 5000; // ~40 MiB on disk
    for (let start = 0; start < count; start += 500) {
      await Promise.all(Array.from({ length: 500 }, (_, i) => queue.append(message(start + i, payloadBytes))));
      expect(queue.memory().bufferedBytes).toBeLessThan(16 * 1024 * 1024);
    }
    expect(queue.stats().bytes).toBeGreaterThan(40 * 1000 * 1000);

    let maxBuffered = 0;
    let maxHandedOut = 0;
    let expected = 0;
    for (;;) {
      const entries = await queue.next(64);
      if (entries.length === 0) break;
      const memory = queue.memory();
      maxBuffered = Math.max(maxBuffered, memory.bufferedBytes);
      maxHandedOut = Math.max(maxHandedOut, memory.handedOut);
      for (const entry of entries) {
        expect(idOf(entry.payload)).toBe(expected++);
        queue.ack(entry.seq);
      }
    }
    expect(expected).toBe(count);
    expect(maxBuffered).toBeLessThanOrEqual(1024 * 1024);
    expect(maxHandedOut).toBeLessThanOrEqual(64);
    expect(queue.stats()).toMatchObject({ depth: 0, bytes: 0 });
    await queue.close();
  });
});
