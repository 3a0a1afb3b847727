/**
 * Child process for the SIGKILL test: appends to a queue on the real file system without end, and prints
 * "<seq> <id>" for every append that resolved. The parent kills it with SIGKILL.
 */
import { DiskQueue } from '../../../src/bridge/queue/disk-queue.js';
import { message } from './helpers.js';

const dir = process.argv[2] as string;
const durability = process.argv[3] === 'fsync' ? 'fsync' : 'write';
const queue = await DiskQueue.open({ dir, maxBytes: 1 << 30, maxAgeMs: 3600_000, onFull: 'refuse', durability, segmentBytes: 64 * 1024 });
let nextId = 0;
for (;;) {
  const burst = Array.from({ length: 1 + (nextId % 7) }, () => {
    const id = nextId++;
    return queue.append({ ...message(id, 50 + (id % 300)), enqueuedAt: Date.now() }).then((seq) => process.stdout.write(`${seq} ${id}\n`));
  });
  await Promise.all(burst);
}
