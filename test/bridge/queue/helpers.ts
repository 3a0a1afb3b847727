import type { DiskQueue } from '../../../src/bridge/queue/disk-queue.js';
import type { QueuedMessage, QueueOptions } from '../../../src/bridge/queue/types.js';

export const QUEUE_DIR = '/state/bridge/cloud';

export function message(id: number, payloadBytes = 16, enqueuedAt = 1_000_000): QueuedMessage {
  const payload = Buffer.alloc(payloadBytes, id % 251);
  payload.write(`m${id}:`, 0, 'latin1');
  return { topic: `site/sensor/${id}`, payload, qos: 1, retain: id % 3 === 0, enqueuedAt };
}

/** The id message() encoded in a payload. */
export function idOf(payload: Buffer): number {
  const text = payload.toString('latin1');
  return Number(text.slice(1, text.indexOf(':')));
}

export function options(overrides: Partial<QueueOptions> & Pick<QueueOptions, 'files'>): QueueOptions {
  return {
    dir: QUEUE_DIR,
    maxBytes: 64 * 1024 * 1024,
    maxAgeMs: 7 * 24 * 3600_000,
    onFull: 'refuse',
    durability: 'fsync',
    segmentBytes: 1024,
    clock: { now: () => 1_000_000 },
    cursorSave: { everyAcks: 1, intervalMs: Infinity },
    ...overrides,
  };
}

/** Reads and acknowledges everything; returns the entries in the order handed out. */
export async function drain(queue: DiskQueue, batch = 7): Promise<{ seq: number; id: number; topic: string }[]> {
  const seen: { seq: number; id: number; topic: string }[] = [];
  for (;;) {
    const entries = await queue.next(batch);
    if (entries.length === 0) return seen;
    for (const entry of entries) {
      seen.push({ seq: entry.seq, id: idOf(entry.payload), topic: entry.topic });
      queue.ack(entry.seq);
    }
  }
}
