import type { DhtModel, DhtSample } from '../../src/drivers/types.js';

/** What a DHT puts on the wire for a sample: the inverse of decodeDhtFrame, at the sensor's resolution. */
export function encodeDhtFrame(sample: DhtSample, model: DhtModel): number[] {
  let bytes: number[];
  if (model === 'dht22') {
    const h = Math.round(Math.min(100, Math.max(0, sample.humidity)) * 10);
    const t = Math.round(Math.abs(sample.temperature) * 10) & 0x7fff;
    const tw = sample.temperature < 0 && t !== 0 ? t | 0x8000 : t;
    bytes = [h >> 8, h & 0xff, tw >> 8, tw & 0xff];
  } else {
    const h = Math.round(Math.min(100, Math.max(0, sample.humidity)));
    const tenths = Math.round(Math.abs(sample.temperature) * 10);
    const negative = sample.temperature < 0 && tenths !== 0;
    bytes = [h, 0, Math.floor(tenths / 10), (tenths % 10) | (negative ? 0x80 : 0)];
  }
  return [...bytes, bytes.reduce((sum, b) => sum + b, 0) & 0xff];
}
