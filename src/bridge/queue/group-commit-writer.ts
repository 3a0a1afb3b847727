import path from 'node:path';
import { QueueBrokenError, QueueClosedError } from './errors.js';
import type { QueueFileHandle, QueueFiles } from './files.js';
import { segmentName, type Segment } from './segment-file.js';

/** The queue's side of the writer: where appends go and what to update once they are written. */
export interface WriterHost {
  /** The segment appends go to, or undefined when there is none. */
  tail(): Segment | undefined;
  /** A new, empty segment (its directory entry durable under 'fsync') becomes the tail. */
  addSegment(segment: Segment): void;
  /**
   * Records were written at the end of `segment` and can be read back; under 'fsync' their sync is still to come.
   * Called before their appends resolve, and before their `onWritten`.
   */
  written(segment: Segment, records: readonly PendingRecord[], bytes: number): void;
}

export interface PendingRecord {
  readonly seq: number;
  readonly enqueuedAt: number;
  readonly frame: Buffer;
  /** Called once the record is written, before it is synced: it may be sent on, not yet acknowledged. */
  readonly onWritten?: (seq: number) => void;
}

interface Waiting extends PendingRecord {
  resolve(): void;
  reject(error: unknown): void;
}

export interface WriterOptions {
  segmentBytes: number;
  durability: 'fsync' | 'write';
  /** Upper bound of one write(2): appends beyond wait for the next batch. */
  maxBatchBytes: number;
  now?: () => number;
}

/**
 * Group commit: appends that arrive while a batch is being written and synced wait, and all of them go to disk as
 * the next batch, in one write and one fdatasync per segment touched. On an SD card this turns a stream of small
 * appends into few, large, sequential writes, and the sync cost is shared by every append in the batch.
 *
 * Any write or sync failure breaks the writer for good: after a failed fsync the kernel may have dropped the dirty
 * pages and marked them clean, so a retry would lie. Reopening the queue recovers from what is on disk.
 */
export class GroupCommitWriter {
  private waiting: Waiting[] = [];
  private flushing: Promise<void> | undefined;
  private handle: { name: string; file: QueueFileHandle } | undefined;
  private broken: unknown;
  private closed = false;
  private batchBytes = 0;
  private waitingBytes = 0;
  /** When the batch being written started, while one is. */
  private batchStartedAt: number | undefined;

  constructor(
    private readonly files: QueueFiles,
    private readonly dir: string,
    private readonly host: WriterHost,
    private readonly options: WriterOptions,
  ) {}

  /** Resolves once the record is written (and synced, under 'fsync'). Records are written in call order. */
  write(record: PendingRecord): Promise<void> {
    if (this.closed) return Promise.reject(new QueueClosedError());
    if (this.broken !== undefined) return Promise.reject(new QueueBrokenError('an earlier write to the bridge queue failed', { cause: this.broken }));
    return new Promise<void>((resolve, reject) => {
      this.waiting.push({ ...record, resolve, reject });
      this.waitingBytes += record.frame.length;
      // Started from a microtask, so that appends made in the same tick already share the first batch.
      this.flushing ??= Promise.resolve().then(() => this.flushLoop());
    });
  }

  /** The error that broke the writer, or undefined while it writes: the queue is refusing appends until reopened. */
  get failure(): unknown {
    return this.broken;
  }

  /** Bytes of appends held in memory: waiting for a batch, or in the batch being written. */
  get bufferedBytes(): number {
    return this.waitingBytes + this.batchBytes;
  }

  /** Waits for every write made so far to be settled. */
  async drain(): Promise<void> {
    while (this.flushing) await this.flushing;
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.drain();
    const handle = this.handle;
    this.handle = undefined;
    await handle?.file.close();
  }

  private async flushLoop(): Promise<void> {
    while (this.waiting.length > 0) {
      const batch = this.takeBatch();
      try {
        if (this.broken !== undefined) throw new QueueBrokenError('an earlier write to the bridge queue failed', { cause: this.broken });
        await this.writeBatch(batch);
      } catch (error) {
        this.broken ??= error;
        for (const record of batch) record.reject(error);
      } finally {
        this.batchBytes = 0;
      }
    }
    this.flushing = undefined;
  }

  private takeBatch(): Waiting[] {
    let bytes = 0;
    let count = 0;
    for (const record of this.waiting) {
      if (count > 0 && bytes + record.frame.length > this.options.maxBatchBytes) break;
      bytes += record.frame.length;
      count += 1;
    }
    const batch = this.waiting.splice(0, count);
    this.waitingBytes -= bytes;
    this.batchBytes = bytes;
    return batch;
  }

  /** Writes the batch segment by segment: the part for one segment is synced before the next segment is written. */
  /**
   * How long the batch being written has been at it, or undefined when none is: a write or sync that does not come
   * back (a dying SD card, a hung filesystem) shows here, not as an error.
   */
  stalledMs(): number | undefined {
    return this.batchStartedAt === undefined ? undefined : (this.options.now ?? Date.now)() - this.batchStartedAt;
  }

  private async writeBatch(batch: Waiting[]): Promise<void> {
    this.batchStartedAt = (this.options.now ?? Date.now)();
    try {
      await this.writeGroups(batch);
    } finally {
      this.batchStartedAt = undefined;
    }
  }

  private async writeGroups(batch: Waiting[]): Promise<void> {
    let start = 0;
    while (start < batch.length) {
      const first = batch[start] as Waiting;
      const segment = await this.tailFor(first);
      let end = start;
      let bytes = 0;
      while (end < batch.length) {
        const record = batch[end] as Waiting;
        if (end > start && segment.size + bytes + record.frame.length > this.options.segmentBytes) break;
        bytes += record.frame.length;
        end += 1;
      }
      const group = batch.slice(start, end);
      const file = await this.openTail(segment);
      await file.write(group.length === 1 ? first.frame : Buffer.concat(group.map((record) => record.frame), bytes), segment.size);
      // Readable from here on: the sender may forward these records while they are being synced. A power cut
      // before the sync loses only records whose appends never resolved, so nothing acknowledged locally.
      this.host.written(segment, group, bytes);
      for (const record of group) record.onWritten?.(record.seq);
      if (this.options.durability === 'fsync') await file.datasync();
      for (const record of group) record.resolve();
      start = end;
    }
  }

  /** The tail, or a new segment starting at `record` if there is none or the record does not fit in it. */
  private async tailFor(record: PendingRecord): Promise<Segment> {
    const tail = this.host.tail();
    if (tail !== undefined && (tail.size === 0 || tail.size + record.frame.length <= this.options.segmentBytes)) return tail;
    const segment: Segment = { name: segmentName(record.seq), size: 0, count: 0, lastSeq: 0, firstEnqueuedAt: undefined, lastEnqueuedAt: undefined };
    const file = await this.files.open(path.join(this.dir, segment.name), 'write');
    // A segment left over by an earlier run under this name (emptied by recovery) must not keep stale bytes.
    await file.truncate(0);
    // Without this, a power cut could lose the new file's directory entry, and with it appends that had resolved.
    if (this.options.durability === 'fsync') await this.files.syncDir(this.dir);
    const previous = this.handle;
    this.handle = { name: segment.name, file };
    await previous?.file.close();
    this.host.addSegment(segment);
    return segment;
  }

  private async openTail(segment: Segment): Promise<QueueFileHandle> {
    if (this.handle?.name === segment.name) return this.handle.file;
    const file = await this.files.open(path.join(this.dir, segment.name), 'write');
    const previous = this.handle;
    this.handle = { name: segment.name, file };
    await previous?.file.close();
    return file;
  }
}
