import type { QueueFileHandle } from './files.js';
import { decodeRecord, FRAME_HEADER_BYTES } from './record-codec.js';

/*
 * Segment files: "<seq of the first record written to it, 16 digits>.seg". Names sort in seq order, so the queue is
 * the segments in name order, each a run of records in increasing seq.
 */

const SEGMENT_NAME = /^(\d{16})\.seg$/;

export function segmentName(firstSeq: number): string {
  return `${String(firstSeq).padStart(16, '0')}.seg`;
}

/** The first seq encoded in a segment's name, or undefined if the name is not a segment's. */
export function parseSegmentName(name: string): number | undefined {
  const match = SEGMENT_NAME.exec(name);
  return match?.[1] === undefined ? undefined : Number(match[1]);
}

/** What the queue knows about one segment, kept in memory for every segment (no per-record state). */
export interface Segment {
  readonly name: string;
  /** Bytes of complete records visible to readers: durable per the queue's durability. */
  size: number;
  /** Records in `size`. */
  count: number;
  /** Seq of the last record, or 0 when empty. */
  lastSeq: number;
  firstEnqueuedAt: number | undefined;
  lastEnqueuedAt: number | undefined;
}

export interface ScannedSegment extends Segment {
  /** Torn or corrupt bytes cut off the end. */
  truncatedBytes: number;
  /** Records at the start of the segment that the cursor already covers (seq <= ackedThrough), and their bytes. */
  ackedCount: number;
  ackedBytes: number;
}

/**
 * Reads a segment through in bounded chunks, checking every record, and truncates it (durably) at the first record
 * that is torn, corrupt or out of seq order: after a power cut the unsynced tail of the last write may survive in
 * part. Whatever follows such a record was not acknowledged to anyone under 'fsync' durability.
 */
export async function scanSegment(
  handle: QueueFileHandle,
  name: string,
  afterSeq: number,
  ackedThrough: number,
  chunkBytes: number,
): Promise<ScannedSegment> {
  const fileSize = await handle.size();
  const scanned: ScannedSegment = {
    name, size: 0, count: 0, lastSeq: 0, firstEnqueuedAt: undefined, lastEnqueuedAt: undefined, truncatedBytes: 0, ackedCount: 0, ackedBytes: 0,
  };
  let previousSeq = afterSeq;
  let position = 0;
  let buffer = Buffer.alloc(0);
  let bufferStart = 0;
  scan: while (position < fileSize) {
    let result = decodeRecord(buffer, position - bufferStart);
    // Refill from `position`: a chunk, or the whole record if it is larger (known once its header is in the buffer).
    while (result.kind === 'incomplete' && (bufferStart !== position || buffer.length < fileSize - position)) {
      const want = Math.min(Math.max(chunkBytes, result.frameBytes ?? FRAME_HEADER_BYTES), fileSize - position);
      if (bufferStart === position && want <= buffer.length) break;
      buffer = Buffer.allocUnsafe(want);
      buffer = buffer.subarray(0, await handle.read(buffer, position));
      bufferStart = position;
      result = decodeRecord(buffer, 0);
      if (buffer.length < want) break; // the file is shorter than it said: what is missing is torn
    }
    switch (result.kind) {
      case 'incomplete':
      case 'corrupt':
        break scan;
      case 'record': {
        const { entry, frameBytes } = result;
        if (entry.seq <= previousSeq) break scan;
        previousSeq = entry.seq;
        position += frameBytes;
        scanned.size = position;
        scanned.count += 1;
        scanned.lastSeq = entry.seq;
        scanned.firstEnqueuedAt ??= entry.enqueuedAt;
        scanned.lastEnqueuedAt = entry.enqueuedAt;
        if (entry.seq <= ackedThrough) {
          scanned.ackedCount += 1;
          scanned.ackedBytes += frameBytes;
        }
      }
    }
  }
  if (scanned.size < fileSize) {
    scanned.truncatedBytes = fileSize - scanned.size;
    await handle.truncate(scanned.size);
    await handle.datasync();
  }
  return scanned;
}
