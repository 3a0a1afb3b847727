import type { Filter } from './types.js';

/**
 * An ordered chain of filters for one sensor channel. A sample enters at the first filter and is published only when
 * it leaves the last one. Time-driven filters (heartbeat) inject their value at their own position on tick().
 *
 * Non-finite samples (NaN, ±Infinity: a failed conversion) are dropped before the first filter.
 */
export class FilterPipeline {
  constructor(private readonly filters: readonly Filter[]) {}

  get length(): number {
    return this.filters.length;
  }

  /** Names of the filters in order, for logs. */
  describe(): string[] {
    return this.filters.map((f) => f.name);
  }

  /** Feed one sample; returns the value to publish, or `undefined` when a filter dropped it. */
  push(value: number, now: number): number | undefined {
    if (!Number.isFinite(value)) return undefined;
    return this.run(value, now, 0);
  }

  /**
   * Is a heartbeat due? Returns the value to publish at `now` when a time-driven filter emits, else `undefined`.
   * Safe to call as often as wanted; call it at least at nextTickAt().
   */
  tick(now: number): number | undefined {
    let published: number | undefined;
    for (let i = 0; i < this.filters.length; i++) {
      const emitted = this.filters[i]!.tick?.(now);
      if (emitted === undefined) continue;
      const out = this.run(emitted, now, i + 1);
      if (out !== undefined) published = out;
    }
    return published;
  }

  /** The earliest time at which tick() may publish something, `undefined` when no heartbeat is pending. */
  nextTickAt(): number | undefined {
    let earliest: number | undefined;
    for (const filter of this.filters) {
      const at = filter.nextTickAt?.();
      if (at !== undefined && (earliest === undefined || at < earliest)) earliest = at;
    }
    return earliest;
  }

  /**
   * Upper bound of the time between two published values when the sensor is read every `readIntervalMs`;
   * `undefined` when a filter may hold values back indefinitely (delta, reject, filter_out without a heartbeat after it).
   */
  maxPublishGap(readIntervalMs: number): number | undefined {
    return this.filters.reduce<number | undefined>((gap, filter) => filter.maxOutputGap(gap), readIntervalMs);
  }

  reset(): void {
    for (const filter of this.filters) filter.reset();
  }

  private run(value: number, now: number, from: number): number | undefined {
    let current: number | undefined = value;
    for (let i = from; i < this.filters.length && current !== undefined; i++) {
      current = this.filters[i]!.push(current, now);
    }
    return current;
  }
}
