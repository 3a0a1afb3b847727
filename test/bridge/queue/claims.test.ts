import { describe, expect, it } from 'vitest';
import { DiskQueue } from '../../../src/bridge/queue/disk-queue.js';
import { drain, idOf, message, options } from './helpers.js';
import { PowerCutFiles, seededRandom } from './power-cut-files.js';

/** Counts the bytes read back from segment files: claimNext() must step over a record without reading it. */
class CountingFiles extends PowerCutFiles {
  bytesRead = 0;
  override async open(...args: Parameters<PowerCutFiles['open']>) {
    const handle = await super.open(...args);
    const read = handle.read.bind(handle);
    handle.read = async (buffer: Buffer, position: number) => {
      const n = await read(buffer, position);
      this.bytesRead += n;
      return n;
    };
    return handle;
  }
}

describe('DiskQueue claims (a sender taking fresh records itself)', () => {
  it('claimNext hands out the next record without reading it back, and only the next one', async () => {
    const files = new CountingFiles({ random: seededRandom(2) });
    const queue = await DiskQueue.open(options({ files }));
    const a = await queue.append(message(1));
    const b = await queue.append(message(2));
    // b is not the next record to hand out while a is still unread.
    expect(queue.claimNext(b)).toBe(false);
    expect(queue.claimNext(a)).toBe(true);
    expect(queue.claimNext(a)).toBe(false); // handed out already
    expect(queue.claimNext(b)).toBe(true);
    expect(files.bytesRead).toBe(0);
    expect(await queue.next(10)).toEqual([]);
    queue.ack(a);
    queue.ack(b);
    expect(queue.acknowledgedThrough).toBe(b);
    expect(queue.stats().depth).toBe(0);
    await queue.close();
  });

  it('claimNext steps over segment boundaries and keeps the cursor exact across a reopen', async () => {
    const files = new CountingFiles({ random: seededRandom(3) });
    let queue = await DiskQueue.open(options({ files, segmentBytes: 1024 }));
    const seqs: number[] = [];
    for (let id = 0; id < 60; id += 1) {
      const seq = await queue.append(message(id, 64));
      expect(queue.claimNext(seq)).toBe(true);
      seqs.push(seq);
    }
    for (const seq of seqs.slice(0, 40)) queue.ack(seq);
    expect(files.bytesRead).toBe(0);
    await queue.close();
    queue = await DiskQueue.open(options({ files, segmentBytes: 1024 }));
    expect((await drain(queue)).map((entry) => entry.id)).toEqual(Array.from({ length: 20 }, (_, i) => i + 40));
    await queue.close();
  });

  it('a claimed record is stepped over by next(), acknowledged out of order, and the floor waits for the older ones', async () => {
    const files = new PowerCutFiles({ random: seededRandom(4) });
    const queue = await DiskQueue.open(options({ files }));
    const backlog: number[] = [];
    for (let id = 0; id < 5; id += 1) backlog.push(await queue.append(message(id)));
    const live = await queue.append(message(100));
    expect(queue.claimNext(live)).toBe(false); // the backlog is in the way
    expect(queue.claim(live)).toBe(true);
    queue.ack(live);
    expect(queue.acknowledgedThrough).toBe(0);
    expect(queue.stats().depth).toBe(5);
    const handed = await queue.next(100);
    expect(handed.map((entry) => idOf(entry.payload))).toEqual([0, 1, 2, 3, 4]);
    for (const entry of handed) queue.ack(entry.seq);
    expect(queue.acknowledgedThrough).toBe(live);
    expect(queue.memory()).toMatchObject({ claimed: 0, ackedAboveFloor: 0, handedOut: 0 });
    await queue.close();
  });

  it('a claimed record not acknowledged before a rewind is handed out again, in order', async () => {
    const files = new PowerCutFiles({ random: seededRandom(5) });
    const queue = await DiskQueue.open(options({ files }));
    for (let id = 0; id < 3; id += 1) await queue.append(message(id));
    const live = await queue.append(message(100));
    expect(queue.claim(live)).toBe(true);
    expect((await queue.next(2)).map((entry) => idOf(entry.payload))).toEqual([0, 1]);
    queue.rewind(); // the connection went down with the claimed record in flight
    expect((await drain(queue)).map((entry) => entry.id)).toEqual([0, 1, 2, 100]);
    await queue.close();
  });

  it('a claimed record that a reopen finds unacknowledged comes back (at least once)', async () => {
    const files = new PowerCutFiles({ random: seededRandom(6) });
    let queue = await DiskQueue.open(options({ files }));
    const old = await queue.append(message(0));
    const live = await queue.append(message(1));
    expect(queue.claim(live)).toBe(true);
    queue.ack(live);
    await queue.close(); // `old` never acknowledged: the cursor cannot pass it, so `live` is sent again too
    queue = await DiskQueue.open(options({ files }));
    expect((await drain(queue)).map((entry) => entry.seq)).toEqual([old, live]);
    await queue.close();
  });

  it('refuses claims of records handed out already or never appended, and ignores acks of unclaimed unread records', async () => {
    const files = new PowerCutFiles({ random: seededRandom(7) });
    const queue = await DiskQueue.open(options({ files }));
    const a = await queue.append(message(0));
    const b = await queue.append(message(1));
    await queue.next(1);
    expect(queue.claim(a)).toBe(false);
    expect(queue.claim(b + 1)).toBe(false);
    queue.ack(b); // neither handed out nor claimed
    expect(queue.stats().depth).toBe(2);
    await queue.close();
  });
});
