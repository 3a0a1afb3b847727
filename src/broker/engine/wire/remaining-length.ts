/**
 * MQTT's "Remaining Length" of a fixed header: 1 to 4 bytes of 7 bits, least significant first, the high bit set on
 * every byte but the last.
 */

export const INCOMPLETE = -1;
export const MALFORMED = -2;

/** Bytes needed to encode `value`. */
export function remainingLengthSize(value: number): number {
  return value < 0x80 ? 1 : value < 0x4000 ? 2 : value < 0x200000 ? 3 : 4;
}

/** Writes `value` at `offset`; returns the offset after it. */
export function writeRemainingLength(buffer: Buffer, offset: number, value: number): number {
  do {
    let byte = value % 128;
    value = Math.floor(value / 128);
    if (value > 0) byte |= 0x80;
    buffer[offset++] = byte;
  } while (value > 0);
  return offset;
}

/** The fixed header at `frame` read: where the packet's body starts and how long it is. Reused between calls. */
export interface FrameBounds {
  bodyStart: number;
  bodyLength: number;
}

/**
 * Reads the remaining length of the packet starting at `frame` (its first byte is the packet type) into `bounds`.
 * Returns 0, or INCOMPLETE when `buffer` ends inside it, or MALFORMED for a fifth length byte.
 */
export function readRemainingLength(buffer: Buffer, frame: number, bounds: FrameBounds): number {
  let value = 0;
  let multiplier = 1;
  let cursor = frame + 1;
  for (let i = 0; i < 4; i++) {
    if (cursor >= buffer.length) return INCOMPLETE;
    const byte = buffer[cursor++]!;
    value += (byte & 0x7f) * multiplier;
    multiplier *= 128;
    if ((byte & 0x80) === 0) {
      bounds.bodyStart = cursor;
      bounds.bodyLength = value;
      return 0;
    }
  }
  return MALFORMED;
}
