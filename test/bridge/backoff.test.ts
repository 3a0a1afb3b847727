import { describe, expect, it } from 'vitest';
import { Backoff } from '../../src/bridge/backoff.js';

describe('Backoff (restart_timeout)', () => {
  it('waits a constant for a single value', () => {
    const backoff = new Backoff(7);
    expect([backoff.next(), backoff.next(), backoff.next()]).toEqual([7000, 7000, 7000]);
  });

  it('draws each wait between base and three times the last, capped', () => {
    const highest = new Backoff([5, 30], () => 1);
    expect([highest.next(), highest.next(), highest.next()]).toEqual([15_000, 30_000, 30_000]);
    const lowest = new Backoff([5, 30], () => 0);
    expect([lowest.next(), lowest.next()]).toEqual([5000, 5000]);
  });

  it('stays within [base, cap] whatever the draws', () => {
    let seed = 42;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const backoff = new Backoff([2, 60], random);
    for (let i = 0; i < 1000; i++) {
      const wait = backoff.next();
      expect(wait).toBeGreaterThanOrEqual(2000);
      expect(wait).toBeLessThanOrEqual(60_000);
    }
  });

  it('starts over after a connection that lasted the stable time, not after a shorter one', () => {
    const backoff = new Backoff([5, 30, 60], () => 1);
    backoff.next();
    backoff.next();
    backoff.connectionLasted(10_000);
    expect(backoff.next()).toBe(30_000);
    backoff.connectionLasted(60_000);
    expect(backoff.next()).toBe(15_000);
  });
});
