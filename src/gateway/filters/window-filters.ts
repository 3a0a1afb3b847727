import type { Filter } from './types.js';

export interface EmitSchedule {
  sendEvery: number;
  sendFirstAt: number;
}

/** Counts samples and says when to emit: first at sample `sendFirstAt`, then every `sendEvery` samples. */
class Cadence {
  private count: number;
  constructor(private readonly schedule: EmitSchedule) {
    this.count = schedule.sendEvery - schedule.sendFirstAt;
  }
  due(): boolean {
    this.count += 1;
    if (this.count < this.schedule.sendEvery) return false;
    this.count = 0;
    return true;
  }
  reset(): void {
    this.count = this.schedule.sendEvery - this.schedule.sendFirstAt;
  }
}

abstract class SlidingWindowFilter implements Filter {
  abstract readonly name: string;
  private readonly window: number[] = [];
  private readonly cadence: Cadence;

  constructor(
    private readonly windowSize: number,
    private readonly schedule: EmitSchedule,
  ) {
    this.cadence = new Cadence(schedule);
  }

  protected abstract aggregate(values: readonly number[]): number;

  push(value: number): number | undefined {
    this.window.push(value);
    if (this.window.length > this.windowSize) this.window.shift();
    return this.cadence.due() ? this.aggregate(this.window) : undefined;
  }

  maxOutputGap(inputGapMs: number | undefined): number | undefined {
    return inputGapMs === undefined ? undefined : inputGapMs * this.schedule.sendEvery;
  }

  reset(): void {
    this.window.length = 0;
    this.cadence.reset();
  }
}

export class MedianFilter extends SlidingWindowFilter {
  readonly name = 'median';
  protected aggregate(values: readonly number[]): number {
    const sorted = [...values].sort((a, b) => a - b);
    const middle = Math.floor(sorted.length / 2);
    // Non-empty: aggregate runs right after a push.
    return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
  }
}

export class MovingAverageFilter extends SlidingWindowFilter {
  constructor(
    readonly name: 'moving_average' | 'sliding_window_moving_average',
    windowSize: number,
    schedule: EmitSchedule,
  ) {
    super(windowSize, schedule);
  }
  protected aggregate(values: readonly number[]): number {
    return values.reduce((sum, v) => sum + v, 0) / values.length;
  }
}

export class ExponentialMovingAverageFilter implements Filter {
  readonly name = 'exponential_moving_average';
  private average: number | undefined;
  private readonly cadence: Cadence;

  constructor(
    private readonly alpha: number,
    private readonly schedule: EmitSchedule,
  ) {
    this.cadence = new Cadence(schedule);
  }

  push(value: number): number | undefined {
    this.average = this.average === undefined ? value : this.alpha * value + (1 - this.alpha) * this.average;
    return this.cadence.due() ? this.average : undefined;
  }

  maxOutputGap(inputGapMs: number | undefined): number | undefined {
    return inputGapMs === undefined ? undefined : inputGapMs * this.schedule.sendEvery;
  }

  reset(): void {
    this.average = undefined;
    this.cadence.reset();
  }
}
