import { describe, expect, it } from 'vitest';
import { buildPipeline } from '../../../src/gateway/filters/build.js';
import type { FilterSpec } from '../../../src/gateway/filters/types.js';
import { fitLine, roundHalfAwayFromZero } from '../../../src/gateway/filters/value-filters.js';

/** Push samples one per second starting at t = 0; collect what the pipeline emits (undefined = dropped). */
function run(specs: FilterSpec[], values: number[], stepMs = 1000): (number | undefined)[] {
  const pipeline = buildPipeline(specs);
  return values.map((v, i) => pipeline.push(v, i * stepMs));
}

describe('value filters', () => {
  it('round rounds half away from zero, also for binary-unfriendly decimals', () => {
    expect(run([{ round: 1 }], [21.44, 21.45, -21.45, 0.04])).toEqual([21.4, 21.5, -21.5, 0]);
    expect(roundHalfAwayFromZero(1.005, 2)).toBe(1.01);
    expect(roundHalfAwayFromZero(2.345, 2)).toBe(2.35);
    expect(roundHalfAwayFromZero(-0.004, 2)).toBe(0);
    expect(Object.is(roundHalfAwayFromZero(-0.004, 2), -0)).toBe(false);
    expect(roundHalfAwayFromZero(1234.5, 0)).toBe(1235);
  });

  it('offset and multiply apply in list order', () => {
    expect(run([{ offset: -0.5 }, { multiply: 2 }], [10])).toEqual([19]);
    expect(run([{ multiply: 2 }, { offset: -0.5 }], [10])).toEqual([19.5]);
  });

  it('calibrate_linear fits an exact line through two points', () => {
    const out = run([{ calibrate_linear: [[0, 0.5], [100, 98.5]] }], [0, 50, 100]);
    expect(out[0]).toBeCloseTo(0.5, 10);
    expect(out[1]).toBeCloseTo(49.5, 10);
    expect(out[2]).toBeCloseTo(98.5, 10);
  });

  it('calibrate_linear fits a least-squares line through more points, also from "a -> b" strings', () => {
    // Points on y = 2x + 1 with symmetric noise ±0.1 on the middle points: the fit stays on the line.
    const { slope, intercept } = fitLine([
      [0, 1],
      [1, 3.1],
      [2, 4.9],
      [3, 7],
    ]);
    expect(slope).toBeCloseTo(1.98, 10);
    expect(intercept).toBeCloseTo(1.03, 10);
    expect(run([{ calibrate_linear: ['0 -> 1', '1 -> 3', '2 -> 5'] }], [10])[0]).toBeCloseTo(21, 10);
  });

  it('clamp clamps, or rejects with reject: true', () => {
    expect(run([{ clamp: { min: -40, max: 85 } }], [-50, 20, 90])).toEqual([-40, 20, 85]);
    expect(run([{ clamp: { min: -40, max: 85, reject: true } }], [-50, 20, 90])).toEqual([undefined, 20, undefined]);
    expect(run([{ clamp: { max: 100 } }], [-1e6, 101])).toEqual([-1e6, 100]);
  });

  it('filter_out drops the listed values only', () => {
    expect(run([{ filter_out: 85 }], [85, 84.9, 85])).toEqual([undefined, 84.9, undefined]);
    expect(run([{ filter_out: [0, -127] }], [0, 1, -127])).toEqual([undefined, 1, undefined]);
  });

  it('drops non-finite samples before any filter', () => {
    expect(run([], [NaN, Infinity, 1])).toEqual([undefined, undefined, 1]);
  });
});

describe('window filters', () => {
  it('median over a sliding window, every sample by default', () => {
    expect(run([{ median: { window_size: 3 } }], [10, 100, 12, 11, 13])).toEqual([10, 55, 12, 12, 12]);
  });

  it('median with send_every and send_first_at', () => {
    // Emits at samples 2, 5, 8 (first at 2, then every 3).
    const out = run([{ median: { window_size: 5, send_every: 3, send_first_at: 2 } }], [1, 2, 3, 4, 5, 6, 7, 8]);
    expect(out).toEqual([undefined, 1.5, undefined, undefined, 3, undefined, undefined, 6]);
  });

  it('moving_average and sliding_window_moving_average average the window', () => {
    expect(run([{ moving_average: { window_size: 2 } }], [1, 3, 5])).toEqual([1, 2, 4]);
    expect(run([{ sliding_window_moving_average: { window_size: 3, send_every: 3 } }], [3, 6, 9, 12])).toEqual([3, undefined, undefined, 9]);
  });

  it('exponential_moving_average starts at the first sample', () => {
    expect(run([{ exponential_moving_average: 0.5 }], [10, 20, 20])).toEqual([10, 15, 17.5]);
    expect(run([{ exponential_moving_average: { alpha: 0.5, send_every: 2 } }], [10, 20, 20, 20])).toEqual([10, undefined, 17.5, undefined]);
  });
});

