import type { Filter } from './types.js';

/** Filters that look at one sample at a time and keep no history. */
abstract class StatelessFilter implements Filter {
  abstract readonly name: string;
  abstract push(value: number, now: number): number | undefined;
  maxOutputGap(inputGapMs: number | undefined): number | undefined {
    return inputGapMs;
  }
  reset(): void {}
}

/** Round half away from zero to `decimals` places; 1.005 → 1.01 despite its binary representation. */
export function roundHalfAwayFromZero(value: number, decimals: number): number {
  const factor = 10 ** decimals;
  const scaled = Math.abs(value) * factor;
  // Nudge by one ulp so values whose decimal form ends in 5 but are stored just below it round up.
  const rounded = (Math.sign(value) * Math.round(scaled * (1 + Number.EPSILON))) / factor;
  return rounded === 0 ? 0 : rounded;
}

export class RoundFilter extends StatelessFilter {
  readonly name = 'round';
  constructor(private readonly decimals: number) {
    super();
  }
  push(value: number): number {
    return roundHalfAwayFromZero(value, this.decimals);
  }
}

export class OffsetFilter extends StatelessFilter {
  readonly name = 'offset';
  constructor(private readonly offset: number) {
    super();
  }
  push(value: number): number {
    return value + this.offset;
  }
}

export class MultiplyFilter extends StatelessFilter {
  readonly name = 'multiply';
  constructor(private readonly factor: number) {
    super();
  }
  push(value: number): number {
    return value * this.factor;
  }
}

/** y = slope · x + intercept, fitted by least squares over (measured, true) points. */
export class LinearCalibrationFilter extends StatelessFilter {
  readonly name = 'calibrate_linear';
  constructor(
    readonly slope: number,
    readonly intercept: number,
  ) {
    super();
  }
  push(value: number): number {
    return value * this.slope + this.intercept;
  }
}

/** Least-squares line through `points` ([x, y] pairs). Throws RangeError when the x values do not vary. */
export function fitLine(points: readonly (readonly [number, number])[]): { slope: number; intercept: number } {
  if (points.length < 2) throw new RangeError('at least two points are needed');
  const n = points.length;
  const meanX = points.reduce((sum, [x]) => sum + x, 0) / n;
  const meanY = points.reduce((sum, [, y]) => sum + y, 0) / n;
  let sxx = 0;
  let sxy = 0;
  for (const [x, y] of points) {
    sxx += (x - meanX) ** 2;
    sxy += (x - meanX) * (y - meanY);
  }
  if (sxx === 0) throw new RangeError('the measured values must not all be equal');
  const slope = sxy / sxx;
  return { slope, intercept: meanY - slope * meanX };
}

export class ClampFilter extends StatelessFilter {
  readonly name = 'clamp';
  constructor(
    private readonly min: number,
    private readonly max: number,
    private readonly reject: boolean,
  ) {
    super();
  }
  push(value: number): number | undefined {
    if (value >= this.min && value <= this.max) return value;
    if (this.reject) return undefined;
    return value < this.min ? this.min : this.max;
  }
  override maxOutputGap(inputGapMs: number | undefined): number | undefined {
    return this.reject ? undefined : inputGapMs;
  }
}

export class FilterOutFilter extends StatelessFilter {
  readonly name = 'filter_out';
  private readonly values: ReadonlySet<number>;
  constructor(values: readonly number[]) {
    super();
    this.values = new Set(values);
  }
  push(value: number): number | undefined {
    return this.values.has(value) ? undefined : value;
  }
  override maxOutputGap(): undefined {
    return undefined;
  }
}
