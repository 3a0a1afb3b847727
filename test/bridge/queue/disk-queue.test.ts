import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DiskQueue } from '../../../src/bridge/queue/disk-queue.js';
import { QueueFullError, RecordTooLargeError } from '../../../src/bridge/queue/errors.js';
import { parseSegmentName } from '../../../src/bridge/queue/segment-file.js';
import { drain, idOf, message, options, QUEUE_DIR } from './helpers.js';
import { PowerCutFiles, seededRandom } from './power-cut-files.js';

function memoryFiles(): PowerCutFiles {
  return new PowerCutFiles({ random: seededRandom(1) });
}

async function segmentsOn(files: PowerCutFiles): Promise<string[]> {
  return (await files.list(QUEUE_DIR)).filter((name) => parseSegmentName(name) !== undefined).sort();
}

describe('DiskQueue', () => {
  it('hands out what was appended, in order, with its fields, and keeps seq increasing across a reopen', async () => {
    const files = memoryFiles();
    let queue = await DiskQueue.open(options({ files }));
    const seqs = [];
    for (let id = 0; id < 20; id += 1) seqs.push(await queue.append(message(id, 40)));
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    const first = await queue.next(5);
    expect(first.map((entry) => idOf(entry.payload))).toEqual([0, 1, 2, 3, 4]);
    expect(first[3]).toMatchObject({ topic: 'site/sensor/3', qos: 1, retain: true, enqueuedAt: 1_000_000, seq: seqs[3] });
    expect(first[3]?.payload.equals(message(3, 40).payload)).toBe(true);
    for (const entry of first) queue.ack(entry.seq);
    await queue.close();

    queue = await DiskQueue.open(options({ files }));
    const rest = await drain(queue);
    expect(rest.map((entry) => entry.id)).toEqual(Array.from({ length: 15 }, (_, i) => i + 5));
    const after = await queue.append(message(99));
    expect(after).toBeGreaterThan(Math.max(...seqs));
    await queue.close();
  });

  it('advances the persisted cursor only over the contiguous acknowledged prefix', async () => {
    const files = memoryFiles();
    let queue = await DiskQueue.open(options({ files }));
    for (let id = 0; id < 6; id += 1) await queue.append(message(id));
    const entries = await queue.next(6);
    // Acks out of order: 0, 2, 3, 5 — the floor can only pass 0.
    for (const index of [2, 0, 5, 3]) queue.ack((entries[index] as { seq: number }).seq);
    expect(queue.stats()).toMatchObject({ depth: 2, acknowledged: 4 });
    await queue.close();

    queue = await DiskQueue.open(options({ files }));
    // 1 is the first unacknowledged: everything from it is handed out again (2, 3, 5 possibly re-sent: at-least-once).
    const again = await drain(queue);
    expect(again.map((entry) => entry.id)).toEqual([1, 2, 3, 4, 5]);
    await queue.close();
  });

  it('rewind hands out everything not acknowledged again, from the oldest, and skips what was acknowledged', async () => {
    const queue = await DiskQueue.open(options({ files: memoryFiles() }));
    for (let id = 0; id < 8; id += 1) await queue.append(message(id));
    const entries = await queue.next(5);
    queue.ack((entries[1] as { seq: number }).seq);
    queue.ack((entries[3] as { seq: number }).seq);
    queue.rewind();
    const again = await drain(queue, 3);
    expect(again.map((entry) => entry.id)).toEqual([0, 2, 4, 5, 6, 7]);
    expect(queue.stats()).toMatchObject({ depth: 0, acknowledged: 8 });
    await queue.close();
  });

  it('rolls segments over and deletes those fully acknowledged, once the cursor covering them is saved', async () => {
    const files = memoryFiles();
    const queue = await DiskQueue.open(options({ files, segmentBytes: 1024 }));
    for (let id = 0; id < 60; id += 1) await queue.append(message(id, 100));
    const before = await segmentsOn(files);
    expect(before.length).toBeGreaterThan(5);
    const half = await queue.next(30);
    for (const entry of half) queue.ack(entry.seq);
    await queue.close();
    const after = await segmentsOn(files);
    expect(after.length).toBeLessThan(before.length);
    expect(after[0]).not.toBe(before[0]);

    const reopened = await DiskQueue.open(options({ files, segmentBytes: 1024 }));
    expect((await drain(reopened)).map((entry) => entry.id)).toEqual(Array.from({ length: 30 }, (_, i) => i + 30));
    await reopened.close();
    // Only the tail segment is left, and it goes on reopen since every record in it is acknowledged.
    const last = await DiskQueue.open(options({ files, segmentBytes: 1024 }));
    expect(await segmentsOn(files)).toEqual([]);
    expect(last.stats()).toMatchObject({ depth: 0, bytes: 0 });
    await last.close();
  });

  it('with drop_oldest, drops the oldest segment when full, counts it, and loses nothing else', async () => {
    const files = memoryFiles();
    const drops: number[] = [];
    const queue = await DiskQueue.open(options({ files, maxBytes: 8192, segmentBytes: 1024, onFull: 'drop_oldest', onDrop: (count) => drops.push(count) }));
    const ids = Array.from({ length: 200 }, (_, i) => i);
    for (const id of ids) await queue.append(message(id, 100));
    const stats = queue.stats();
    expect(stats.bytes).toBeLessThanOrEqual(8192);
    expect(stats.dropped).toBeGreaterThan(0);
    expect(drops.reduce((a, b) => a + b, 0)).toBe(stats.dropped);
    const left = (await drain(queue)).map((entry) => entry.id);
    // What is left is exactly the newest ones, contiguous: only the oldest were dropped.
    expect(left).toEqual(ids.slice(ids.length - left.length));
    expect(left.length + stats.dropped).toBe(ids.length);
    await queue.close();
  });

  it('with refuse, rejects with QueueFullError when full and keeps what it had', async () => {
    const queue = await DiskQueue.open(options({ files: memoryFiles(), maxBytes: 4096, segmentBytes: 1024 }));
    let accepted = 0;
    let refusal: unknown;
    for (let id = 0; id < 100 && refusal === undefined; id += 1) {
      try {
        await queue.append(message(id, 100));
        accepted += 1;
      } catch (error) {
        refusal = error;
      }
    }
    expect(refusal).toBeInstanceOf(QueueFullError);
    expect(queue.stats()).toMatchObject({ refused: 1, dropped: 0, depth: accepted });
    await expect(queue.append(message(1, 5000))).rejects.toBeInstanceOf(RecordTooLargeError);
    expect((await drain(queue)).map((entry) => entry.id)).toEqual(Array.from({ length: accepted }, (_, i) => i));
    // Acknowledged space is usable again.
    await expect(queue.append(message(500, 100))).resolves.toBeGreaterThan(0);
    await queue.close();
  });

  it('drops records older than maxAgeMs: whole old segments, and old records met by next()', async () => {
    let now = 1_000_000;
    const drops: [number, string][] = [];
    const queue = await DiskQueue.open(options({
      files: memoryFiles(), maxAgeMs: 10_000, segmentBytes: 1024, clock: { now: () => now }, onDrop: (count, reason) => drops.push([count, reason]),
    }));
    for (let id = 0; id < 30; id += 1) await queue.append(message(id, 100, now));
    now += 5_000;
    for (let id = 30; id < 35; id += 1) await queue.append(message(id, 100, now));
    expect(queue.stats().oldestAgeMs).toBe(5_000);
    now += 7_000; // the first 30 are 12 s old, the last 5 are 7 s old
    const left = (await drain(queue)).map((entry) => entry.id);
    expect(left).toEqual([30, 31, 32, 33, 34]);
    expect(queue.stats()).toMatchObject({ dropped: 30, depth: 0 });
    expect(drops.every(([, reason]) => reason === 'age')).toBe(true);
    expect(drops.reduce((sum, [count]) => sum + count, 0)).toBe(30);
    await queue.close();
  });

  it('creates its directory and works on the real file system', async () => {
    const { makeTempDir } = await import('../../helpers/temp-dir.js');
    const temp = await makeTempDir('bridge-queue-');
    try {
      const dir = path.join(temp.dir, 'state', 'bridge');
      const queue = await DiskQueue.open({ dir, maxBytes: 1 << 20, maxAgeMs: 60_000, onFull: 'refuse', durability: 'fsync', segmentBytes: 4096 });
      await Promise.all(Array.from({ length: 100 }, (_, id) => queue.append({ ...message(id, 200), enqueuedAt: Date.now() })));
      const entries = await queue.next(40);
      for (const entry of entries) queue.ack(entry.seq);
      await queue.close();
      const { stat } = await import('node:fs/promises');
      expect((await stat(dir)).mode & 0o777).toBe(0o700);
      const reopened = await DiskQueue.open({ dir, maxBytes: 1 << 20, maxAgeMs: 60_000, onFull: 'refuse', durability: 'fsync', segmentBytes: 4096 });
      expect((await drain(reopened)).map((entry) => entry.id)).toEqual(Array.from({ length: 60 }, (_, i) => i + 40));
      await reopened.close();
    } finally {
      await temp.remove();
    }
  });
});
