import { describe, expect, it } from 'vitest';
import { decodeDhtFrame } from '../../../src/drivers/dht/dht-frame.js';
import { ChecksumError } from '../../../src/drivers/errors.js';
import { encodeDhtFrame } from '../../../mocks/dht/dht-frame-encoder.js';

describe('decodeDhtFrame', () => {
  it('DHT22 datasheet frame 02 8C 01 5F EE → 65.2 %RH, 35.1 °C', () => {
    expect(decodeDhtFrame([0x02, 0x8c, 0x01, 0x5f, 0xee], 'dht22')).toEqual({ humidity: 65.2, temperature: 35.1 });
  });

  it('DHT22 negative temperature: sign bit, not two’s complement (0x8065 → -10.1 °C)', () => {
    const frame = [0x02, 0x8c, 0x80, 0x65, (0x02 + 0x8c + 0x80 + 0x65) & 0xff];
    expect(decodeDhtFrame(frame, 'dht22')).toEqual({ humidity: 65.2, temperature: -10.1 });
  });

  it('DHT11: integer and tenths bytes, sign in bit 7 of the tenths', () => {
    expect(decodeDhtFrame([0x2d, 0x00, 0x17, 0x00, 0x44], 'dht11')).toEqual({ humidity: 45, temperature: 23 });
    expect(decodeDhtFrame([0x32, 0x00, 0x01, 0x85, 0xb8], 'dht11')).toEqual({ humidity: 50, temperature: -1.5 });
  });

  it('a wrong checksum is a ChecksumError; the sum wraps at 8 bits', () => {
    expect(() => decodeDhtFrame([0x02, 0x8c, 0x01, 0x5f, 0xef], 'dht22')).toThrow(ChecksumError);
    expect(decodeDhtFrame([0x03, 0xe8, 0x00, 0xfa, (0x03 + 0xe8 + 0xfa) & 0xff], 'dht22')).toEqual({ humidity: 100, temperature: 25 });
    expect(() => decodeDhtFrame([1, 2, 3], 'dht22')).toThrow(RangeError);
  });

  it('round-trips the mock encoder at sensor resolution', () => {
    for (const sample of [
      { temperature: 21.5, humidity: 40.2 },
      { temperature: -39.9, humidity: 0 },
      { temperature: 79.9, humidity: 99.9 },
    ]) {
      expect(decodeDhtFrame(encodeDhtFrame(sample, 'dht22'), 'dht22')).toEqual(sample);
    }
    expect(decodeDhtFrame(encodeDhtFrame({ temperature: 21.54, humidity: 40.4 }, 'dht11'), 'dht11')).toEqual({ temperature: 21.5, humidity: 40 });
  });
});
