import path from 'node:path';
import { isCursorTmp, loadCursor, saveCursor } from './cursor-file.js';
import { QueueClosedError, QueueCorruptError, QueueFullError, RecordTooLargeError } from './errors.js';
import { nodeQueueFiles, type QueueFileHandle, type QueueFiles } from './files.js';
import { GroupCommitWriter, type PendingRecord } from './group-commit-writer.js';
import { decodeRecord, encodedRecordBytes, encodeRecord, FRAME_HEADER_BYTES } from './record-codec.js';
import { parseSegmentName, scanSegment, type Segment } from './segment-file.js';
import type { QueueDropReason, QueueEntry, QueueMemory, QueuedMessage, QueueOptions, QueueStats } from './types.js';

const MiB = 1024 * 1024;
const DEFAULT_SEGMENT_BYTES = 4 * MiB;
const DEFAULT_MAX_RECORD_BYTES = 4 * MiB;
/** One read from disk; with one record of up to maxRecordBytes, what the reader holds. */
const READ_CHUNK_BYTES = 256 * 1024;
/** One write(2) of the group commit at most; appends beyond wait for the next batch. */
const MAX_BATCH_BYTES = 1 * MiB;
const DEFAULT_CURSOR_EVERY_ACKS = 1000;
const DEFAULT_CURSOR_INTERVAL_MS = 1000;
/** Positions of the newest written records kept for claimNext(); older ones are read back from disk as usual. */
const RECENT_RECORDS = 4096;
/** Records claimed out of order (claim()) and not yet passed by the reader; beyond, claim() says no. */
const MAX_CLAIMED = 10_000;

/** A record handed out by next() and not yet behind the ack floor: where it ends, to move the floor's position. */
interface HandedOut {
  readonly seq: number;
  readonly segment: Segment;
  readonly end: number;
  readonly frameBytes: number;
  readonly enqueuedAt: number;
}

/** A record just written: where it lies, so that a caught-up reader can step over it without reading it back. */
interface CommittedRecord {
  readonly segment: Segment;
  readonly start: number;
  readonly end: number;
  readonly enqueuedAt: number;
}

interface Position {
  segment: Segment | undefined;
  offset: number;
}

/**
 * A store-and-forward queue on disk for the cloud bridge: append() before the local PUBACK, next() to send,
 * ack() on the cloud's PUBACK, rewind() after a reconnect. At-least-once: a crash or power cut may re-deliver
 * records acknowledged since the last cursor save, never lose one whose append() resolved.
 *
 * On disk: segment files of CRC-framed records (segment-file.ts, record-codec.ts) and a cursor file
 * (cursor-file.ts). In memory: a few numbers per segment, the seqs handed out and not yet acknowledged, and one
 * read-ahead buffer; never the backlog itself.
 *
 * The ack floor is the highest seq such that every record up to it is acknowledged or dropped. Acks may come out
 * of order: those above the floor are remembered until the floor reaches them. The head is the position of the
 * first record above the floor, where rewind() makes reading start again.
 */
export class DiskQueue {
  private readonly files: QueueFiles;
  private readonly dir: string;
  private readonly clock: { now(): number };
  private readonly segmentBytes: number;
  private readonly maxRecordBytes: number;
  private readonly cursorEveryAcks: number;
  private readonly cursorIntervalMs: number;
  private readonly writer: GroupCommitWriter;

  /** In seq order; the last is the tail that appends go to. */
  private readonly segments: Segment[];
  private nextSeq: number;
  private ackFloor: number;
  private savedFloor: number;
  /** The first record above the floor; `recordsBefore` counts the records of its segment before it. */
  private head: Position & { recordsBefore: number };
  private readonly readPos: Position;
  private handedOut: HandedOut[] = [];
  private handedOutStart = 0;
  private readonly ackedAbove = new Set<number>();
  private highestHandedOut = 0;
  /** The newest written records by seq, oldest first (Map keeps insertion order). */
  private readonly recent = new Map<number, CommittedRecord>();
  /** Seqs the caller sends itself, out of order (claim()); next() steps over them. */
  private readonly claimed = new Set<number>();

