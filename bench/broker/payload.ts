/**
 * 100-byte JSON payloads with fixed-width fields, so the receiver reads them at fixed offsets instead of JSON.parse:
 * {"p":"03","s":"0000012345","t":"0000012345678901","d":"xxx…"}
 * p: publisher, s: sequence number, t: send time in µs (performance.now, same process as the receiver).
 */
export const PAYLOAD_BYTES = 100;
const HEAD = '{"p":"';
const P_AT = HEAD.length; // 6
const S_AT = P_AT + 2 + '","s":"'.length; // 15
const T_AT = S_AT + 10 + '","t":"'.length; // 32
const D_AT = T_AT + 16 + '","d":"'.length; // 55
const TEMPLATE = Buffer.from(
  `${HEAD}00","s":"0000000000","t":"0000000000000000","d":"${'x'.repeat(PAYLOAD_BYTES - D_AT - 2)}"}`,
  'latin1',
);
if (TEMPLATE.length !== PAYLOAD_BYTES) throw new Error(`payload template is ${TEMPLATE.length} bytes`);

export function nowMicros(): number {
  return Math.round(performance.now() * 1000);
}

export function encodePayload(publisher: number, seq: number, sentMicros: number): Buffer {
  const out = Buffer.allocUnsafe(PAYLOAD_BYTES);
  TEMPLATE.copy(out);
  writeDigits(out, P_AT, 2, publisher);
  writeDigits(out, S_AT, 10, seq);
  writeDigits(out, T_AT, 16, sentMicros);
  return out;
}

export interface Decoded {
  publisher: number;
  seq: number;
  sentMicros: number;
}

/** Decodes into `into` (no allocation per message); false if this is not one of our payloads. */
export function decodePayload(payload: Buffer, into: Decoded): boolean {
  if (payload.length !== PAYLOAD_BYTES || payload[0] !== 0x7b) return false;
  into.publisher = readDigits(payload, P_AT, 2);
  into.seq = readDigits(payload, S_AT, 10);
  into.sentMicros = readDigits(payload, T_AT, 16);
  return true;
}

function writeDigits(out: Buffer, at: number, width: number, value: number): void {
  for (let i = at + width - 1; i >= at; i--) {
    out[i] = 48 + (value % 10);
    value = Math.floor(value / 10);
  }
}

function readDigits(buf: Buffer, at: number, width: number): number {
  let value = 0;
  for (let i = at; i < at + width; i++) value = value * 10 + (buf[i]! - 48);
  return value;
}
