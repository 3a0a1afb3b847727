import { describe, expect, it } from 'vitest';
import { FilterConfigError } from '../../../src/gateway/filters/errors.js';
import { buildPipeline } from '../../../src/gateway/filters/build.js';
import type { FilterSpec } from '../../../src/gateway/filters/types.js';

function errorOf(specs: unknown): FilterConfigError {
  try {
    buildPipeline(specs as FilterSpec[]);
  } catch (error) {
    expect(error).toBeInstanceOf(FilterConfigError);
    return error as FilterConfigError;
  }
  throw new Error('expected buildPipeline to throw');
}

describe('buildPipeline', () => {
  it('builds an empty pipeline from no filters', () => {
    expect(buildPipeline(undefined).length).toBe(0);
    expect(buildPipeline([]).push(3, 0)).toBe(3);
  });

  it('builds every filter kind', () => {
    const specs: FilterSpec[] = [
      { round: 2 },
      { offset: 1 },
      { multiply: 1 },
      { calibrate_linear: [[0, 0], [1, 1]] },
      { median: { window_size: 3 } },
      { moving_average: {} },
      { sliding_window_moving_average: { window_size: 2 } },
      { exponential_moving_average: 1 },
      { delta: 0 },
      { delta: '1%' },
      { throttle: 1 },
      { heartbeat: '1h' },
      { clamp: { min: 0 } },
      { filter_out: [1000] },
    ];
    expect(buildPipeline(specs).length).toBe(specs.length);
  });

  it.each<[unknown, number, string | undefined, RegExp]>([
    [[{ round: 1 }, { rnd: 1 }], 1, 'rnd', /filter #2 \(rnd\): unknown filter; known filters: round, offset/],
    [[{ round: 1, offset: 2 }], 0, 'round, offset', /exactly one filter name per entry, got round, offset/],
    [[{}], 0, undefined, /got none/],
    [['round'], 0, undefined, /expected an object/],
    [[{ round: 1.5 }], 0, 'round', /decimals must be an integer from 0 to 10, got 1.5/],
    [[{ offset: '1' }], 0, 'offset', /offset must be a finite number/],
    [[{ multiply: Infinity }], 0, 'multiply', /factor must be a finite number/],
    [[{ calibrate_linear: [[0, 0]] }], 0, 'calibrate_linear', /at least two points/],
    [[{ calibrate_linear: [[1, 0], [1, 5]] }], 0, 'calibrate_linear', /must not all be equal/],
    [[{ calibrate_linear: ['1 => 2', '2 -> 3'] }], 0, 'calibrate_linear', /point 1/],
    [[{ median: { window_size: 0 } }], 0, 'median', /window_size must be an integer from 1/],
    [[{ median: { window: 5 } }], 0, 'median', /unknown option "window"/],
    [[{ moving_average: { send_every: 2, send_first_at: 3 } }], 0, 'moving_average', /send_first_at \(3\) must not exceed send_every \(2\)/],
    [[{ exponential_moving_average: 0 }], 0, 'exponential_moving_average', /alpha must be greater than 0/],
    [[{ exponential_moving_average: { alpha: 2 } }], 0, 'exponential_moving_average', /at most 1/],
    [[{ delta: -1 }], 0, 'delta', /must not be negative/],
    [[{ delta: '5 percent' }], 0, 'delta', /percentage such as "5%"/],
    [[{ throttle: 0 }], 0, 'throttle', /positive number of seconds/],
    [[{ heartbeat: '10 minutes' }], 0, 'heartbeat', /"500ms", "10s", "5min", "1h"/],
    [[{ clamp: {} }], 0, 'clamp', /set min, max or both/],
    [[{ clamp: { min: 5, max: 1 } }], 0, 'clamp', /min \(5\) is greater than max \(1\)/],
    [[{ clamp: { min: 0, reject: 'yes' } }], 0, 'clamp', /reject must be true or false/],
    [[{ filter_out: [] }], 0, 'filter_out', /non-empty list/],
  ])('refuses %j naming the bad entry', (specs, index, filter, message) => {
    const error = errorOf(specs);
    expect(error.index).toBe(index);
    expect(error.filter).toBe(filter);
    expect(error.message).toMatch(message);
  });

  it('refuses a non-list', () => {
    expect(errorOf({ round: 1 }).message).toMatch(/must be a list/);
  });
});
