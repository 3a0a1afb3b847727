import { ChecksumError } from '../errors.js';
import type { DhtModel, DhtSample } from '../types.js';

/**
 * Decode the 40-bit DHT answer: humidity (2 bytes), temperature (2 bytes), checksum = low byte of the sum of the
 * first four. DHT22/AM2302: 16-bit values in tenths, temperature sign in bit 15 (not two's complement).
 * DHT11: integer byte + tenths byte; newer parts put a sign in bit 7 of the temperature tenths.
 */
export function decodeDhtFrame(bytes: ArrayLike<number>, model: DhtModel, device = `dht:${model}`): DhtSample {
  if (bytes.length !== 5) throw new RangeError(`a DHT frame has 5 bytes, got ${bytes.length}`);
  const [b0, b1, b2, b3, b4] = Array.from(bytes, (b) => b & 0xff) as [number, number, number, number, number];
  const sum = (b0 + b1 + b2 + b3) & 0xff;
  if (sum !== b4) throw new ChecksumError(device, `frame checksum 0x${b4.toString(16)} != 0x${sum.toString(16)}`);
  if (model === 'dht22') {
    const t = (b2 << 8) | b3;
    const magnitude = (t & 0x7fff) / 10;
    return { humidity: ((b0 << 8) | b1) / 10, temperature: t & 0x8000 ? -magnitude : magnitude };
  }
  const magnitude = b2 + (b3 & 0x7f) / 10;
  return { humidity: b0 + b1 / 10, temperature: b3 & 0x80 ? -magnitude : magnitude };
}