  /** Sum of the segments' sizes. */
  private liveBytes: number;
  /** Bytes from the start of the first segment to the head: acknowledged, on disk until their segment goes. */
  private consumedBytes: number;
  /** Appends accepted and not yet written. */
  private pendingBytes = 0;
  private depth: number;
  private appended = 0;
  private acknowledged = 0;
  private dropped = 0;
  private refused = 0;

  private readAhead: { segment: Segment; start: number; buffer: Buffer } | undefined;
  private readFile: { segment: Segment; handle: QueueFileHandle } | undefined;
  private reading: Promise<unknown> | undefined;
  private rewindPending = false;

  private acksSinceSave = 0;
  private cursorTimer: NodeJS.Timeout | undefined;
  private saving: Promise<void> | undefined;
  private saveAgain = false;
  private closed = false;

  private constructor(
    private readonly options: QueueOptions,
    recovered: { segments: Segment[]; ackedThrough: number; nextSeq: number; headOffset: number; headRecords: number; depth: number },
  ) {
    this.files = options.files ?? nodeQueueFiles;
    this.dir = options.dir;
    this.clock = options.clock ?? { now: () => Date.now() };
    this.segmentBytes = effectiveSegmentBytes(options);
    this.maxRecordBytes = Math.min(options.maxRecordBytes ?? DEFAULT_MAX_RECORD_BYTES, options.maxBytes);
    this.cursorEveryAcks = options.cursorSave?.everyAcks ?? DEFAULT_CURSOR_EVERY_ACKS;
    this.cursorIntervalMs = options.cursorSave?.intervalMs ?? DEFAULT_CURSOR_INTERVAL_MS;
    this.segments = recovered.segments;
    this.nextSeq = recovered.nextSeq;
    this.ackFloor = recovered.ackedThrough;
    this.savedFloor = recovered.ackedThrough;
    this.head = { segment: this.segments[0], offset: recovered.headOffset, recordsBefore: recovered.headRecords };
    this.readPos = { segment: this.head.segment, offset: this.head.offset };
    this.liveBytes = this.segments.reduce((sum, segment) => sum + segment.size, 0);
    this.consumedBytes = recovered.headOffset;
    this.depth = recovered.depth;
    this.writer = new GroupCommitWriter(this.files, this.dir, {
      tail: () => this.segments.at(-1),
      addSegment: (segment) => this.addSegment(segment),
      written: (segment, records, bytes) => this.written(segment, records, bytes),
    }, { segmentBytes: this.segmentBytes, durability: options.durability, maxBatchBytes: MAX_BATCH_BYTES, now: () => this.clock.now() });
  }

  /** Opens (creating) the queue's directory and recovers: torn or corrupt tails truncated, fully acknowledged segments deleted. */
  static async open(options: QueueOptions): Promise<DiskQueue> {
    validate(options);
    const files = options.files ?? nodeQueueFiles;
    const { dir } = options;
    await files.mkdir(dir);
    if (options.durability === 'fsync') await files.syncDir(path.dirname(path.resolve(dir)));
    const names = await files.list(dir);
    const cursor = await loadCursor(files, dir, names);
    if (names.some(isCursorTmp)) await files.unlink(path.join(dir, names.find(isCursorTmp) as string));

    const segmentNames = names.filter((name) => parseSegmentName(name) !== undefined).sort();
    const kept: Segment[] = [];
    let lastSeq = 0;
    let headOffset = 0;
    let headRecords = 0;
    let depth = 0;
    for (const name of segmentNames) {
      const handle = await files.open(path.join(dir, name), 'write');
      let scanned;
      try {
        scanned = await scanSegment(handle, name, lastSeq, cursor.ackedThrough, READ_CHUNK_BYTES);
      } finally {
        await handle.close();
      }
      if (scanned.count > 0) lastSeq = scanned.lastSeq;
      if (scanned.count === scanned.ackedCount) {
        // Fully acknowledged (or empty after truncation): the cursor that covers it is already durable.
        await files.unlink(path.join(dir, name));
        continue;
      }
      if (kept.length === 0) {
        headOffset = scanned.ackedBytes;
        headRecords = scanned.ackedCount;
      }
      depth += scanned.count - scanned.ackedCount;
      const { truncatedBytes: _t, ackedCount: _c, ackedBytes: _b, ...segment } = scanned;
      kept.push(segment);
    }
    const nextSeq = Math.max(lastSeq, cursor.ackedThrough) + 1;
    return new DiskQueue(options, { segments: kept, ackedThrough: cursor.ackedThrough, nextSeq, headOffset, headRecords, depth });
  }

