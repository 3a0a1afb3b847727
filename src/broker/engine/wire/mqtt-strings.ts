import { isUtf8 } from 'node:buffer';

/**
 * A packet that breaks a MUST of MQTT 3.1.1 whose answer is closing the connection (§4.8). Emitted as the parser's
 * error, so aedes closes the connection and reports it; the broker counts these by name.
 */
export class ProtocolViolation extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ProtocolViolation';
  }
}

const SUBSCRIBE = 8;
const UNSUBSCRIBE = 10;

/**
 * Why the UTF-8 string in `buffer[start, end)` is not allowed in MQTT, or undefined: MQTT-1.5.3-1 (well-formed UTF-8,
 * no surrogates) and MQTT-1.5.3-2 (no U+0000). Decoding with toString('utf8') would replace bad bytes with U+FFFD, and
 * two different topics would arrive as one. ASCII, nearly every topic, is checked without allocating.
 */
export function mqttStringProblem(buffer: Buffer, start: number, end: number): string | undefined {
  let ascii = true;
  for (let i = start; i < end; i++) {
    const byte = buffer[i]!;
    if (byte === 0) return 'U+0000 in a UTF-8 string (MQTT-1.5.3-2)';
    if (byte >= 0x80) ascii = false;
  }
  if (!ascii && !isUtf8(buffer.subarray(start, end))) return 'invalid UTF-8 in a string (MQTT-1.5.3-1)';
  return undefined;
}

/** The topic filters of a SUBSCRIBE or UNSUBSCRIBE (MQTT 3.1.1) body `buffer[start, end)`, checked as above. */
export function filtersProblem(type: number, buffer: Buffer, start: number, end: number): string | undefined {
  if (type !== SUBSCRIBE && type !== UNSUBSCRIBE) return undefined;
  // Past the packet identifier; each filter is a length-prefixed string, followed by a QoS byte in a SUBSCRIBE.
  let offset = start + 2;
  while (offset + 2 <= end) {
    const length = buffer.readUInt16BE(offset);
    const filterEnd = offset + 2 + length;
    // A truncated filter is mqtt-packet's to refuse, with its own message.
    if (filterEnd > end) return undefined;
    const problem = mqttStringProblem(buffer, offset + 2, filterEnd);
    if (problem) return `topic filter: ${problem}`;
    offset = filterEnd + (type === SUBSCRIBE ? 1 : 0);
  }
  return undefined;
}
