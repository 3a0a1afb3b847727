import { describe, expect, it } from 'vitest';
import { INCOMPLETE, MALFORMED, readRemainingLength, remainingLengthSize, writeRemainingLength } from '../../../../src/broker/engine/wire/remaining-length.js';

describe('remaining length', () => {
  for (const [value, bytes] of [
    [0, [0x00]],
    [127, [0x7f]],
    [128, [0x80, 0x01]],
    [16_383, [0xff, 0x7f]],
    [16_384, [0x80, 0x80, 0x01]],
    [2_097_151, [0xff, 0xff, 0x7f]],
    [2_097_152, [0x80, 0x80, 0x80, 0x01]],
    [268_435_455, [0xff, 0xff, 0xff, 0x7f]],
  ] as const) {
    it(`encodes and reads back ${value} as the spec's table has it`, () => {
      const out = Buffer.alloc(1 + remainingLengthSize(value));
      expect(writeRemainingLength(out, 1, value)).toBe(out.length);
      expect([...out.subarray(1)]).toEqual(bytes);
      const bounds = { bodyStart: 0, bodyLength: 0 };
      expect(readRemainingLength(out, 0, bounds)).toBe(0);
      expect(bounds).toEqual({ bodyStart: out.length, bodyLength: value });
    });
  }

  it('says when the buffer ends inside the length, and when a fifth byte would be needed', () => {
    const bounds = { bodyStart: 0, bodyLength: 0 };
    expect(readRemainingLength(Buffer.from([0x30]), 0, bounds)).toBe(INCOMPLETE);
    expect(readRemainingLength(Buffer.from([0x30, 0x80, 0x80]), 0, bounds)).toBe(INCOMPLETE);
    expect(readRemainingLength(Buffer.from([0x30, 0xff, 0xff, 0xff, 0xff, 0x01]), 0, bounds)).toBe(MALFORMED);
  });
});