  /**
   * Resolves with the message's seq once it is durable per `durability`. Appends made while a batch is being
   * written share the next write and fdatasync. Rejects with QueueFullError (onFull 'refuse', or nothing left to
   * drop), RecordTooLargeError, QueueClosedError, or the write's error.
   *
   * `onWritten(seq)` is called as soon as the record is written and readable, before its sync: a sender may take it
   * (claimNext) and forward it while the disk syncs, since what is owed to the local publisher is the durability
   * of its PUBACK, not the order of the two.
   */
  async append(message: QueuedMessage, onWritten?: (seq: number) => void): Promise<number> {
    if (this.closed) throw new QueueClosedError();
    const frameBytes = encodedRecordBytes(message.topic, message.payload);
    if (frameBytes > this.maxRecordBytes) throw new RecordTooLargeError(frameBytes, this.maxRecordBytes);
    this.dropAgedSegments();
    while (this.bytes() + frameBytes > this.options.maxBytes) {
      if (this.options.onFull === 'refuse' || !this.dropHeadSegment('full')) {
        this.refused += 1;
        throw new QueueFullError(this.bytes(), this.options.maxBytes);
      }
    }
    const seq = this.nextSeq++;
    const frame = encodeRecord({ ...message, seq });
    this.pendingBytes += frame.length;
    this.depth += 1;
    try {
      await this.writer.write({ seq, enqueuedAt: message.enqueuedAt, frame, onWritten: onWritten && ((written) => this.callSafely(onWritten, written)) });
    } catch (error) {
      this.pendingBytes -= frame.length;
      this.depth -= 1;
      throw error;
    }
    this.appended += 1;
    return seq;
  }

  /**
   * Up to `max` entries after the read position, in seq order, not handed out before (since the last rewind).
   * Reads from disk in bounded chunks. Records older than maxAgeMs met on the way are dropped, not returned.
   */
  next(max: number): Promise<QueueEntry[]> {
    if (this.closed) return Promise.reject(new QueueClosedError());
    const run = (this.reading ?? Promise.resolve()).then(() => this.readEntries(max));
    const settled = run.then(
      () => undefined,
      () => undefined,
    );
    this.reading = settled;
    void settled.then(() => {
      if (this.reading === settled) this.reading = undefined;
      if (this.rewindPending && this.reading === undefined) this.applyRewind();
    });
    return run;
  }

  /**
   * The caller is sending record `seq` itself, in order: it is the next record next() would hand out, and no read is
   * under way. It is handed out as if next() had read it, without reading it back from disk. Returns false, changing
   * nothing, when that is not so (the caller then leaves the record to next()). This is how a caught-up sender takes a
   * fresh message straight from append() to the wire.
   */
  claimNext(seq: number): boolean {
    if (this.closed || this.reading !== undefined || this.rewindPending || seq <= this.ackFloor) return false;
    const record = this.recent.get(seq);
    if (record === undefined) return false;
    const segment = this.normalizeRead();
    if (segment !== record.segment || this.readPos.offset !== record.start) return false;
    this.readPos.offset = record.end;
    this.handedOut.push({ seq, segment, end: record.end, frameBytes: record.end - record.start, enqueuedAt: record.enqueuedAt });
    this.highestHandedOut = Math.max(this.highestHandedOut, seq);
    for (const older of this.recent.keys()) {
      if (older > seq) break;
      this.recent.delete(older);
    }
    return true;
  }

  /**
   * The caller is sending record `seq` itself ahead of older ones (a live reading while a backlog drains): next()
   * will step over it, and ack(seq) is taken. The floor still moves only in order, so a crash before the older
   * records are acknowledged sends this one again (at least once). Returns false, changing nothing, when `seq` was
   * already handed out, was never appended, or too many claims are outstanding.
   */
  claim(seq: number): boolean {
    if (this.closed || seq <= this.highestHandedOut || seq >= this.nextSeq || this.claimed.size >= MAX_CLAIMED) return false;
    this.claimed.add(seq);
    return true;
  }

