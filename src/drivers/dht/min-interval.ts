import type { Clock } from '../../util/clock.js';

/** DHT sensors need ~2 s between reads; earlier ones return the previous conversion or fail. */
export const DHT_MIN_INTERVAL_MS = 2000;

export class MinIntervalGate {
  private last: number | undefined;

  constructor(
    private readonly minIntervalMs: number,
    private readonly clock: Clock,
  ) {}

  /** True (and the slot is taken) when enough time has passed since the last accepted read. */
  tryAcquire(): boolean {
    const now = this.clock.now();
    if (this.last !== undefined && now - this.last < this.minIntervalMs) return false;
    this.last = now;
    return true;
  }
}
