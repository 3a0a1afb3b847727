/**
 * Appends and drains the bridge queue on the real file system, to see what group commit buys on this disk (run it
 * on the Pi's SD card): appends/s and appends per fdatasync, for several numbers of concurrent appenders.
 *
 *   npx tsx bench/bridge/queue-append.ts [dir] [messages]
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { DiskQueue } from '../../src/bridge/queue/disk-queue.js';
import { nodeQueueFiles, type QueueFiles } from '../../src/bridge/queue/files.js';

const base = process.argv[2] ?? os.tmpdir();
const messages = Number(process.argv[3] ?? 20_000);
const payload = Buffer.alloc(200, 'x');

async function run(concurrency: number): Promise<void> {
  const dir = await mkdtemp(path.join(base, 'bridge-queue-bench-'));
  let syncs = 0;
  const files: QueueFiles = {
    ...nodeQueueFiles,
    async open(file, mode) {
      const handle = await nodeQueueFiles.open(file, mode);
      return Object.assign(Object.create(Object.getPrototypeOf(handle) as object) as typeof handle, handle, {
        datasync: () => {
          syncs += 1;
          return handle.datasync();
        },
      });
    },
  };
  try {
    const queue = await DiskQueue.open({ dir, files, maxBytes: 1 << 30, maxAgeMs: 3600_000, onFull: 'refuse', durability: 'fsync' });
    let next = 0;
    const started = performance.now();
    await Promise.all(Array.from({ length: concurrency }, async () => {
      while (next < messages) {
        next += 1;
        await queue.append({ topic: 'site/sensor/temperature', payload, qos: 1, retain: false, enqueuedAt: Date.now() });
      }
    }));
    const appendMs = performance.now() - started;
    const drainStart = performance.now();
    let drained = 0;
    for (;;) {
      const entries = await queue.next(256);
      if (entries.length === 0) break;
      for (const entry of entries) queue.ack(entry.seq);
      drained += entries.length;
    }
    const drainMs = performance.now() - drainStart;
    await queue.close();
    console.log(
      `concurrency ${String(concurrency).padStart(4)}: ${Math.round((messages / appendMs) * 1000)} appends/s, ` +
        `${(messages / Math.max(syncs, 1)).toFixed(1)} appends per fdatasync, drain ${Math.round((drained / drainMs) * 1000)} msg/s`,
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

for (const concurrency of [1, 8, 64, 256]) await run(concurrency);