  /** Every record up to this seq is acknowledged or dropped. */
  get acknowledgedThrough(): number {
    return this.ackFloor;
  }

  /** The cloud acknowledged `seq`. Unknown, repeated and already dropped seqs are ignored. */
  ack(seq: number): void {
    if (seq <= this.ackFloor || this.ackedAbove.has(seq) || (seq > this.highestHandedOut && !this.claimed.has(seq))) return;
    this.ackedAbove.add(seq);
    this.acknowledged += 1;
    this.depth -= 1;
    this.acksSinceSave += 1;
    this.advanceFloor();
    this.scheduleCursorSave();
  }

  /** After a reconnect: every record not acknowledged is handed out again by next(), from the oldest. */
  rewind(): void {
    if (this.reading === undefined) this.applyRewind();
    else this.rewindPending = true; // the read in progress hands out entries that must be handed out again
  }

  stats(): QueueStats {
    return {
      depth: this.depth,
      bytes: this.bytes(),
      oldestAgeMs: this.oldestEnqueuedAt() === undefined ? undefined : this.clock.now() - (this.oldestEnqueuedAt() as number),
      appended: this.appended,
      acknowledged: this.acknowledged,
      dropped: this.dropped,
      refused: this.refused,
      writeFailure: describeFailure(this.writer.failure),
      writeInProgressMs: this.writer.stalledMs(),
    };
  }

  memory(): QueueMemory {
    return {
      bufferedBytes: (this.readAhead?.buffer.length ?? 0) + this.writer.bufferedBytes,
      handedOut: this.handedOut.length - this.handedOutStart,
      ackedAboveFloor: this.ackedAbove.size,
      claimed: this.claimed.size,
      recentRecords: this.recent.size,
    };
  }

  /** Waits for appends in progress, saves the cursor, closes the files. The queue cannot be used afterwards. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.cursorTimer);
    await this.writer.close();
    await this.reading;
    if (this.ackFloor !== this.savedFloor || this.saving) await this.saveCursorNow();
    const readFile = this.readFile;
    this.readFile = undefined;
    this.readAhead = undefined;
    await readFile?.handle.close();
  }

  // --- appending ---

  /** The caller's hook runs inside the write loop: its failure is reported, and must not break the writer. */
  private callSafely(hook: (seq: number) => void, seq: number): void {
    try {
      hook(seq);
    } catch (error) {
      this.options.onError?.(error);
    }
  }

  private bytes(): number {
    return this.liveBytes - this.consumedBytes + this.pendingBytes;
  }

  private addSegment(segment: Segment): void {
    this.segments.push(segment);
    this.head.segment ??= segment;
    this.readPos.segment ??= segment;
  }

  private written(segment: Segment, records: readonly PendingRecord[], bytes: number): void {
    let start = segment.size;
    for (const record of records) {
      const end = start + record.frame.length;
      this.recent.set(record.seq, { segment, start, end, enqueuedAt: record.enqueuedAt });
      start = end;
    }
    for (const oldest of this.recent.keys()) {
      if (this.recent.size <= RECENT_RECORDS) break;
      this.recent.delete(oldest);
    }
    segment.size += bytes;
    segment.count += records.length;
    this.liveBytes += bytes;
    this.pendingBytes -= bytes;
    const last = records.at(-1);
    if (last !== undefined) {
      segment.lastSeq = last.seq;
      segment.firstEnqueuedAt ??= records[0]?.enqueuedAt;
      segment.lastEnqueuedAt = last.enqueuedAt;
    }
  }

  // --- dropping ---

  /** Drops whole segments (never the tail) whose newest record is older than maxAgeMs. */
  private dropAgedSegments(): void {
    const limit = this.clock.now() - this.options.maxAgeMs;
    for (;;) {
      const segment = this.normalizeHead();
      if (segment === undefined || segment.lastEnqueuedAt === undefined || segment.lastEnqueuedAt >= limit) return;
      if (!this.dropHeadSegment('age')) return;
    }
  }

