/**
 * Sensor filters: the useful core of ESPHome's sensor filters. A filter takes one sample at a time and either passes a
 * (possibly transformed) value on or drops it. Time is always injected as `now` in milliseconds, never read from a
 * clock, so every filter is deterministic.
 */

export interface Filter {
  /** The spec key this filter was built from, for logs and errors. */
  readonly name: string;
  /** Feed one sample; returns the value to pass downstream, or `undefined` to drop it. */
  push(value: number, now: number): number | undefined;
  /** Time-driven output (heartbeat): a value to inject downstream at `now`, or `undefined`. */
  tick?(now: number): number | undefined;
  /** The earliest time at which tick() may produce a value, `undefined` when it has nothing to send. */
  nextTickAt?(): number | undefined;
  /**
   * Upper bound of the time between two outputs, given that inputs arrive at least every `inputGapMs`
   * (`undefined` = unbounded). Used to derive Home Assistant's `expire_after`.
   */
  maxOutputGap(inputGapMs: number | undefined): number | undefined;
  /** Forget all history (a sensor was re-initialised). */
  reset(): void;
}

/** A duration as a user writes it: seconds as a number, or a string with a unit: `500ms`, `10s`, `5min`, `1h`. */
export type DurationSpec = number | `${number}${'ms' | 's' | 'min' | 'h'}`;

export interface WindowOptions {
  /** Samples in the sliding window (default 5). */
  window_size?: number;
  /** Output once every this many samples (default 1: every sample). */
  send_every?: number;
  /** Output the first value after this many samples (1..send_every, default 1). */
  send_first_at?: number;
}

export interface ExponentialMovingAverageOptions {
  /** Weight of the newest sample, 0 < alpha ≤ 1. */
  alpha: number;
  send_every?: number;
  send_first_at?: number;
}

export interface ClampOptions {
  min?: number;
  max?: number;
  /** Drop out-of-range samples instead of clamping them. */
  reject?: boolean;
}

/** A calibration point: `[measured, true]`, or ESPHome's string form `"measured -> true"`. */
export type CalibrationPoint = readonly [number, number] | `${number} -> ${number}` | string;

/** One entry of a channel's `filters:` list, snake_case keys as written in YAML. Exactly one key per entry. */
export type FilterSpec =
  | { round: number }
  | { offset: number }
  | { multiply: number }
  | { calibrate_linear: readonly CalibrationPoint[] }
  | { median: WindowOptions }
  | { moving_average: WindowOptions }
  | { sliding_window_moving_average: WindowOptions }
  | { exponential_moving_average: number | ExponentialMovingAverageOptions }
  | { delta: number | `${number}%` }
  | { throttle: DurationSpec }
  | { heartbeat: DurationSpec }
  | { clamp: ClampOptions }
  | { filter_out: number | readonly number[] };

export type FilterName =
  | 'round'
  | 'offset'
  | 'multiply'
  | 'calibrate_linear'
  | 'median'
  | 'moving_average'
  | 'sliding_window_moving_average'
  | 'exponential_moving_average'
  | 'delta'
  | 'throttle'
  | 'heartbeat'
  | 'clamp'
  | 'filter_out';
