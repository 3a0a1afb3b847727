import { describe, expect, it } from 'vitest';
import { DiskQueue } from '../../../src/bridge/queue/disk-queue.js';
import type { QueueEntry } from '../../../src/bridge/queue/types.js';
import { idOf, message, options } from './helpers.js';
import { PowerCutFiles, seededRandom } from './power-cut-files.js';

const SEEDS = 12;
const CUTS_PER_SEED = 30;
const STEPS = 80;

interface History {
  /** seq -> message id, for every append that resolved before the cut. */
  resolved: Map<number, number>;
  /** Message ids whose append was started (resolved or not): the only ones that may come back. */
  started: Set<number>;
  /** seqs acknowledged to the queue before the cut. */
  acknowledged: Set<number>;
}

/**
 * A bridge's life, driven by a seeded random: bursts of concurrent appends, reads, out-of-order acks, rewinds
 * (reconnects), reopening the queue now and then (a clean restart). Stops at the first error: the power is gone.
 */
async function workload(files: PowerCutFiles, seed: number): Promise<History> {
  const random = seededRandom(seed);
  const history: History = { resolved: new Map(), started: new Set(), acknowledged: new Set() };
  const queueOptions = options({ files, segmentBytes: 600, cursorSave: { everyAcks: 3, intervalMs: Infinity } });
  let nextId = 0;
  let inFlight: QueueEntry[] = [];
  // Bursts not waited for: their records are readable (and may be sent and acknowledged) before they are synced.
  const unawaited: Promise<unknown>[] = [];
  const settleUnawaited = async () => {
    const results = await Promise.allSettled(unawaited.splice(0));
    const failure = results.find((result) => result.status === 'rejected');
    if (failure) throw failure.reason;
  };
  try {
    let queue = await DiskQueue.open(queueOptions);
    for (let step = 0; step < STEPS; step += 1) {
      const roll = random();
      if (roll < 0.45) {
        const burst = 1 + Math.floor(random() * 5);
        const appends = Array.from({ length: burst }, () => {
          const id = nextId++;
          history.started.add(id);
          return queue.append(message(id, 10 + Math.floor(random() * 120))).then((seq) => history.resolved.set(seq, id));
        });
        for (const append of appends) append.catch(() => undefined); // the cut may come before they are settled
        unawaited.push(...appends);
        if (random() < 0.5) await settleUnawaited();
        else await Promise.resolve(); // let the write start
      } else if (roll < 0.7) {
        inFlight.push(...(await queue.next(1 + Math.floor(random() * 6))));
      } else if (roll < 0.92) {
        for (const entry of inFlight.filter(() => random() < 0.6)) {
          queue.ack(entry.seq);
          history.acknowledged.add(entry.seq);
        }
        inFlight = inFlight.filter((entry) => !history.acknowledged.has(entry.seq));
      } else if (roll < 0.97) {
        queue.rewind();
        inFlight = [];
      } else {
        await settleUnawaited();
        await queue.close();
        queue = await DiskQueue.open(queueOptions);
        inFlight = [];
      }
      if (files.isCut) throw new Error('cut');
    }
    await settleUnawaited();
    await queue.close();
  } catch (error) {
    // The power went: whatever the queue was doing stops here. Any other error is the queue's fault.
    if (!files.isCut) throw error;
  }
  return history;
}

async function checkAfterCut(seed: number, cutAt: number): Promise<void> {
  const files = new PowerCutFiles({ random: seededRandom(seed * 7919 + cutAt), cutAt });
  const history = await workload(files, seed);
  files.cut();
  const revived = files.afterPowerCut(seededRandom(cutAt));
  const context = `seed ${seed}, cut at operation ${cutAt}`;

  const queue = await DiskQueue.open(options({ files: revived, segmentBytes: 600 })); // must not throw
  const delivered = new Map<number, number>();
  let previous = 0;
  for (;;) {
    const entries = await queue.next(10);
    if (entries.length === 0) break;
    for (const entry of entries) {
      expect(entry.seq, context).toBeGreaterThan(previous); // in order, no duplicate
      previous = entry.seq;
      const id = idOf(entry.payload);
      expect(history.started.has(id), `${context}: seq ${entry.seq} carries message ${id}, never appended`).toBe(true);
      expect(entry.payload.equals(message(id, entry.payload.length).payload), context).toBe(true);
      const resolvedAs = history.resolved.get(entry.seq);
      if (resolvedAs !== undefined) expect(resolvedAs, `${context}: seq ${entry.seq}`).toBe(id);
      delivered.set(entry.seq, id);
      queue.ack(entry.seq);
    }
  }
  for (const [seq, id] of history.resolved) {
    if (history.acknowledged.has(seq)) continue; // may or may not come back: at-least-once
    expect(delivered.get(seq), `${context}: resolved, unacknowledged seq ${seq} (message ${id}) lost`).toBe(id);
  }
  const seqAfter = await queue.append(message(1_000_000));
  expect(seqAfter, `${context}: seq reused`).toBeGreaterThan(Math.max(0, ...history.resolved.keys(), ...delivered.keys()));
  await queue.close();
  // And the queue drained after the cut reopens empty but for the one append above.
  const again = await DiskQueue.open(options({ files: revived, segmentBytes: 600 }));
  expect(again.stats().depth, context).toBe(1);
  await again.close();
}

describe('DiskQueue under power cuts (durability: fsync)', () => {
  it(`loses no resolved, unacknowledged append over ${SEEDS * CUTS_PER_SEED} cuts at seeded points`, async () => {
    let cuts = 0;
    let resolvedChecked = 0;
    for (let seed = 1; seed <= SEEDS; seed += 1) {
      // A run without a cut counts the file operations; the cuts are spread over them.
      const dry = new PowerCutFiles({ random: seededRandom(seed) });
      const full = await workload(dry, seed);
      expect(full.resolved.size, 'the workload appends').toBeGreaterThan(20);
      const total = dry.operations;
      for (let k = 0; k < CUTS_PER_SEED; k += 1) {
        const cutAt = 1 + Math.floor(((k + seededRandom(seed * 31 + k)()) * total) / CUTS_PER_SEED);
        await checkAfterCut(seed, cutAt);
        cuts += 1;
      }
      resolvedChecked += full.resolved.size;
    }
    expect(cuts).toBe(SEEDS * CUTS_PER_SEED);
    expect(resolvedChecked).toBeGreaterThan(0);
  });

  it('close() leaves a durable cursor: a cut right after it re-delivers nothing acknowledged', async () => {
    const files = new PowerCutFiles({ random: seededRandom(3) });
    const queue = await DiskQueue.open(options({ files, cursorSave: { everyAcks: 1000, intervalMs: Infinity } }));
    for (let id = 0; id < 10; id += 1) await queue.append(message(id));
    for (const entry of await queue.next(6)) queue.ack(entry.seq);
    await queue.close();
    files.cut();
    const revived = await DiskQueue.open(options({ files: files.afterPowerCut(seededRandom(4)) }));
    expect((await revived.next(100)).map((entry) => idOf(entry.payload))).toEqual([6, 7, 8, 9]);
    await revived.close();
  });
});