  /**
   * Drops the records of the head segment that are not acknowledged yet: the floor jumps to its last seq. Disk
   * space comes back a segment at a time, so that is the unit. The tail cannot be dropped (appends are going
   * into it). Returns whether anything was dropped.
   */
  private dropHeadSegment(reason: QueueDropReason): boolean {
    const segment = this.normalizeHead();
    if (segment === undefined || segment === this.segments.at(-1)) return false;
    let ackedInSegment = 0;
    for (const seq of this.ackedAbove) {
      if (seq <= segment.lastSeq) {
        this.ackedAbove.delete(seq);
        ackedInSegment += 1;
      }
    }
    const count = segment.count - this.head.recordsBefore - ackedInSegment;
    for (const seq of this.claimed) if (seq <= segment.lastSeq) this.claimed.delete(seq);
    while (this.handedOutStart < this.handedOut.length && (this.handedOut[this.handedOutStart] as HandedOut).seq <= segment.lastSeq) this.handedOutStart += 1;
    this.compactHandedOut();
    this.consumedBytes += segment.size - this.head.offset;
    this.ackFloor = Math.max(this.ackFloor, segment.lastSeq);
    const next = this.segmentAfter(segment);
    this.head = { segment: next, offset: 0, recordsBefore: 0 };
    if (this.readPos.segment === segment) {
      this.readPos.segment = next;
      this.readPos.offset = 0;
    }
    this.depth -= count;
    this.dropped += count;
    if (count > 0) this.options.onDrop?.(count, reason);
    this.startCursorSave();
    return true;
  }

  /** Moves the head off a segment it has fully consumed (unless that is the tail); returns the head segment. */
  private normalizeHead(): Segment | undefined {
    let segment = this.head.segment;
    while (segment !== undefined && this.head.offset >= segment.size && segment !== this.segments.at(-1)) {
      segment = this.segmentAfter(segment);
      this.head = { segment, offset: 0, recordsBefore: 0 };
    }
    return segment;
  }

  private segmentAfter(segment: Segment): Segment | undefined {
    const index = this.segments.indexOf(segment);
    return index < 0 ? this.segments[0] : this.segments[index + 1];
  }

  // --- reading ---

  private async readEntries(max: number): Promise<QueueEntry[]> {
    if (this.rewindPending) this.applyRewind();
    this.dropAgedSegments();
    const entries: QueueEntry[] = [];
    const ageLimit = this.clock.now() - this.options.maxAgeMs;
    let aged = 0;
    while (entries.length < max) {
      const segment = this.normalizeRead();
      if (segment === undefined || this.readPos.offset >= segment.size) break;
      const offset = this.readPos.offset;
      let record;
      try {
        record = await this.readRecord(segment, offset);
      } catch (error) {
        // A drop and a cursor save may have deleted the segment while it was being opened: read on from the head.
        if (this.segments.includes(segment)) throw error;
        continue;
      }
      const { entry, frameBytes } = record;
      if (this.readPos.segment !== segment || this.readPos.offset !== offset) continue; // a drop moved the reader
      this.readPos.offset = offset + frameBytes;
      if (entry.seq <= this.ackFloor) continue;
      this.handedOut.push({ seq: entry.seq, segment, end: offset + frameBytes, frameBytes, enqueuedAt: entry.enqueuedAt });
      this.highestHandedOut = Math.max(this.highestHandedOut, entry.seq);
      // A claimed record is on its way (or acknowledged) already: step over it; the floor passes it on its ack.
      if (this.claimed.delete(entry.seq) || this.ackedAbove.has(entry.seq)) continue;
      if (entry.enqueuedAt < ageLimit) {
        this.ackedAbove.add(entry.seq);
        this.depth -= 1;
        aged += 1;
        continue;
      }
      entries.push(entry);
    }
    if (aged > 0) {
      this.dropped += aged;
      this.options.onDrop?.(aged, 'age');
    }
    if (this.advanceFloor()) this.scheduleCursorSave();
    return entries;
  }

