import type { QueueFiles } from './files.js';

/** A message the bridge forwards to the cloud, as the local bus delivered it. */
export interface QueuedMessage {
  topic: string;
  payload: Buffer;
  qos: 0 | 1 | 2;
  retain: boolean;
  /** ms epoch */
  enqueuedAt: number;
}

export interface QueueEntry extends QueuedMessage {
  /** Monotonically increasing across restarts: a seq once handed out by append() is never handed out again. */
  seq: number;
}

export type QueueDropReason = 'full' | 'age';

export interface QueueOptions {
  /** The bridge's own directory under the state dir; created 0700. */
  dir: string;
  /**
   * Bound on the disk bytes of unacknowledged records (including appends being written). Disk space is only given
   * back a whole segment at a time, so with `drop_oldest` the oldest whole segment is dropped.
   */
  maxBytes: number;
  /**
   * Older unacknowledged records are dropped (counted, reason 'age'): whole segments whose newest record is too old,
   * at append() and next() time, and single records that next() meets on its way (they are never handed out).
   */
  maxAgeMs: number;
  /** refuse: append() rejects with QueueFullError and the bridge drops (and counts) that message. */
  onFull: 'drop_oldest' | 'refuse';
  /** fsync: append() resolves after the fdatasync of its batch (survives a power cut); write: after write(2) (survives a crash). */
  durability: 'fsync' | 'write';
  /** A segment is closed and a new one started once it reaches this size. Default 4 MiB. */
  segmentBytes?: number;
  /** Largest encoded record accepted; larger appends reject with RecordTooLargeError. Default 4 MiB. */
  maxRecordBytes?: number;
  /** The persisted ack cursor is saved after this many acks or this long after an ack, whichever comes first. */
  cursorSave?: { everyAcks?: number; intervalMs?: number };
  /** Injected file interface; default: node:fs/promises. */
  files?: QueueFiles;
  clock?: { now(): number };
  /** The bridge logs and counts. */
  onDrop?(count: number, reason: QueueDropReason): void;
  /** A background failure (saving the cursor, deleting a segment); the queue keeps going, the bridge logs it. */
  onError?(error: unknown): void;
}

export interface QueueStats {
  /** Records neither acknowledged nor dropped (including appends not yet durable). */
  depth: number;
  /** Disk bytes from the oldest unacknowledged record on, plus appends being written. */
  bytes: number;
  /**
   * Age of the oldest unacknowledged record. Exact when it has been handed out or starts a segment; otherwise the
   * age of its segment's first record (an upper bound), to avoid a disk read for a statistic.
   */
  oldestAgeMs: number | undefined;
  appended: number;
  acknowledged: number;
  dropped: number;
  /** Appends rejected with QueueFullError (onFull: 'refuse'). */
  refused: number;
  /**
   * Why the writer broke (a failed write or fdatasync), or undefined while appends are written. Once set, every
   * append is refused until the queue is reopened, which the bridge does by itself (reopening-queue.ts).
   */
  writeFailure: string | undefined;
  /** How long the write (or sync) under way has taken so far; undefined when none is under way. */
  writeInProgressMs: number | undefined;
}

/** What the queue itself holds in memory, for tests and the bench: must stay bounded whatever the backlog. */
export interface QueueMemory {
  /** Read-ahead buffer plus the batch being written. */
  bufferedBytes: number;
  /** Handed out by next(), not yet behind the ack floor (seq numbers and positions only, no payloads). */
  handedOut: number;
  /** Acknowledged out of order, above the ack floor. */
  ackedAboveFloor: number;
  /** Claimed by the sender out of order and not yet passed by the reader. */
  claimed: number;
  /** Positions of recently committed records (no payloads). */
  recentRecords: number;
}
