import { FilterConfigError } from './errors.js';
import { FilterPipeline } from './pipeline.js';
import { DeltaFilter, HeartbeatFilter, ThrottleFilter } from './time-filters.js';
import type { Filter, FilterName, FilterSpec } from './types.js';
import { ClampFilter, FilterOutFilter, LinearCalibrationFilter, MultiplyFilter, OffsetFilter, RoundFilter, fitLine } from './value-filters.js';
import type { EmitSchedule } from './window-filters.js';
import { ExponentialMovingAverageFilter, MedianFilter, MovingAverageFilter } from './window-filters.js';
import { parseDuration } from '../../util/duration.js';

const MAX_DECIMALS = 10;
const MAX_WINDOW = 1000;
const DEFAULT_WINDOW = 5;

/** Thrown by the per-filter builders; buildFilter adds the entry's position and name. */
class SpecError extends RangeError {}

type Builder = (options: unknown) => Filter;

const BUILDERS: Record<FilterName, Builder> = {
  round: (v) => new RoundFilter(integer(v, 'decimals', 0, MAX_DECIMALS)),
  offset: (v) => new OffsetFilter(finite(v, 'offset')),
  multiply: (v) => new MultiplyFilter(finite(v, 'factor')),
  calibrate_linear: (v) => {
    const { slope, intercept } = calibration(v);
    return new LinearCalibrationFilter(slope, intercept);
  },
  median: (v) => {
    const { windowSize, schedule } = windowOptions(v);
    return new MedianFilter(windowSize, schedule);
  },
  moving_average: (v) => {
    const { windowSize, schedule } = windowOptions(v);
    return new MovingAverageFilter('moving_average', windowSize, schedule);
  },
  sliding_window_moving_average: (v) => {
    const { windowSize, schedule } = windowOptions(v);
    return new MovingAverageFilter('sliding_window_moving_average', windowSize, schedule);
  },
  exponential_moving_average: (v) => {
    if (typeof v === 'number') return new ExponentialMovingAverageFilter(alpha(v), { sendEvery: 1, sendFirstAt: 1 });
    const options = record(v, 'expected alpha as a number, or { alpha, send_every?, send_first_at? }');
    onlyKeys(options, ['alpha', 'send_every', 'send_first_at']);
    return new ExponentialMovingAverageFilter(alpha(options.alpha), schedule(options));
  },
  delta: (v) => {
    if (typeof v === 'string') {
      const match = /^\s*(\d+(?:\.\d+)?)\s*%\s*$/.exec(v);
      if (!match) throw new SpecError(`expected a number or a percentage such as "5%", got ${JSON.stringify(v)}`);
      return new DeltaFilter(Number(match[1]), true);
    }
    const threshold = finite(v, 'threshold');
    if (threshold < 0) throw new SpecError(`threshold must not be negative, got ${threshold}`);
    return new DeltaFilter(threshold, false);
  },
  throttle: (v) => new ThrottleFilter(duration(v)),
  heartbeat: (v) => new HeartbeatFilter(duration(v)),
  clamp: (v) => {
    const options = record(v, 'expected { min?, max?, reject? }');
    onlyKeys(options, ['min', 'max', 'reject']);
    if (options.min === undefined && options.max === undefined) throw new SpecError('set min, max or both');
    const min = options.min === undefined ? -Infinity : finite(options.min, 'min');
    const max = options.max === undefined ? Infinity : finite(options.max, 'max');
    if (min > max) throw new SpecError(`min (${min}) is greater than max (${max})`);
    if (options.reject !== undefined && typeof options.reject !== 'boolean') throw new SpecError('reject must be true or false');
    return new ClampFilter(min, max, options.reject === true);
  },
  filter_out: (v) => {
    const values = Array.isArray(v) ? v : [v];
    if (values.length === 0) throw new SpecError('expected a value or a non-empty list of values');
    return new FilterOutFilter(values.map((x, i) => finite(x, `value ${i + 1}`)));
  },
};

const FILTER_NAMES: readonly FilterName[] = Object.keys(BUILDERS) as FilterName[];