  private normalizeRead(): Segment | undefined {
    let segment = this.readPos.segment;
    if (segment !== undefined && !this.segments.includes(segment)) segment = undefined; // deleted under us
    segment ??= this.head.segment ?? this.segments[0];
    if (segment !== this.readPos.segment) {
      this.readPos.segment = segment;
      this.readPos.offset = segment === this.head.segment ? this.head.offset : 0;
    }
    while (segment !== undefined && this.readPos.offset >= segment.size && segment !== this.segments.at(-1)) {
      segment = this.segmentAfter(segment);
      this.readPos.segment = segment;
      this.readPos.offset = 0;
    }
    return segment;
  }

  /** The record at `offset` of `segment`, from the read-ahead buffer or a new read of one chunk (or one record). */
  private async readRecord(segment: Segment, offset: number): Promise<{ entry: QueueEntry; frameBytes: number }> {
    const ahead = this.readAhead;
    let frameBytes: number | undefined;
    if (ahead?.segment === segment && offset >= ahead.start && offset < ahead.start + ahead.buffer.length) {
      const result = decodeRecord(ahead.buffer, offset - ahead.start);
      if (result.kind === 'record') return result;
      if (result.kind === 'incomplete') frameBytes = result.frameBytes;
    }
    const available = segment.size - offset;
    const handle = await this.readHandle(segment);
    for (let attempt = 0; attempt < 2; attempt += 1) {
      const want = Math.min(Math.max(READ_CHUNK_BYTES, frameBytes ?? FRAME_HEADER_BYTES), available);
      this.readAhead = undefined; // let the old buffer go before the new one is allocated
      const buffer = Buffer.allocUnsafe(want);
      const read = await handle.read(buffer, offset);
      this.readAhead = { segment, start: offset, buffer: buffer.subarray(0, read) };
      const result = decodeRecord(this.readAhead.buffer, 0);
      if (result.kind === 'record') return result;
      if (result.kind === 'corrupt' || result.frameBytes === undefined || read < want) {
        throw new QueueCorruptError(`bridge queue segment ${segment.name}: no valid record at committed offset ${offset}`);
      }
      frameBytes = result.frameBytes;
    }
    throw new QueueCorruptError(`bridge queue segment ${segment.name}: record at ${offset} runs past the committed end`);
  }

  private async readHandle(segment: Segment): Promise<QueueFileHandle> {
    if (this.readFile?.segment === segment) return this.readFile.handle;
    const previous = this.readFile;
    this.readFile = undefined;
    await previous?.handle.close();
    const handle = await this.files.open(path.join(this.dir, segment.name), 'read');
    this.readFile = { segment, handle };
    return handle;
  }

  private applyRewind(): void {
    this.rewindPending = false;
    this.handedOut = [];
    this.handedOutStart = 0;
    // Claimed records not acknowledged went down with the connection: the reader sends them again, in order.
    this.claimed.clear();
    const head = this.normalizeHead();
    this.readPos.segment = head;
    this.readPos.offset = this.head.offset;
  }

  // --- acknowledging ---

  /** Moves the floor over the acknowledged records at the front of what was handed out. Returns whether it moved. */
  private advanceFloor(): boolean {
    const before = this.ackFloor;
    while (this.handedOutStart < this.handedOut.length) {
      const first = this.handedOut[this.handedOutStart] as HandedOut;
      if (!this.ackedAbove.has(first.seq)) break;
      this.ackedAbove.delete(first.seq);
      this.handedOutStart += 1;
      this.ackFloor = first.seq;
      this.consumedBytes += first.frameBytes;
      if (first.segment === this.head.segment) {
        this.head.offset = first.end;
        this.head.recordsBefore += 1;
      } else {
        this.head = { segment: first.segment, offset: first.end, recordsBefore: 1 };
      }
    }
    this.compactHandedOut();
    return this.ackFloor !== before;
  }

  private compactHandedOut(): void {
    if (this.handedOutStart === this.handedOut.length) {
      this.handedOut = [];
      this.handedOutStart = 0;
    } else if (this.handedOutStart > 1024 && this.handedOutStart * 2 > this.handedOut.length) {
      this.handedOut = this.handedOut.slice(this.handedOutStart);
      this.handedOutStart = 0;
    }
  }

