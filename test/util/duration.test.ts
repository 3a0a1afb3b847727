import { describe, expect, it } from 'vitest';
import { parseDuration } from '../../src/util/duration.js';

describe('parseDuration', () => {
  it('reads seconds and unit strings', () => {
    expect(parseDuration(1.5)).toBe(1500);
    expect(parseDuration('250ms')).toBe(250);
    expect(parseDuration('10s')).toBe(10_000);
    expect(parseDuration('5min')).toBe(300_000);
    expect(parseDuration('2h')).toBe(7_200_000);
    expect(parseDuration('7d')).toBe(604_800_000);
    expect(() => parseDuration('0s')).toThrow(RangeError);
    expect(() => parseDuration(-1)).toThrow(RangeError);
  });
});