describe('delta', () => {
  it('passes the first value, then only changes of at least the threshold from the last passed value', () => {
    expect(run([{ delta: 0.2 }], [20.0, 20.1, 20.19, 20.2, 20.3, 20.4])).toEqual([20.0, undefined, undefined, 20.2, undefined, 20.4]);
  });

  it('counts a change of exactly the threshold despite float noise', () => {
    expect(run([{ delta: 0.1 }], [0.2, 0.3])).toEqual([0.2, 0.3]);
  });

  it('works with a percentage of the last passed value', () => {
    expect(run([{ delta: '5%' }], [100, 104, 95, 99.9, 99.75])).toEqual([100, undefined, 95, 99.9, undefined]);
  });

  it('never passes an unchanged value, even with threshold 0', () => {
    expect(run([{ delta: 0 }], [1, 1, 2])).toEqual([1, undefined, 2]);
    expect(run([{ delta: '10%' }], [0, 0, 0.001])).toEqual([0, undefined, 0.001]);
  });
});

describe('throttle', () => {
  it('passes at most one value per period', () => {
    const pipeline = buildPipeline([{ throttle: 10 }]);
    expect(pipeline.push(1, 0)).toBe(1);
    expect(pipeline.push(2, 9_999)).toBeUndefined();
    expect(pipeline.push(3, 10_000)).toBe(3);
    expect(pipeline.push(4, 15_000)).toBeUndefined();
  });

  it('accepts durations with units', () => {
    const pipeline = buildPipeline([{ throttle: '500ms' }]);
    expect(pipeline.push(1, 0)).toBe(1);
    expect(pipeline.push(2, 499)).toBeUndefined();
    expect(pipeline.push(3, 500)).toBe(3);
  });
});

describe('heartbeat', () => {
  it('re-emits the last value when nothing passed for the period', () => {
    const pipeline = buildPipeline([{ delta: 1 }, { heartbeat: 60 }]);
    expect(pipeline.tick(0)).toBeUndefined(); // nothing seen yet
    expect(pipeline.nextTickAt()).toBeUndefined();
    expect(pipeline.push(20, 0)).toBe(20);
    expect(pipeline.nextTickAt()).toBe(60_000);
    expect(pipeline.push(20.5, 30_000)).toBeUndefined(); // held back by delta
    expect(pipeline.tick(59_999)).toBeUndefined();
    expect(pipeline.tick(60_000)).toBe(20);
    expect(pipeline.nextTickAt()).toBe(120_000);
    expect(pipeline.tick(60_001)).toBeUndefined();
  });

  it('restarts its period on every value that passes', () => {
    const pipeline = buildPipeline([{ heartbeat: '1min' }]);
    pipeline.push(1, 0);
    pipeline.push(2, 50_000);
    expect(pipeline.tick(60_000)).toBeUndefined();
    expect(pipeline.tick(110_000)).toBe(2);
  });

  it('feeds its value through the filters after it, but not those before it', () => {
    const pipeline = buildPipeline([{ offset: 100 }, { heartbeat: 10 }, { multiply: 2 }]);
    expect(pipeline.push(1, 0)).toBe(202);
    expect(pipeline.tick(10_000)).toBe(202);
  });

  it('a throttle after the heartbeat can still hold it back', () => {
    const pipeline = buildPipeline([{ heartbeat: 10 }, { throttle: 60 }]);
    expect(pipeline.push(1, 0)).toBe(1);
    expect(pipeline.tick(10_000)).toBeUndefined();
    expect(pipeline.tick(60_000)).toBe(1);
  });
});

describe('pipeline bookkeeping', () => {
  it('reset forgets history', () => {
    const pipeline = buildPipeline([{ delta: 5 }, { heartbeat: 10 }]);
    pipeline.push(1, 0);
    expect(pipeline.push(2, 1)).toBeUndefined();
    pipeline.reset();
    expect(pipeline.push(2, 2)).toBe(2);
    pipeline.reset();
    expect(pipeline.tick(1e9)).toBeUndefined();
  });

  it('estimates the longest gap between publications', () => {
    expect(buildPipeline([]).maxPublishGap(10_000)).toBe(10_000);
    expect(buildPipeline([{ round: 1 }, { median: { window_size: 5, send_every: 3 } }]).maxPublishGap(10_000)).toBe(30_000);
    expect(buildPipeline([{ delta: 0.5 }]).maxPublishGap(10_000)).toBeUndefined();
    expect(buildPipeline([{ delta: 0.5 }, { heartbeat: 300 }]).maxPublishGap(10_000)).toBe(300_000);
    expect(buildPipeline([{ heartbeat: 300 }, { delta: 0.5 }]).maxPublishGap(10_000)).toBeUndefined();
    expect(buildPipeline([{ throttle: 60 }]).maxPublishGap(10_000)).toBe(70_000);
    expect(buildPipeline([{ clamp: { min: 0, reject: true } }]).maxPublishGap(10_000)).toBeUndefined();
    expect(buildPipeline([{ clamp: { min: 0 } }]).maxPublishGap(10_000)).toBe(10_000);
  });

  it('describes its filters', () => {
    expect(buildPipeline([{ round: 1 }, { heartbeat: 5 }]).describe()).toEqual(['round', 'heartbeat']);
  });
});