  private oldestEnqueuedAt(): number | undefined {
    const first = this.handedOut[this.handedOutStart];
    if (first !== undefined) return first.enqueuedAt;
    const segment = this.head.segment;
    if (segment === undefined || this.liveBytes - this.consumedBytes === 0) return undefined;
    for (const candidate of this.segments.slice(this.segments.indexOf(segment))) {
      if (candidate === segment && this.head.offset >= segment.size) continue;
      if (candidate !== segment || this.head.offset === 0) return candidate.firstEnqueuedAt;
      const ahead = this.readAhead;
      if (ahead?.segment === segment && this.head.offset >= ahead.start) {
        const result = decodeRecord(ahead.buffer, this.head.offset - ahead.start);
        if (result.kind === 'record') return result.entry.enqueuedAt;
      }
      return segment.firstEnqueuedAt;
    }
    return undefined;
  }

  // --- the cursor ---

  private scheduleCursorSave(): void {
    if (this.ackFloor === this.savedFloor || this.closed) return;
    if (this.acksSinceSave >= this.cursorEveryAcks) {
      this.startCursorSave();
    } else if (this.cursorTimer === undefined && Number.isFinite(this.cursorIntervalMs)) {
      this.cursorTimer = setTimeout(() => this.startCursorSave(), this.cursorIntervalMs);
      this.cursorTimer.unref();
    }
  }

  /** Starts saving the cursor in the background; failures go to onError (and the next save tries again). */
  private startCursorSave(): void {
    this.saveCursorNow().catch((error: unknown) => this.options.onError?.(error));
  }

  private saveCursorNow(): Promise<void> {
    clearTimeout(this.cursorTimer);
    this.cursorTimer = undefined;
    if (this.saving) {
      this.saveAgain = true;
      return this.saving;
    }
    const saving = (async () => {
      do {
        this.saveAgain = false;
        const floor = this.ackFloor;
        this.acksSinceSave = 0;
        if (floor !== this.savedFloor) {
          await saveCursor(this.files, this.dir, floor);
          this.savedFloor = floor;
        }
        await this.deleteAcknowledgedSegments();
      } while (this.saveAgain);
    })();
    this.saving = saving;
    return saving.finally(() => {
      if (this.saving === saving) this.saving = undefined;
    });
  }

  /** Deletes the segments the saved cursor covers entirely, never the tail. */
  private async deleteAcknowledgedSegments(): Promise<void> {
    const doomed: Segment[] = [];
    for (;;) {
      const segment = this.segments[0];
      if (segment === undefined || segment === this.segments.at(-1) || segment.lastSeq > this.savedFloor) break;
      if (segment === this.head.segment && this.head.offset < segment.size) break;
      this.segments.shift();
      doomed.push(segment);
      this.liveBytes -= segment.size;
      this.consumedBytes -= segment.size;
      if (this.head.segment === segment) this.head = { segment: this.segments[0], offset: 0, recordsBefore: 0 };
      if (this.readPos.segment === segment) {
        this.readPos.segment = this.segments[0];
        this.readPos.offset = 0;
      }
      if (this.readAhead?.segment === segment) this.readAhead = undefined;
    }
    for (const segment of doomed) await this.files.unlink(path.join(this.dir, segment.name));
  }
}

function effectiveSegmentBytes(options: QueueOptions): number {
  // Disk space comes back a segment at a time, so a segment must be small next to maxBytes for drop_oldest to
  // drop a fraction of the queue rather than all of it.
  return Math.max(1024, Math.min(options.segmentBytes ?? DEFAULT_SEGMENT_BYTES, Math.floor(options.maxBytes / 4)));
}

function validate(options: QueueOptions): void {
  if (!(options.maxBytes > 0)) throw new RangeError(`bridge queue maxBytes must be positive, got ${options.maxBytes}`);
  if (!(options.maxAgeMs > 0)) throw new RangeError(`bridge queue maxAgeMs must be positive, got ${options.maxAgeMs}`);
  if (options.segmentBytes !== undefined && !(options.segmentBytes > 0)) throw new RangeError(`bridge queue segmentBytes must be positive`);
}

function describeFailure(error: unknown): string | undefined {
  if (error === undefined) return undefined;
  return error instanceof Error ? error.message : String(error);
}
