import { crc32 } from 'node:zlib';
import type { QueueEntry } from './types.js';

/*
 * One record on disk:
 *
 *   u32 LE  body length
 *   u32 LE  CRC-32 of the 4 length bytes followed by the body (so a corrupt length is caught too)
 *   body:   u64 LE seq, u64 LE enqueuedAt (ms epoch), u8 flags (bits 0-1 qos, bit 2 retain),
 *           u16 LE topic length, topic (UTF-8), payload (the rest)
 *
 * Records are only ever appended, so a power cut can leave a torn record at the end of a segment: its length points
 * past the end of the file (incomplete) or its CRC does not match (corrupt). Recovery truncates the segment there.
 */

export const FRAME_HEADER_BYTES = 8;
const BODY_FIXED_BYTES = 8 + 8 + 1 + 2;
/** Sanity limit for a length read from disk: anything above is garbage, not a record. */
const MAX_SANE_BODY_BYTES = 256 * 1024 * 1024;
const MAX_TOPIC_BYTES = 0xffff;

export function encodedRecordBytes(topic: string, payload: Buffer): number {
  return FRAME_HEADER_BYTES + BODY_FIXED_BYTES + Buffer.byteLength(topic, 'utf8') + payload.length;
}

export function encodeRecord(entry: QueueEntry): Buffer {
  const topicBytes = Buffer.byteLength(entry.topic, 'utf8');
  if (topicBytes > MAX_TOPIC_BYTES) throw new RangeError(`topic of ${topicBytes} bytes is longer than MQTT allows`);
  const bodyBytes = BODY_FIXED_BYTES + topicBytes + entry.payload.length;
  const frame = Buffer.allocUnsafe(FRAME_HEADER_BYTES + bodyBytes);
  frame.writeUInt32LE(bodyBytes, 0);
  let at = FRAME_HEADER_BYTES;
  frame.writeBigUInt64LE(BigInt(entry.seq), at);
  at += 8;
  frame.writeBigUInt64LE(BigInt(entry.enqueuedAt), at);
  at += 8;
  frame.writeUInt8((entry.qos & 0b11) | (entry.retain ? 0b100 : 0), at);
  at += 1;
  frame.writeUInt16LE(topicBytes, at);
  at += 2;
  at += frame.write(entry.topic, at, 'utf8');
  entry.payload.copy(frame, at);
  frame.writeUInt32LE(frameCrc(frame, bodyBytes), 4);
  return frame;
}

function frameCrc(frame: Buffer, bodyBytes: number): number {
  return crc32(frame.subarray(FRAME_HEADER_BYTES, FRAME_HEADER_BYTES + bodyBytes), crc32(frame.subarray(0, 4)));
}

export type DecodeResult =
  | { kind: 'record'; entry: QueueEntry; frameBytes: number }
  /** The buffer ends inside the record: `frameBytes` is its full size if the header was complete. */
  | { kind: 'incomplete'; frameBytes: number | undefined }
  | { kind: 'corrupt'; reason: string };

/**
 * Decodes the record starting at `offset`. The payload is copied out, so that an entry the caller keeps does not
 * pin the whole read buffer.
 */
export function decodeRecord(buffer: Buffer, offset: number): DecodeResult {
  if (buffer.length - offset < FRAME_HEADER_BYTES) return { kind: 'incomplete', frameBytes: undefined };
  const bodyBytes = buffer.readUInt32LE(offset);
  if (bodyBytes < BODY_FIXED_BYTES || bodyBytes > MAX_SANE_BODY_BYTES) return { kind: 'corrupt', reason: `body length ${bodyBytes}` };
  const frameBytes = FRAME_HEADER_BYTES + bodyBytes;
  if (buffer.length - offset < frameBytes) return { kind: 'incomplete', frameBytes };
  const frame = buffer.subarray(offset, offset + frameBytes);
  if (frame.readUInt32LE(4) !== frameCrc(frame, bodyBytes)) return { kind: 'corrupt', reason: 'CRC mismatch' };
  let at = FRAME_HEADER_BYTES;
  const seq = Number(frame.readBigUInt64LE(at));
  at += 8;
  const enqueuedAt = Number(frame.readBigUInt64LE(at));
  at += 8;
  const flags = frame.readUInt8(at);
  at += 1;
  const topicBytes = frame.readUInt16LE(at);
  at += 2;
  if (at + topicBytes > frameBytes) return { kind: 'corrupt', reason: `topic length ${topicBytes}` };
  const qos = flags & 0b11;
  if (qos === 3 || flags > 0b111) return { kind: 'corrupt', reason: `flags ${flags}` };
  const topic = frame.toString('utf8', at, at + topicBytes);
  at += topicBytes;
  const payload = Buffer.from(frame.subarray(at));
  return { kind: 'record', entry: { seq, enqueuedAt, qos: qos as 0 | 1 | 2, retain: (flags & 0b100) !== 0, topic, payload }, frameBytes };
}
