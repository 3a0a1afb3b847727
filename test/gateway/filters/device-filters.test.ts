import { describe, expect, it } from 'vitest';
import { DeviceFilters } from '../../../src/gateway/filters/device-filters.js';
import { FilterConfigError } from '../../../src/gateway/filters/errors.js';

describe('DeviceFilters', () => {
  const make = () =>
    new DeviceFilters({
      temperature: [{ round: 1 }, { delta: 0.2 }, { heartbeat: 60 }],
      humidity: [{ round: 0 }],
    });

  it('filters each channel and merges the last published values into the state', () => {
    const filters = make();
    expect(filters.push({ temperature: 21.04, humidity: 40.4, pressure: 1013.2 }, 0)).toEqual({
      changed: { temperature: 21, humidity: 40, pressure: 1013.2 },
      state: { temperature: 21, humidity: 40, pressure: 1013.2 },
    });
    expect(filters.push({ temperature: 21.1, humidity: 41.2, pressure: NaN }, 10_000)).toEqual({
      changed: { humidity: 41 },
      state: { temperature: 21, humidity: 41, pressure: 1013.2 },
    });
  });

  it('returns undefined when no channel emitted', () => {
    const filters = new DeviceFilters({ temperature: [{ delta: 1 }] });
    filters.push({ temperature: 20 }, 0);
    expect(filters.push({ temperature: 20.5 }, 1)).toBeUndefined();
  });

  it('reports heartbeats through tick and schedules the next one', () => {
    const filters = make();
    filters.push({ temperature: 21, humidity: 40 }, 0);
    expect(filters.nextTickAt()).toBe(60_000);
    expect(filters.tick(30_000)).toBeUndefined();
    expect(filters.tick(60_000)).toEqual({ changed: { temperature: 21 }, state: { temperature: 21, humidity: 40 } });
  });

  it('estimates per-channel publish gaps', () => {
    const filters = make();
    expect(filters.maxPublishGap('temperature', 10_000)).toBe(60_000);
    expect(filters.maxPublishGap('humidity', 10_000)).toBe(10_000);
    expect(filters.maxPublishGap('unfiltered', 10_000)).toBe(10_000);
    expect(new DeviceFilters({ temperature: [{ delta: 0.5 }] }).maxPublishGap('temperature', 10_000)).toBeUndefined();
  });

  it('names the channel of a bad filter', () => {
    expect(() => new DeviceFilters({ humidity: [{ round: -1 }] })).toThrow(FilterConfigError);
    expect(() => new DeviceFilters({ humidity: [{ round: -1 }] })).toThrow(/channel humidity: filter #1 \(round\)/);
  });

  it('reset clears filters and state', () => {
    const filters = make();
    filters.push({ temperature: 21 }, 0);
    filters.reset();
    expect(filters.state()).toEqual({});
    expect(filters.tick(1e9)).toBeUndefined();
  });
});