/** Build one filter from one spec entry; throws FilterConfigError naming the entry. */
function buildFilter(spec: FilterSpec | unknown, index = 0): Filter {
  if (typeof spec !== 'object' || spec === null || Array.isArray(spec)) {
    throw new FilterConfigError(index, undefined, 'expected an object with one filter name as key, e.g. { round: 1 }');
  }
  const keys = Object.keys(spec);
  if (keys.length !== 1) {
    throw new FilterConfigError(index, keys.join(', ') || undefined, `expected exactly one filter name per entry, got ${keys.length === 0 ? 'none' : keys.join(', ')}`);
  }
  const name = keys[0]!;
  if (!Object.hasOwn(BUILDERS, name)) {
    throw new FilterConfigError(index, name, `unknown filter; known filters: ${FILTER_NAMES.join(', ')}`);
  }
  try {
    return BUILDERS[name as FilterName]((spec as Record<string, unknown>)[name]);
  } catch (error) {
    if (error instanceof RangeError) throw new FilterConfigError(index, name, error.message);
    throw error;
  }
}

/** Build a channel's pipeline from its `filters:` list; throws FilterConfigError naming the first bad entry. */
export function buildPipeline(specs: readonly FilterSpec[] | undefined): FilterPipeline {
  if (specs === undefined) return new FilterPipeline([]);
  if (!Array.isArray(specs)) throw new FilterConfigError(0, undefined, 'filters must be a list');
  return new FilterPipeline(specs.map((spec, index) => buildFilter(spec, index)));
}

function duration(value: unknown): number {
  return parseDuration(value);
}

function record(value: unknown, expectation: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new SpecError(expectation);
  return value as Record<string, unknown>;
}

function onlyKeys(options: Record<string, unknown>, allowed: readonly string[]): void {
  for (const key of Object.keys(options)) {
    if (!allowed.includes(key)) throw new SpecError(`unknown option "${key}" (allowed: ${allowed.join(', ')})`);
  }
}

function finite(value: unknown, what: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) throw new SpecError(`${what} must be a finite number, got ${JSON.stringify(value)}`);
  return value;
}

function integer(value: unknown, what: string, min: number, max: number): number {
  const n = finite(value, what);
  if (!Number.isInteger(n) || n < min || n > max) throw new SpecError(`${what} must be an integer from ${min} to ${max}, got ${n}`);
  return n;
}

function alpha(value: unknown): number {
  const a = finite(value, 'alpha');
  if (a <= 0 || a > 1) throw new SpecError(`alpha must be greater than 0 and at most 1, got ${a}`);
  return a;
}

function schedule(options: Record<string, unknown>): EmitSchedule {
  const sendEvery = options.send_every === undefined ? 1 : integer(options.send_every, 'send_every', 1, MAX_WINDOW);
  const sendFirstAt = options.send_first_at === undefined ? 1 : integer(options.send_first_at, 'send_first_at', 1, MAX_WINDOW);
  if (sendFirstAt > sendEvery) throw new SpecError(`send_first_at (${sendFirstAt}) must not exceed send_every (${sendEvery})`);
  return { sendEvery, sendFirstAt };
}

function windowOptions(value: unknown): { windowSize: number; schedule: EmitSchedule } {
  const options = value === null || value === undefined ? {} : record(value, 'expected { window_size?, send_every?, send_first_at? }');
  onlyKeys(options, ['window_size', 'send_every', 'send_first_at']);
  const windowSize = options.window_size === undefined ? DEFAULT_WINDOW : integer(options.window_size, 'window_size', 1, MAX_WINDOW);
  return { windowSize, schedule: schedule(options) };
}

function calibration(value: unknown): { slope: number; intercept: number } {
  if (!Array.isArray(value)) throw new SpecError('expected a list of [measured, true] points');
  const points = value.map((point, i): [number, number] => {
    if (Array.isArray(point) && point.length === 2) return [finite(point[0], `point ${i + 1} measured`), finite(point[1], `point ${i + 1} true`)];
    if (typeof point === 'string') {
      const match = /^\s*(-?\d+(?:\.\d+)?)\s*->\s*(-?\d+(?:\.\d+)?)\s*$/.exec(point);
      if (match) return [Number(match[1]), Number(match[2])];
    }
    throw new SpecError(`point ${i + 1}: expected [measured, true] or "measured -> true", got ${JSON.stringify(point)}`);
  });
  if (points.length < 2) throw new SpecError(`at least two points are needed, got ${points.length}`);
  return fitLine(points);
}
