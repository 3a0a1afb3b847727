import type { Filter } from './types.js';

/** Pass a value only when it differs from the last passed value by at least `threshold` (absolute or percent). */
export class DeltaFilter implements Filter {
  readonly name = 'delta';
  private last: number | undefined;

  constructor(
    private readonly threshold: number,
    private readonly percent: boolean,
  ) {}

  push(value: number): number | undefined {
    const last = this.last;
    if (last === undefined) {
      this.last = value;
      return value;
    }
    const change = Math.abs(value - last);
    const limit = this.percent ? (Math.abs(last) * this.threshold) / 100 : this.threshold;
    // Tolerate float noise so that 20.0 → 20.2 counts as a change of 0.2.
    const tolerance = 1e-9 * Math.max(Math.abs(value), Math.abs(last), limit);
    if (change === 0 || change < limit - tolerance) return undefined;
    this.last = value;
    return value;
  }

  maxOutputGap(): undefined {
    return undefined;
  }

  reset(): void {
    this.last = undefined;
  }
}

/** Pass at most one value per `periodMs`; values arriving sooner are dropped. */
export class ThrottleFilter implements Filter {
  readonly name = 'throttle';
  private lastPassedAt: number | undefined;

  constructor(private readonly periodMs: number) {}

  push(value: number, now: number): number | undefined {
    if (this.lastPassedAt !== undefined && now - this.lastPassedAt < this.periodMs) return undefined;
    this.lastPassedAt = now;
    return value;
  }

  maxOutputGap(inputGapMs: number | undefined): number | undefined {
    return inputGapMs === undefined ? undefined : inputGapMs + this.periodMs;
  }

  reset(): void {
    this.lastPassedAt = undefined;
  }
}

/**
 * Passes every value through, and when nothing passed for `periodMs`, tick() re-emits the last value. The sensor loop
 * calls the pipeline's tick(now) on its schedule, at the latest at nextTickAt().
 */
export class HeartbeatFilter implements Filter {
  readonly name = 'heartbeat';
  private last: number | undefined;
  private lastEmittedAt = 0;

  constructor(private readonly periodMs: number) {}

  push(value: number, now: number): number {
    this.last = value;
    this.lastEmittedAt = now;
    return value;
  }

  tick(now: number): number | undefined {
    if (this.last === undefined || now - this.lastEmittedAt < this.periodMs) return undefined;
    this.lastEmittedAt = now;
    return this.last;
  }

  nextTickAt(): number | undefined {
    return this.last === undefined ? undefined : this.lastEmittedAt + this.periodMs;
  }

  maxOutputGap(inputGapMs: number | undefined): number {
    return inputGapMs === undefined ? this.periodMs : Math.min(inputGapMs, this.periodMs);
  }

  reset(): void {
    this.last = undefined;
    this.lastEmittedAt = 0;
  }
}
