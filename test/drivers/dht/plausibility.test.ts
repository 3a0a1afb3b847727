import { describe, expect, it } from 'vitest';
import { DhtPlausibilityFilter } from '../../../src/drivers/dht/plausibility.js';
import { ImplausibleReadingError } from '../../../src/drivers/errors.js';

describe('DhtPlausibilityFilter', () => {
  it('rejects 0.0/0.0, humidity > 100 and out-of-range temperatures', () => {
    const f = new DhtPlausibilityFilter('dht22', 'dht-gpio4');
    expect(() => f.check({ temperature: 0, humidity: 0 }, 0)).toThrow(ImplausibleReadingError);
    expect(() => f.check({ temperature: 20, humidity: 100.1 }, 0)).toThrow(/humidity/);
    expect(() => f.check({ temperature: 80.1, humidity: 50 }, 0)).toThrow(/-40..80/);
    expect(() => f.check({ temperature: -40.1, humidity: 50 }, 0)).toThrow(ImplausibleReadingError);
    expect(f.check({ temperature: -40, humidity: 100 }, 0)).toEqual({ temperature: -40, humidity: 100 });
    expect(f.check({ temperature: 0, humidity: 50 }, 0)).toEqual({ temperature: 0, humidity: 50 });
    expect(() => new DhtPlausibilityFilter('dht11', 'x').check({ temperature: 61, humidity: 50 }, 0)).toThrow(/-20..60/);
  });

  it('rejects a sudden doubling, accepts it once confirmed, forgets an old baseline', () => {
    const f = new DhtPlausibilityFilter('dht22', 'dht-gpio4', { confirmations: 3, maxAgeMs: 60_000 });
    f.check({ temperature: 21.3, humidity: 40 }, 0);
    expect(() => f.check({ temperature: 42.6, humidity: 40 }, 2000)).toThrow(/doubling/);
    expect(() => f.check({ temperature: 21.3, humidity: 80.2 }, 4000)).toThrow(/doubling/);
    expect(f.check({ temperature: 21.4, humidity: 40.1 }, 6000).temperature).toBe(21.4);
    expect(() => f.check({ temperature: 42.8, humidity: 40 }, 8000)).toThrow(ImplausibleReadingError);
    expect(() => f.check({ temperature: 42.8, humidity: 40 }, 10_000)).toThrow(ImplausibleReadingError);
    expect(f.check({ temperature: 42.8, humidity: 40 }, 12_000).temperature).toBe(42.8);
    expect(f.check({ temperature: 21.4, humidity: 40 }, 100_000).temperature).toBe(21.4);
  });
});
